"""Benchmarks: the conversation store against a row-per-message baseline, side by side."""
