"""Indicators of a project, with per-country baselines and targets."""
