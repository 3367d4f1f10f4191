"""The one error hierarchy of logstore.

    LogstoreError                 base of everything raised on purpose
    ├── InvalidInput              the caller sent something that can never succeed
    │   ├── InvalidJobId          job id empty, too long, or outside [A-Za-z0-9._-]
    │   ├── InvalidClock          clock not an integer in 0..2**63-1
    │   ├── ChunkTooLarge         one chunk over the configured chunk limit
    │   ├── LogTooLarge           the chunk would take the job's log over the log limit
    │   ├── ChunkConflict         the clock is already stored with different bytes, or the chunk
    │   │                         contradicts the job's final clock
    │   └── JobArchived           the job was archived: a late chunk of an abandoned job reopens
    │                             it (logstore/store/reopen.py); a finished one takes no more
    │   ├── InvalidBatch          a `POST /v1/chunks` body whose framing is not whole
    │   ├── MalformedMessage      an AMQP message whose headers are missing or of the wrong type
    │   ├── InvalidSecrets        secret values that are not a bounded list of non-empty strings
    │   ├── InvalidJobSettings    job settings that are unknown, mistyped or would make a job public
    │   └── InvalidSearch         a search query that is empty, too long, not a valid regex, or a
    │                             regex too large to run in bounded memory
    ├── JobNotFound               no chunk and no record for this job id
    ├── StoreUnavailable          the store could not be reached or timed out; retry later
    │   └── JobBusy               the job is being archived, reopened or deleted; retry shortly
    ├── BusUnavailable            the broker could not take a message now; retry later
    ├── HandlerFailed             a message whose handling kept failing for a reason no rule
    │                             foresaw (a bug): dead-lettered after a bounded number of tries
    └── ConfigError               configuration that cannot work, with a message a person can act on

Errors are mapped to HTTP statuses, close codes and dead-letter reasons only at the edges
(see `logstore.http_errors`); the core raises these and nothing driver-specific.
"""

from __future__ import annotations


class LogstoreError(Exception):
    """Base class. `reason` is a short stable machine-readable word used in metrics and dead letters."""

    reason = "error"


class InvalidInput(LogstoreError):
    reason = "invalid"


class InvalidJobId(InvalidInput):
    reason = "invalid_job_id"


class InvalidClock(InvalidInput):
    reason = "invalid_clock"


class ChunkTooLarge(InvalidInput):
    reason = "chunk_too_large"


class LogTooLarge(InvalidInput):
    reason = "log_too_large"


class ChunkConflict(InvalidInput):
    reason = "conflict"


class JobArchived(ChunkConflict):
    """A chunk for an archived job. `abandoned`: the job was archived without all its chunks, so
    the chunk may be one that was still coming (the ingest service reopens the job and stores it).
    `stored`: the chunk was written while the job was being archived and may be missing from the
    archive (the ingest service reopens the job, so that the next archive holds it)."""

    def __init__(self, message: str, abandoned: bool, stored: bool = False) -> None:
        super().__init__(message)
        self.abandoned = abandoned
        self.stored = stored


class InvalidBatch(InvalidInput):
    """A batch body (logstore.batch_body) cut short, with unknown flags, empty or too long."""

    reason = "invalid_batch"


class UnsupportedEncoding(InvalidInput):
    """A chunk sent with a Content-Encoding: chunks are stored as sent, so only identity is taken."""

    reason = "unsupported_encoding"


class MalformedMessage(InvalidInput):
    reason = "malformed_headers"


class InvalidSecrets(InvalidInput):
    reason = "invalid_secrets"


class InvalidJobSettings(InvalidInput):
    reason = "invalid_settings"


class InvalidSearch(InvalidInput):
    reason = "invalid_search"


class JobNotFound(LogstoreError):
    reason = "not_found"


class StoreUnavailable(LogstoreError):
    reason = "store_unavailable"


class JobBusy(StoreUnavailable):
    """Another process holds the job's lease (archiving, reopening or deleting it) for a moment."""

    reason = "job_busy"


class BusUnavailable(LogstoreError):
    reason = "bus_unavailable"


class HandlerFailed(LogstoreError):
    reason = "handler_error"


class ConfigError(LogstoreError):
    reason = "config"
