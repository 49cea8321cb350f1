"""Results: one value per indicator line and period, with its review workflow."""
