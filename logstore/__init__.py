"""logstore core: the chunk model, the LogStore interface and its backends, config, errors,
metrics and the `logstore` CLI. Every service package (ingest, stream, compactor) builds on it."""

__version__ = "0.1.0"
