"""A small TCP proxy in front of the registry that slows or stalls what the registry sends.

`rate` limits each connection's registry→containerd bytes per second, so that pulls last long
enough to overlap. `stall_after` forwards that many bytes of a connection and then sends nothing
more, holding the connection open: a pull that stops making progress mid-layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class Proxy:
    """127.0.0.1:port → upstream, run on an asyncio loop in a daemon thread."""

    def __init__(self, upstream_port: int, rate: float | None = None, stall_after: int | None = None) -> None:
        self.upstream_port = upstream_port
        self.rate = rate
        self.stall_after = stall_after
        self.port = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("proxy did not start")

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.close()
            return
        up = asyncio.ensure_future(self._pump(client_r, up_w, limit=False))
        down = asyncio.ensure_future(self._pump(up_r, client_w, limit=True))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
        for task in (up, down):
            task.cancel()
        for writer in (up_w, client_w):
            with contextlib.suppress(Exception):
                writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limit: bool) -> None:
        sent = 0
        while True:
            chunk = await reader.read(16384)
            if not chunk:
                return
            if limit and self.stall_after is not None and sent + len(chunk) > self.stall_after:
                chunk = chunk[: max(0, self.stall_after - sent)]
                writer.write(chunk)
                await writer.drain()
                await asyncio.Event().wait()  # stall: hold the connection, send nothing more
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            if limit and self.rate:
                await asyncio.sleep(len(chunk) / self.rate)
