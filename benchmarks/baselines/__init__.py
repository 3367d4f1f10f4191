"""The baselines a run compares us with, on the same machine and workload: RabbitMQ alone, the raw
Cassandra write ceiling, and the two PostgreSQL designs of the source talk."""
