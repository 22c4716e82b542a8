"""A real HTTP/1.1 file server on 127.0.0.1 for the remote-read tests and the benchmark.

It honours ``Range: bytes=a-b`` (206 with Content-Range), sends ETag and Last-Modified (and honours
``If-Match``/``If-Unmodified-Since`` with 412, as nginx does), and counts the requests and body bytes
it serves. Switches make it misbehave the ways real servers do: ignore Range (200 with the whole
file), answer every request with one status (404, 500), cut responses off (promise the full
Content-Length, send half and close), add latency to every request, trickle the body one byte at a
time, redirect in a loop, send more than the range asked for (``oversize`` bytes more, or an endless
body), send no validators, or accept only exact raw request targets (a presigned URL's signature).
"""

from __future__ import annotations

import email.utils
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
        if srv.redirect_loop:
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if srv.signed is not None and self.path not in srv.signed:  # the target as sent, not decoded
            self.send_error(403, "signature does not match")
            return
        path = (srv.root / self.path.split("?", 1)[0].lstrip("/")).resolve()
        if srv.root not in path.parents or not path.is_file():
            self.send_error(404)
            return
        stat = path.stat()
        size = stat.st_size
        etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
        if srv.validators and not srv.ignore_conditions and not _conditions_hold(self.headers, etag, int(stat.st_mtime)):
            self.send_response(412)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
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
        if not srv.ignore_range:
            self.send_header("Accept-Ranges", "bytes")
        if srv.endless:
            self.send_header("Connection", "close")
        else:
            self.send_header("Content-Length", str(end - start + srv.oversize))
        if srv.validators:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if not body:
            return
        if srv.endless or srv.trickle:
            self._stream_slowly_or_forever(path, start, end)
            return
        with open(path, "rb") as fh:  # only the range: the benchmark serves files of tens of MB
            fh.seek(start)
            payload = fh.read(end - start)
        if srv.truncate:
            payload = payload[: len(payload) // 2]
            self.close_connection = True
        payload += bytes(srv.oversize)
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading (no Range support)
            self.close_connection = True
        srv.record_bytes(len(payload))


    def _stream_slowly_or_forever(self, path: Path, start: int, end: int) -> None:
        """Trickle: one byte every ``trickle`` seconds; endless: the range, then zeros until the client
        hangs up (at most 256 MiB, so a broken client cannot keep the test running)."""
        srv = self.server
        self.close_connection = True
        with open(path, "rb") as fh:
            fh.seek(start)
            payload = fh.read(end - start)
        try:
            if srv.trickle:
                for i in range(len(payload)):
                    self.wfile.write(payload[i : i + 1])
                    self.wfile.flush()
                    srv.record_bytes(1)
                    time.sleep(srv.trickle)
                return
            self.wfile.write(payload)
            for _ in range(4096):
                self.wfile.write(bytes(2**16))
                srv.record_bytes(2**16)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _conditions_hold(headers: Any, etag: str, mtime: int) -> bool:
    """``If-Match`` and ``If-Unmodified-Since`` (RFC 9110 13.1.1, 13.1.4) against the file's validators."""
    match = headers.get("If-Match")
    if match is not None:
        return match.strip() == "*" or etag in [m.strip() for m in match.split(",")]
    since = headers.get("If-Unmodified-Since")
    if since is not None:
        try:
            return mtime <= int(email.utils.parsedate_to_datetime(since).timestamp())
        except (TypeError, ValueError):
            return True
    return True


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
    trickle, redirect_loop, oversize, endless, validators, signed
        Seconds between body bytes (0: all at once); answer 302 to the same URL; extra bytes after
        each body; bodies that never end; whether ETag/Last-Modified are sent (and honoured, unless
        ``ignore_conditions``); the
        only raw request targets served (None: any), others get 403.
    """

    daemon_threads = True

    def __init__(self, root: Path, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = Path(root).resolve()
        self.delay = delay
        self.ignore_range = False
        self.status = 0
        self.truncate = False
        self.trickle = 0.0
        self.redirect_loop = False
        self.oversize = 0
        self.endless = False
        self.validators = True
        self.ignore_conditions = False
        self.signed: set[str] | None = None
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
