"""Remote files: a source over any fsspec URL (``https://``, ``s3://``, ``gs://``, ...) read with range requests.

Needs the optional extra ``napari-mrcz[remote]`` (fsspec, and aiohttp for HTTP); fsspec is imported
only when a URL is opened, so ``import napari_mrcz`` stays cheap. Every failure of the network or
the server (connection refused, HTTP 404, a cut-off response, a server that ignores ``Range``)
becomes a :class:`RemoteError` naming the URL.

Opening costs one metadata request (HTTP ``HEAD``: size and version) and one range request for the
first :data:`HEAD_BLOCK` bytes, which hold the header and usually the extended header; every later
read is one range request. Sources are picklable: a dask worker reconnects to the URL itself.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ...errors import MrczError

HEAD_BLOCK = 64 * 2**10
"""Bytes fetched by the first request of an open: the 1024-byte header and an extended header of up
to 63 KiB, so most opens need no separate request for the extended header."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*(://|::)")
_IDENTITY_KEYS = ("ETag", "etag", "Last-Modified", "LastModified", "last_modified", "mtime", "generation",
                  "VersionId", "version_id")
_HTTP_TIMEOUT_S = 60  # connect and per-read timeout: a stalled server raises instead of hanging


class RemoteError(MrczError):
    """A remote file cannot be read: network error, HTTP error, cut-off response, no range requests."""


def is_url(path: Any) -> bool:
    """True for an fsspec URL (``scheme://...`` or a chained ``cache::scheme://...``), not a local path."""
    return isinstance(path, str) and bool(_URL.match(path)) and not re.match(r"^[A-Za-z]:[\\/]", path)


def url_name(url: str) -> str:
    """The file name of a URL: its last path component, without query string or fragment."""
    return re.split(r"[?#]", url.rsplit("::", 1)[-1], maxsplit=1)[0].rstrip("/").rsplit("/", 1)[-1]


def _describe(err: BaseException) -> str:
    """A user's sentence for a network or server failure (aiohttp, fsspec and backend exceptions)."""
    cause = err.__cause__  # fsspec raises FileNotFoundError from the HTTP error of its last attempt
    status = getattr(err, "status", None) or getattr(cause, "status", None)
    text = str(err) or type(err).__name__
    if status == 404 or (isinstance(err, FileNotFoundError) and not isinstance(status, int)):
        return "not found (HTTP 404 or no such object)"
    if isinstance(status, int):
        return f"the server answered HTTP {status} {getattr(err, 'message', '') or getattr(cause, 'message', '')}".rstrip()
    if "range request" in text.lower():
        return ("the server does not support HTTP range requests, which reading parts of a file needs; "
                "download the file and open it locally")
    if "payload" in type(err).__name__.lower() or "ContentLength" in type(err).__name__:
        return f"the response was cut off ({text})"
    if isinstance(err, TimeoutError) or "timeout" in type(err).__name__.lower():
        return "the server did not answer in time"
    return f"{type(err).__name__}: {text}"


def _connect(url: str, storage_options: dict[str, Any]) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError:
        raise MrczError(
            f"{url}: reading URLs needs fsspec (and aiohttp for HTTP): pip install 'napari-mrcz[remote]'"
        ) from None
    options = dict(storage_options)
    protocol = fsspec.core.split_protocol(url)[0]
    if protocol in ("http", "https") and "client_kwargs" not in options:
        try:
            import aiohttp
        except ImportError:
            raise MrczError(f"{url}: reading HTTP URLs needs aiohttp: pip install 'napari-mrcz[remote]'") from None
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=_HTTP_TIMEOUT_S, sock_read=_HTTP_TIMEOUT_S)
        options["client_kwargs"] = {"timeout": timeout}
    try:
        return fsspec.core.url_to_fs(url, **options)
    except (ImportError, ValueError) as err:  # no backend for the protocol, or a malformed URL
        raise MrczError(f"{url}: cannot open this URL ({err})") from None


class RemoteSource:
    """A file behind an fsspec URL, read with range requests.

    Parameters
    ----------
    url
        Any fsspec URL.
    storage_options
        Passed to the fsspec filesystem (e.g. ``{"anon": True}`` for public S3 buckets).
    identity
        (size, version keys) of the file when first opened; given when unpickling, so no request is made.

    Raises
    ------
    RemoteError
        The file cannot be reached, is not a file, or the server reports no size.
    """

    stream: str | None = None

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None,
                 identity: tuple[Any, ...] | None = None) -> None:
        self.url = url
        self.storage_options = dict(storage_options or {})
        self._lock = threading.Lock()
        self._fetch: Callable[[int, int], bytes] | None = None
        self.head = b""
        """The file's first bytes, kept from the first read (the header block)."""
        if identity is None:
            fs, path = _connect(url, self.storage_options)
            try:
                info = fs.info(path)
            except Exception as err:  # any failure of the network or the backend
                raise RemoteError(f"{url}: {_describe(err)}") from None
            if info.get("type", "file") != "file":
                raise RemoteError(f"{url}: not a file ({info.get('type')})")
            if info.get("size") is None:
                raise RemoteError(f"{url}: the server does not say how big the file is")
            if info.get("partial") is False:
                raise RemoteError(f"{url}: {_describe(ValueError('no range requests'))}")
            identity = (int(info["size"]), *(f"{k}={info[k]}" for k in _IDENTITY_KEYS if info.get(k)))
            self._fetch = _fetcher(fs, path, int(info["size"]))
        self.identity = identity
        self.size = int(identity[0])

    def _fetcher(self) -> Callable[[int, int], bytes]:
        with self._lock:
            if self._fetch is None:
                fs, path = _connect(self.url, self.storage_options)
                self._fetch = _fetcher(fs, path, self.size)
            return self._fetch

    def pread(self, n: int, offset: int) -> bytes:
        """Up to ``n`` bytes from ``offset`` (fewer only at the end of the file); one range request.

        Raises
        ------
        RemoteError
            The request failed, or the server sent fewer bytes than the file holds there.
        """
        end = min(offset + n, self.size)
        if offset >= end:
            return b""
        if end <= len(self.head):
            return self.head[offset:end]
        first = offset == 0 and not self.head
        if first:
            end = max(end, min(HEAD_BLOCK, self.size))
        try:
            data = self._fetcher()(offset, end)
        except MrczError:
            raise
        except Exception as err:  # any failure of the network, the server or the backend
            raise RemoteError(f"{self.url}: {_describe(err)}") from None
        if len(data) != end - offset:
            raise RemoteError(
                f"{self.url}: the server sent {len(data)} bytes for bytes {offset}-{end - 1} of a "
                f"{self.size}-byte file (a cut-off response, or the file changed)"
            )
        if first:
            self.head = data
            return data[:n]
        return data

    def readinto(self, out: np.ndarray, offset: int) -> int:
        """Fill ``out`` from ``offset``; returns the bytes read (fewer only at the end of the file)."""
        data = self.pread(out.nbytes, offset)
        out.reshape(-1).view(np.uint8)[: len(data)] = np.frombuffer(data, dtype=np.uint8)
        return len(data)

    def close(self) -> None:
        """Drop the cached first block (the connection pool is fsspec's, shared and kept)."""
        self.head = b""

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "storage_options": self.storage_options, "identity": self.identity}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], state["storage_options"], state["identity"])  # type: ignore[misc]


