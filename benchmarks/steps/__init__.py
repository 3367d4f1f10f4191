"""The steps of one `logstore bench` run (benchmarks/run.py runs them in order), the context and
profiles they share, and the helper processes and scripts they start."""
