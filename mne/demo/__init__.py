"""Demo data for `mne seed demo`: deterministic, realistic, and fast enough for benchmarks."""
