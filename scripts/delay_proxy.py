#!/usr/bin/env python3
"""A TCP proxy on loopback that can hold what clients send for a while: a network delay on one
server, for the fault suite, where tc netem is not available (this sandbox's kernel has no qdisc
modules). Every byte a client sends reaches the server DELAY later while the delay is on, in
order; the server's answers come back at once. SIGUSR1 turns the delay on, SIGUSR2 off.

    scripts/delay_proxy.py LISTEN_HOST:PORT TARGET_HOST:PORT DELAY_MS PID_FILE

Standard library only (it runs beside a server, before any virtualenv exists)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

QUEUED = 256  # reads held per connection while delayed; beyond that the client waits (TCP backpressure)


class Delay:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.on = False

    @property
    def now(self) -> float:
        return self.seconds if self.on else 0.0


async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: Delay | None) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUED)

    async def send() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    sending = asyncio.create_task(send())
    try:
        while data := await reader.read(65536):
            await queue.put((loop.time() + (delay.now if delay else 0.0), data))
    except OSError:
        pass
    finally:
        await queue.put((0.0, b""))
        with contextlib.suppress(OSError):
            await sending
        writer.close()


async def main(listen: str, target: str, delay_ms: float, pid_file: str) -> None:
    delay = Delay(delay_ms / 1000)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, lambda: setattr(delay, "on", True))
    loop.add_signal_handler(signal.SIGUSR2, lambda: setattr(delay, "on", False))
    target_host, target_port = target.rsplit(":", 1)

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(target_host, int(target_port))
        except OSError:
            writer.close()
            return
        await asyncio.gather(forward(reader, up_writer, delay), forward(up_reader, writer, None))

    host, port = listen.rsplit(":", 1)
    server = await asyncio.start_server(client, host, int(port), reuse_address=True)
    await asyncio.to_thread(Path(pid_file).write_text, f"{os.getpid()}\n")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]))
