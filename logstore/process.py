"""Run one process's role: an HTTP server (API, /metrics, health) beside background workers,
until SIGTERM or SIGINT. On a signal the workers are asked to stop and drain first, then the
HTTP server shuts down gracefully; a second signal does not cut the drain short."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Generator, Sequence
from typing import Protocol

import uvicorn
from fastapi import FastAPI

from logstore.config import HttpSettings, StreamSettings

log = logging.getLogger("logstore.process")


class Worker(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # signals are ours: workers drain before the server stops


async def run_role(
    app: FastAPI, http: HttpSettings, workers: Sequence[Worker] = (), stream: StreamSettings | None = None
) -> None:
    keepalive = stream or StreamSettings()
    config = uvicorn.Config(
        app,
        host=http.host,
        port=http.port,
        loop="none",
        log_config=None,
        access_log=False,
        # Uvicorn would trust X-Forwarded-For from 127.0.0.1 by default; which proxies are
        # trusted is our rule (--trusted-proxies, logstore/web/forwarded.py), so it must not.
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        # No permessage-deflate on websockets: compressing every live chunk once per viewer was
        # the streamer's largest CPU cost under load (docs/performance-history.md, 2026-11-22,
        # bottleneck 2); a viewer takes about
        # 3 KB/s of log, which needs no compression.
        ws_per_message_deflate=False,
        # A viewer that answers no ping is closed (uvicorn's default: 20 s + 20 s); a viewer that
        # stops reading is closed by the send timeout (stream/ws.py), whichever comes first.
        ws_ping_interval=keepalive.ws_ping_interval_s or None,
        ws_ping_timeout=keepalive.ws_ping_timeout_s,
    )
    server = _Server(config)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    tasks = [asyncio.create_task(worker.run(), name=type(worker).__name__) for worker in workers]
    serving = asyncio.create_task(server.serve(), name="http")
    waiting = asyncio.create_task(stopping.wait())
    try:
        done, _ = await asyncio.wait([serving, waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiting and task.exception() is not None:
                log.error("%s failed", task.get_name(), exc_info=task.exception())
        log.info("stopping: draining workers")
        for worker in workers:
            worker.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        waiting.cancel()
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
