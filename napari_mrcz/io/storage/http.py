"""HTTP(S) range requests with an aiohttp session of our own, on fsspec's I/O event loop.

Why not fsspec's ``HTTPFileSystem``: its public calls (``cat_file``, ``cat_ranges``) read a response
whole before checking its length, so a server answering a 1.5 kB range with an endless body is
buffered until memory runs out; they have no deadline for a body that trickles in byte by byte; and
they cannot send the validators of the open with every request. This client, per request:

- sends the URL exactly as given (``yarl.URL(url, encoded=True)``: a presigned URL's ``%2F`` stays
  ``%2F``, or its signature no longer matches);
- ends after ``config.get("remote.timeout")`` seconds in all (connect, wait, every byte of the body);
- reads at most the bytes asked for, plus one, and stops the moment a server sends more;
- checks that the file is the one opened: the ETag or Last-Modified the first response gave is sent
  as ``If-Match``/``If-Unmodified-Since``, and compared with every later response's, with its
  ``Content-Range`` total;
- names a redirect loop as one.

Every failure raises :class:`~napari_mrcz.errors.RemoteError` naming the URL.
"""

from __future__ import annotations

import asyncio
import atexit
import re
import threading
from collections.abc import Sequence
from typing import Any

from ... import config
from ...errors import RemoteError
from .urls import NO_RANGES, describe, too_slow

CHANGED = "the file changed since it was opened; open it again"
_CONTENT_RANGE = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$")
_PARALLEL = 32  # requests in flight at once for one batch of ranges (tiny ones: chunk headers)
_session_lock = threading.Lock()
_session: list[Any] = [None, None]  # (loop, aiohttp.ClientSession): one connection pool per I/O loop


def _loop_and_session() -> tuple[Any, Any]:
    import aiohttp
    import fsspec.asyn

    loop = fsspec.asyn.get_loop()
    with _session_lock:
        if _session[0] is not loop:  # first use, or a new loop after a fork

            async def make() -> Any:
                # no total timeout here: each request has its own deadline (a per-session one would
                # be read once); connecting alone may take the whole deadline
                return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None), auto_decompress=False)

            _session[:] = [loop, fsspec.asyn.sync(loop, make)]
            atexit.register(_close, loop, _session[1])
        return loop, _session[1]


def _close(loop: Any, session: Any) -> None:
    """Close the pool while the I/O loop still runs (else aiohttp reports an unclosed session)."""
    import fsspec.asyn

    if loop.is_running() and not session.closed:
        try:
            fsspec.asyn.sync(loop, session.close, timeout=2)
        except Exception:  # noqa: BLE001 - exiting anyway; nothing to report to
            pass


