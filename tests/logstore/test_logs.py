"""Every process logs JSON lines; the job id is a field of its own."""

from __future__ import annotations

import json
import logging

from logstore.logs import JsonFormatter


def test_json_line_carries_the_job_id() -> None:
    record = logging.makeLogRecord(
        {"name": "logstore.ingest", "levelname": "WARNING", "msg": "chunk refused: %s", "args": ("conflict",)}
    )
    record.job_id = "build-42"
    line = json.loads(JsonFormatter("ingest").format(record))
    assert line["job_id"] == "build-42"
    assert line["msg"] == "chunk refused: conflict"
    assert (line["level"], line["role"], line["logger"]) == ("warning", "ingest", "logstore.ingest")
