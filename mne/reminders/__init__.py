"""Reminders by email (`mne remind`): digests of what is due and of what waits for review."""