class HttpFile:
    """One URL read with range requests.

    Parameters
    ----------
    url
        An ``http://`` or ``https://`` URL, sent as given.
    headers
        Extra request headers (e.g. ``Authorization``), from ``storage_options={"headers": ...}``.
    validators
        ``{"ETag": ..., "Last-Modified": ...}`` as the open's response gave them (when unpickling),
        with ``size``; None: :meth:`open` finds them.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None,
                 validators: dict[str, str] | None = None, size: int | None = None) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.validators = dict(validators or {})
        self.size = size

    # -- the public calls (synchronous, from any thread but the I/O loop's) ---------------------------

    def open(self, first: int) -> bytes:
        """The first ``first`` bytes (fewer for a smaller file), finding the size and validators."""
        return self._run(self._first(first))

    def fetch(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Each ``(start, end)`` range exactly (``end`` at most the size), up to 32 requests in flight."""
        return self._run(self._many(list(ranges)))

    def _run(self, coro: Any) -> Any:
        import fsspec.asyn

        loop, self._client = _loop_and_session()
        try:
            return fsspec.asyn.sync(loop, lambda: coro)
        except RemoteError:
            raise
        except Exception as err:  # any failure of the network or the server
            raise RemoteError(f"{self.url}: {describe(err)}") from None

    # -- on the I/O loop ------------------------------------------------------------------------------

    async def _many(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        gate = asyncio.Semaphore(_PARALLEL)

        async def one(start: int, end: int) -> bytes:
            async with gate:
                return await self._range(start, end)

        tasks = [asyncio.ensure_future(one(s, e)) for s, e in ranges]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:  # the first failure ends the batch: no request keeps running
                task.cancel()
            raise

    async def _first(self, n: int) -> bytes:
        status, headers, body = await self._request(0, n, conditional=False)
        self.validators = {k: headers[k] for k in ("ETag", "Last-Modified") if headers.get(k)}
        if status == 416:  # a range past the end: only an empty file answers that to bytes=0-
            total = _content_range(headers, self.url)[2]
            if total != 0:
                raise RemoteError(f"{self.url}: the server refused the range of the file's first bytes (HTTP 416)")
            self.size = 0
            return b""
        if status == 200:  # no range support: fine only if the whole file fit in what was asked
            self.size = len(body)
            return body
        self.size = _content_range(headers, self.url)[2]
        return body

    async def _range(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        status, headers, body = await self._request(start, end, conditional=True)
        if status == 412:
            raise RemoteError(f"{self.url}: {CHANGED} (the server's validators no longer match)")
        if status != 206:
            raise RemoteError(f"{self.url}: {NO_RANGES}")
        for key, value in self.validators.items():
            if headers.get(key) and headers[key] != value:
                raise RemoteError(f"{self.url}: {CHANGED} ({key} was {value}, is {headers[key]})")
        first, last, total = _content_range(headers, self.url)
        if total != self.size:
            raise RemoteError(f"{self.url}: {CHANGED} (its size was {self.size} bytes, is {total})")
        if (first, last) != (start, end - 1) or len(body) != end - start:
            raise RemoteError(f"{self.url}: the response was cut off or misplaced: {len(body)} bytes "
                              f"({headers.get('Content-Range')}) for bytes {start}-{end - 1}")
        return body

    async def _request(self, start: int, end: int, conditional: bool) -> tuple[int, Any, bytes]:
        deadline = float(config.get("remote.timeout"))
        try:
            return await asyncio.wait_for(self._get(start, end, conditional), deadline)
        except asyncio.TimeoutError:
            raise RemoteError(f"{self.url}: {too_slow(deadline)}") from None

    async def _get(self, start: int, end: int, conditional: bool) -> tuple[int, Any, bytes]:
        import yarl

        headers = {**self.headers, "Range": f"bytes={start}-{end - 1}", "Accept-Encoding": "identity"}
        if conditional:
            etag = self.validators.get("ETag", "")
            if etag and not etag.startswith("W/"):  # If-Match compares strong ETags only
                headers["If-Match"] = etag
            elif self.validators.get("Last-Modified"):
                headers["If-Unmodified-Since"] = self.validators["Last-Modified"]
        async with self._client.get(yarl.URL(self.url, encoded=True), headers=headers) as resp:
            if resp.status not in (200, 206, 412, 416):
                resp.raise_for_status()
                raise RemoteError(f"{self.url}: the server answered HTTP {resp.status} {resp.reason or ''}".rstrip())
            want = end - start
            length = resp.headers.get("Content-Length")
            if resp.status in (200, 206) and length is not None and length.isdigit() and int(length) > want:
                raise RemoteError(_oversize(self.url, start, end, resp.status, f"{int(length)} bytes"))
            body = bytearray()
            while resp.status in (200, 206):
                piece = await resp.content.read(want + 1 - len(body))
                if not piece:
                    break
                body += piece
                if len(body) > want:  # stop reading: a body longer than asked for may never end
                    raise RemoteError(_oversize(self.url, start, end, resp.status, "more"))
            return resp.status, resp.headers, bytes(body)


def _oversize(url: str, start: int, end: int, status: int, sent: str) -> str:
    if status == 200:
        return f"{url}: {NO_RANGES}"
    return f"{url}: the server sent {sent} for the {end - start} bytes {start}-{end - 1} asked for (more than the range)"


def _content_range(headers: Any, url: str) -> tuple[int, int, int]:
    """(first, last, total) from a ``Content-Range: bytes a-b/n`` header."""
    match = _CONTENT_RANGE.match(headers.get("Content-Range", "").strip())
    if not match or match[3] == "*":
        raise RemoteError(f"{url}: the server's answer has no usable Content-Range "
                          f"({headers.get('Content-Range')!r}), so the file's size is unknown")
    first = int(match[1]) if match[1] is not None else -1
    last = int(match[2]) if match[2] is not None else -1
    return first, last, int(match[3])