def _fetcher(fs: Any, path: str, size: int) -> Callable[[int, int], bytes]:
    """``fetch(start, end)``: one range request for bytes start..end-1."""
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    if {"http", "https"} & set(protocols):
        # fsspec's HTTP file checks that the server honoured the Range header (206, Content-Range)
        # and raises instead of downloading the whole file when it did not; given the size it
        # makes no request of its own
        handle = fs.open(path, "rb", size=size, block_size=HEAD_BLOCK, cache_type="none")
        return handle._fetch_range
    return lambda start, end: fs.cat_file(path, start=start, end=end)


class ReadAhead:
    """``pread`` for walking chunk headers over a network (files without a seek table).

    Each miss fetches a block starting at the requested offset and serves the following 16-byte chunk
    headers from it, so one request finds many chunks. The block size follows the chunk sizes seen:
    up to :data:`MAX_BLOCK` while chunks are small, only :data:`SMALL_BLOCK` once they are larger than
    half a block (reading one header per request then costs far fewer bytes than the chunks). Bytes
    moved stay below the file size plus one block.
    """

    MAX_BLOCK = 8 * 2**20
    FIRST_BLOCK = 2**20
    SMALL_BLOCK = 64 * 2**10

    def __init__(self, source: RemoteSource) -> None:
        self.source = source
        self._start = 0
        self._buf = b""
        self._first: int | None = None  # offset of the first header asked for
        self._last = 0
        self._count = 0

    def _block(self) -> int:
        if self._count < 2 or self._first is None:
            return self.FIRST_BLOCK
        stride = (self._last - self._first) / (self._count - 1)
        return self.SMALL_BLOCK if stride > self.MAX_BLOCK / 2 else self.MAX_BLOCK

    def pread(self, n: int, offset: int) -> bytes:
        """Up to ``n`` bytes from ``offset``, from the current block or a new one."""
        if self._first is None:
            self._first = offset
        self._last, self._count = offset, self._count + 1
        if not (self._start <= offset and offset + n <= self._start + len(self._buf)):
            kept = self.source.head[offset:]  # what the open's first block already holds is not fetched again
            want = max(n, self._block())
            more = self.source.pread(want - len(kept), offset + len(kept)) if want > len(kept) else b""
            self._start, self._buf = offset, kept + more
        return self._buf[offset - self._start : offset - self._start + n]


class RunReader:
    """``pread`` for the chunks of a run of z-slices of a remote file: the run's bytes (chunks are
    stored back to back) are fetched in blocks of about :data:`BLOCK` bytes, one range request each,
    instead of one request per slice; a block is dropped once all its chunks were read."""

    BLOCK = 8 * 2**20

    def __init__(self, source: RemoteSource, offsets: np.ndarray, sizes: np.ndarray) -> None:
        self.source = source
        ends = offsets + sizes
        # block k holds chunks first[k]:first[k+1]; a new block starts where one would pass BLOCK
        starts = [0]
        for i in range(1, len(offsets)):
            if ends[i] - offsets[starts[-1]] > self.BLOCK:
                starts.append(i)
        self._first = np.array(starts)
        self._span = [(int(offsets[a]), int(ends[b - 1])) for a, b in zip(starts, [*starts[1:], len(offsets)])]
        self._offsets = offsets
        self._blocks: dict[int, bytes] = {}
        self._left = [b - a for a, b in zip(starts, [*starts[1:], len(offsets)])]
        self._locks = [threading.Lock() for _ in starts]

    def pread(self, n: int, offset: int) -> bytes:
        """The chunk of ``n`` bytes at ``offset`` (one of the run's)."""
        i = int(np.searchsorted(self._offsets, offset))
        k = int(np.searchsorted(self._first, i, side="right")) - 1
        start, end = self._span[k]
        with self._locks[k]:
            block = self._blocks.get(k)
            if block is None:
                block = self._blocks[k] = self.source.pread(end - start, start)
            self._left[k] -= 1
            if self._left[k] <= 0:
                self._blocks.pop(k, None)
        return block[offset - start : offset - start + n]
