"""`make soak` (`python -m benchmarks.soak`): the pipeline at half of its peak for an hour."""
