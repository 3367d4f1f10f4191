"""`WS /v1/jobs/{job_id}/tail?from_clock=K`: binary frames = 8-byte big-endian clock + the chunk's
bytes; text frames = JSON control messages (`{"type": "end", "final_clock": N}`, then close 1000).
Decode, run a Tail, encode; close codes in stream/close_codes.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from logstore import tail_frame
from logstore.chunk import parse_clock, validate_job_id
from logstore.config import StreamSettings
from logstore.errors import InvalidInput, StoreUnavailable
from logstore.store import LogStore
from stream import close_codes, metrics
from stream.access import ReadAccess, Verdict, job_verdict
from stream.fanout import LiveHub
from stream.guarded_tail import GuardedTail, Refused
from stream.protection_watch import ProtectionWatch
from stream.silent_tail import SilentTail
from stream.tail import ChunkEvent, GapEvent
from stream.viewer_limits import ViewerLimits

log = logging.getLogger("logstore.stream")
TailLike = GuardedTail | SilentTail


REFUSALS = {
    Verdict.UNAUTHORIZED: "a read token is required",
    Verdict.FORBIDDEN: "the token or signed URL is not valid for this job",
    Verdict.NOT_FOUND: "job not found",
}
CLOSE_CODES = {
    Verdict.UNAUTHORIZED: close_codes.UNAUTHORIZED,
    Verdict.FORBIDDEN: close_codes.FORBIDDEN,
    Verdict.NOT_FOUND: close_codes.NOT_FOUND,
}


def tail_router(store: LogStore, hub: LiveHub, access: ReadAccess, settings: StreamSettings) -> APIRouter:
    router = APIRouter()
    limits = ViewerLimits(settings)
    watch = ProtectionWatch(store)

    @router.websocket("/v1/jobs/{job_id}/tail")
    async def tail(websocket: WebSocket, job_id: str) -> None:
        await websocket.accept()
        websocket.state.accepted_at = time.time()  # for the time to the first log line
        try:
            validate_job_id(job_id)
            from_clock = parse_clock(websocket.query_params.get("from_clock", "0"))
        except InvalidInput as exc:
            await _close(websocket, close_codes.BAD_REQUEST, str(exc))
            return
        # Counted before anything is awaited: connections from one client are admitted in the
        # order they were accepted, and a flood never reaches the store.
        client = websocket.client.host if websocket.client else "?"
        if not limits.admit(client):
            log.info("viewer refused: too many viewers", extra={"job_id": job_id, "client": client})
            await _close(websocket, close_codes.TOO_MANY, "too many viewers, try again later")
            return
        try:
            code, reason = await _authorized_tail(
                websocket, store, hub, access, watch, job_id, from_clock, settings
            )
        finally:
            limits.release(client)
        await _close(websocket, code, reason)

    return router


async def _authorized_tail(
    websocket: WebSocket,
    store: LogStore,
    hub: LiveHub,
    access: ReadAccess,
    watch: ProtectionWatch,
    job_id: str,
    from_clock: int,
    settings: StreamSettings,
) -> tuple[int, str]:
    """The close code and reason: a refusal, or how the (masked, for a job with secrets) tail ended."""
    try:
        verdict, protection = await access.check(websocket, job_id)
    except StoreUnavailable:
        return close_codes.STORE_UNAVAILABLE, "store unavailable, reconnect later"
    if verdict is Verdict.NOT_FOUND:  # a private job looks like one not started yet: silent
        return await _serve(websocket, SilentTail(store, hub, job_id), settings.send_timeout_s)
    if verdict is not Verdict.ALLOWED:
        return CLOSE_CODES[verdict], REFUSALS[verdict]
    # While the tail runs, before each batch it sends and every IDLE_RECHECK_S while idle, the
    # job's protection is read again and decides with the credentials, judged again too, as for a
    # new connection: a signed URL that expires closes its tail (4403), with no frame after.
    tail = GuardedTail(
        store,
        hub,
        job_id,
        from_clock,
        protection,
        watch,
        lambda now: job_verdict(access.credential_verdict(websocket, job_id), now),
    )
    return await _serve(websocket, tail, settings.send_timeout_s)


async def _serve(websocket: WebSocket, tail: TailLike, send_timeout_s: float) -> tuple[int, str]:
    """Send the tail's events until the end, a disconnect, a stalled socket or a store outage."""
    sending = asyncio.create_task(_send_events(websocket, tail, send_timeout_s))
    receiving = asyncio.create_task(_until_disconnect(websocket))
    try:
        done, _ = await asyncio.wait({sending, receiving}, return_when=asyncio.FIRST_COMPLETED)
        if sending in done:
            return sending.result()
        return close_codes.END, "viewer left"
    except Refused as exc:  # closed as a new connection would be refused
        log.info("viewer closed: the job no longer admits it", extra={"job_id": tail.job_id})
        return CLOSE_CODES[exc.verdict], REFUSALS[exc.verdict]
    except StoreUnavailable as exc:
        log.warning("tail stopped: %s", exc, extra={"job_id": tail.job_id})
        return close_codes.STORE_UNAVAILABLE, "store unavailable, reconnect with from_clock"
    except TimeoutError:
        return close_codes.TOO_SLOW, "viewer too slow, reconnect with from_clock"
    except WebSocketDisconnect:  # gone while a frame was being sent
        return close_codes.END, "viewer left"
    except Exception:  # never an abrupt drop: the viewer is told, and may resume with from_clock
        log.exception("tail failed", extra={"job_id": tail.job_id})
        return close_codes.INTERNAL_ERROR, "internal error, reconnect with from_clock"
    finally:
        for task in (sending, receiving):
            task.cancel()
        await asyncio.gather(sending, receiving, return_exceptions=True)


async def _send_events(websocket: WebSocket, tail: TailLike, send_timeout_s: float) -> tuple[int, str]:
    first = True
    async for event in tail.events():
        if isinstance(event, ChunkEvent):
            frame = tail_frame.frame(event.clock, event.data)
            await asyncio.wait_for(websocket.send_bytes(frame), send_timeout_s)
            if first:  # from when there was a line to show: the viewer's arrival, or the line's storing
                first = False
                since = max(getattr(websocket.state, "accepted_at", 0.0), event.stored_at)
                metrics.FIRST_FRAME_SECONDS.observe(max(0.0, time.time() - since))
            if event.stored_at:
                metrics.STORED_TO_SENT_SECONDS.observe(max(0.0, time.time() - event.stored_at))
        elif isinstance(event, GapEvent):
            gap = json.dumps({"type": "gap", "from_clock": event.from_clock, "to_clock": event.to_clock})
            await asyncio.wait_for(websocket.send_text(gap), send_timeout_s)
        else:
            message = json.dumps({"type": "end", "final_clock": event.final_clock})
            await asyncio.wait_for(websocket.send_text(message), send_timeout_s)
    return close_codes.END, "end of log"


async def _until_disconnect(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    metrics.TAIL_CLOSED.labels(str(code)).inc()
    with contextlib.suppress(Exception):  # already gone: nothing to tell
        await asyncio.wait_for(websocket.close(code, reason[:120]), 5)
