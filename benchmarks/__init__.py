"""Benchmarks: load generator, baselines and reports."""
