"""The process and workload harness shared by the benchmark steps, the soak and the tests:
servers started as processes, jobs and fleets of jobs from the corpus, viewers, quantiles and
machine figures. The lower layer: it imports neither the steps nor the soak."""
