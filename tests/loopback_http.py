"""A real HTTP/1.1 file server on 127.0.0.1 for the remote-read tests and the benchmark.

It honours ``Range: bytes=a-b`` (206 with Content-Range), sends ETag and Last-Modified, and counts
the requests and body bytes it serves. Switches make it misbehave the ways real servers do: ignore
Range (200 with the whole file), answer every request with one status (404, 500), cut responses off
(promise the full Content-Length, send half and close), or add latency to every request.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers and aiohttp's pool use it
    disable_nagle_algorithm = True  # TCP_NODELAY as nginx sets it: else headers then body stall 40 ms on delayed ACKs
    server: LoopbackServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: the tests assert on the counters instead."""

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        srv = self.server
        srv.record(self.command, self.path, self.headers.get("Range"))
        if srv.delay:
            time.sleep(srv.delay)
        if srv.status:
            self.send_error(srv.status)
            return
        path = (srv.root / self.path.split("?", 1)[0].lstrip("/")).resolve()
        if srv.root not in path.parents or not path.is_file():
            self.send_error(404)
            return
        size = path.stat().st_size
        start, end = 0, size
        match = _RANGE.match(self.headers.get("Range", "")) if not srv.ignore_range else None
        if match and (match[1] or match[2]):
            if match[1]:
                start, end = int(match[1]), min(size, int(match[2]) + 1) if match[2] else size
            else:
                start = max(0, size - int(match[2]))
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        else:
            self.send_response(200)
        stat = path.stat()
        if not srv.ignore_range:
            self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start))
        self.send_header("ETag", f'"{stat.st_mtime_ns:x}-{size:x}"')
        self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if not body:
            return
        with open(path, "rb") as fh:  # only the range: the benchmark serves files of tens of MB
            fh.seek(start)
            payload = fh.read(end - start)
        if srv.truncate:
            payload = payload[: len(payload) // 2]
            self.close_connection = True
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading (no Range support)
            self.close_connection = True
        srv.record_bytes(len(payload))


class LoopbackServer(ThreadingHTTPServer):
    """Serves the files under ``root`` at :meth:`url`; use as a context manager.

    Attributes
    ----------
    requests
        (method, path, Range header) of every request served, in order.
    bytes_sent
        Body bytes sent.
    ignore_range, status, truncate, delay
        The misbehaviour switches (see the module docstring); ``delay`` in seconds per request.
    """

    daemon_threads = True

    def __init__(self, root: Path, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = Path(root).resolve()
        self.delay = delay
        self.ignore_range = False
        self.status = 0
        self.truncate = False
        self.requests: list[tuple[str, str, str | None]] = []
        self.bytes_sent = 0
        self._counter_lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-response are expected (no Range support, cut-off tests): stay quiet."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def record(self, method: str, path: str, range_header: str | None) -> None:
        with self._counter_lock:
            self.requests.append((method, path, range_header))

    def record_bytes(self, n: int) -> None:
        with self._counter_lock:
            self.bytes_sent += n

    def reset(self) -> None:
        """Zero the counters."""
        with self._counter_lock:
            self.requests.clear()
            self.bytes_sent = 0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
