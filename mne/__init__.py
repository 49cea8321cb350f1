"""mne: the monitoring-and-evaluation results tracker."""

__version__ = "0.1.0"
