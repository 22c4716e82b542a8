"""Remote files: a source over any fsspec URL (``https://``, ``s3://``, ``gs://``, ...) read with range requests.

Needs the optional extra ``napari-mrcz[remote]`` (fsspec, and aiohttp for HTTP); both are imported
only when a URL is opened, so ``import napari_mrcz`` stays cheap. HTTP(S) URLs are read by
:mod:`.http` (deadlines, bounded bodies, validators, URLs sent as given); other protocols through
fsspec's public ``cat_file``/``cat_ranges``. Every failure of the network or the server becomes a
:class:`~napari_mrcz.errors.RemoteError` naming the URL.

Opening costs one request for HTTP (the first :data:`HEAD_BLOCK` bytes, whose response also gives
the size and the validators), two for other protocols (``info``, then that block). Batches of ranges
(:meth:`RemoteSource.read_ranges`) are coalesced and fetched in parallel, as zarr-python 3's
``get_ranges`` does. Sources are picklable: a dask worker reconnects to the URL itself.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from ... import config
from ...errors import MrczError, RemoteError  # noqa: F401 - RemoteError: also its old home
from .base import Range, size_excess
from .urls import describe, is_url, too_slow, url_name  # noqa: F401 - is_url, url_name: also their old home

HEAD_BLOCK = 64 * 2**10
"""Bytes fetched by the first request of an open: the 1024-byte header and an extended header of up
to 63 KiB, so most opens need no separate request for the extended header."""
MAX_GAP = 64 * 2**10
"""Ranges closer than this are fetched by one request (the gap is read and dropped)."""
MAX_BLOCK = 8 * 2**20
"""A coalesced request stops growing at this size (larger ranges are fetched alone)."""
_VERSION_KEYS = ("ETag", "etag", "Last-Modified", "LastModified", "last_modified", "mtime", "generation",
                 "VersionId", "version_id")


def coalesce(ranges: Sequence[Range], max_gap: int = MAX_GAP, max_block: int = MAX_BLOCK) -> list[tuple[int, int, list[int]]]:
    """Group ranges into requests: (start, end, indices of the ranges it serves), in file order.
    Ranges that overlap or lie within ``max_gap`` of each other share a request while it stays
    below ``max_block`` bytes."""
    order = sorted((i for i in range(len(ranges)) if ranges[i][1] > ranges[i][0]), key=lambda i: ranges[i])
    groups: list[tuple[int, int, list[int]]] = []
    for i in order:
        start, end = ranges[i]
        if groups and start - groups[-1][1] <= max_gap and max(end, groups[-1][1]) - groups[-1][0] <= max_block:
            first, last, members = groups[-1]
            groups[-1] = (first, max(last, end), [*members, i])
        else:
            groups.append((start, end, [i]))
    return groups


def _is_http(url: str) -> bool:
    return url.split("://", 1)[0].lower() in ("http", "https")


class _Fsspec:
    """Any other fsspec protocol, through its public calls. Asynchronous filesystems (s3fs, gcsfs,
    fsspec's HTTP) take fsspec's ``timeout`` keyword, which cancels a call at the deadline."""

    def __init__(self, url: str, storage_options: dict[str, Any]) -> None:
        try:
            import fsspec
        except ImportError:
            raise MrczError(f"{url}: reading URLs needs fsspec: pip install 'napari-mrcz[remote]'") from None
        try:
            self.fs, self.path = fsspec.core.url_to_fs(url, **storage_options)
        except (ImportError, ValueError) as err:  # no backend for the protocol, or a malformed URL
            raise MrczError(f"{url}: cannot open this URL ({err})") from None
        self.url = url

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        deadline = float(config.get("remote.timeout"))
        if not getattr(self.fs, "async_impl", False):
            return method(*args, **kwargs)
        try:
            return method(*args, timeout=deadline, **kwargs)
        except TimeoutError:  # fsspec's FSTimeoutError is one
            raise RemoteError(f"{self.url}: {too_slow(deadline)}") from None

    def info(self) -> tuple[int, dict[str, str]]:
        info = self._call(self.fs.info, self.path)
        if info.get("type", "file") != "file":
            raise RemoteError(f"{self.url}: not a file ({info.get('type')})")
        if info.get("size") is None:
            raise RemoteError(f"{self.url}: the server does not say how big the file is")
        return int(info["size"]), {k: str(info[k]) for k in _VERSION_KEYS if info.get(k)}

    def fetch(self, ranges: Sequence[Range]) -> list[bytes]:
        if len(ranges) == 1:
            return [self._call(self.fs.cat_file, self.path, start=ranges[0][0], end=ranges[0][1])]
        starts, ends = [r[0] for r in ranges], [r[1] for r in ranges]
        return list(self._call(self.fs.cat_ranges, [self.path] * len(ranges), starts, ends, on_error="raise"))


class RemoteSource:
    """A file behind an fsspec URL, read with range requests.

    Parameters
    ----------
    url
        Any fsspec URL; HTTP(S) URLs are sent exactly as given (presigned URLs keep their encoding).
    storage_options
        Passed to the fsspec filesystem (e.g. ``{"anon": True}`` for public S3 buckets). For HTTP,
        ``{"headers": {...}}`` adds request headers; any other option reads through fsspec's HTTP.
    identity
        (size, validators) of the file when first opened; given when unpickling, so no request is made.

    Raises
    ------
    RemoteError
        The file cannot be reached, is not a file, or the server reports no size.
    """

    container = None

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None,
                 identity: tuple[Any, ...] | None = None) -> None:
        self.url = url
        self.storage_options = dict(storage_options or {})
        self._lock = threading.Lock()
        self._backend: Any = None
        self._token = uuid.uuid4().hex  # tells sources apart when the server gives no validators
        self.head = b""
        """The file's first bytes, kept from the first read (the header block)."""
        if identity is None:
            identity = self._open()
        self._identity = tuple(identity)
        self.size = int(identity[0])

    def _http(self) -> bool:
        return _is_http(self.url) and set(self.storage_options) <= {"headers"}

    def _open(self) -> tuple[Any, ...]:
        if self._http():
            from .http import HttpFile

            backend = HttpFile(self.url, self.storage_options.get("headers"))
            self.head = backend.open(HEAD_BLOCK)
            size, versions = backend.size, backend.validators
        else:
            backend = _Fsspec(self.url, self.storage_options)
            try:
                size, versions = backend.info()
                head = backend.fetch([(0, min(HEAD_BLOCK, size))])[0] if size else b""
            except MrczError:
                raise
            except Exception as err:  # any failure of the network or the backend
                raise RemoteError(f"{self.url}: {describe(err)}") from None
            self._check(len(head), 0, min(HEAD_BLOCK, size), size)
            self.head = head
        self._backend = backend
        assert size is not None
        found = tuple(f"{k}={v}" for k, v in versions.items())
        return (size, *found) if found else (size, f"token={self._token}")

    @property
    def identity(self) -> tuple[Hashable, ...]:
        """(size, ``"ETag=..."``, ``"Last-Modified=..."``, ...) as the server gave them at the open; a
        server that gives none: (size, a token of this open), which no other open shares."""
        return self._identity

    @property
    def file_nbytes(self) -> int:
        """The file's size."""
        return self.size

    @property
    def has_validators(self) -> bool:
        """Whether the server gave an ETag, Last-Modified or version (see :attr:`identity`)."""
        return not str(self._identity[-1]).startswith("token=")

    def _fetcher(self) -> Any:
        with self._lock:
            if self._backend is None:
                if self._http():
                    from .http import HttpFile

                    versions = dict(v.split("=", 1) for v in self._identity[1:] if not v.startswith("token="))
                    self._backend = HttpFile(self.url, self.storage_options.get("headers"), versions, self.size)
                else:
                    self._backend = _Fsspec(self.url, self.storage_options)
            return self._backend

    def _check(self, got: int, start: int, end: int, size: int | None = None) -> None:
        if got != end - start:
            raise RemoteError(
                f"{self.url}: the server sent {got} bytes for bytes {start}-{end - 1} of a "
                f"{size or self.size}-byte file (a cut-off response, or the file changed)"
            )

    def _fetch(self, ranges: Sequence[Range]) -> list[bytes]:
        """Each range exactly, in one parallel batch."""
        try:
            got = self._fetcher().fetch(ranges)
        except MrczError:
            raise
        except Exception as err:  # any failure of the network, the server or the backend
            raise RemoteError(f"{self.url}: {describe(err)}") from None
        for (start, end), data in zip(ranges, got):
            self._check(len(data), start, end)
        return got

    def pread(self, n: int, offset: int) -> bytes:
        """Up to ``n`` bytes from ``offset`` (fewer only at the end of the file); one range request.

        Raises
        ------
        RemoteError
            The request failed, or the server sent fewer bytes than the file holds there.
        """
        return self.read_ranges([(offset, offset + n)])[0]

    def read_ranges(self, ranges: Sequence[Range], max_gap: int | None = None) -> list[bytes]:
        """The bytes of each ``(start, end)`` range: ranges within ``max_gap`` (default :data:`MAX_GAP`)
        of each other share a request of up to :data:`MAX_BLOCK` bytes, and the requests run in parallel.

        Raises
        ------
        RemoteError
            A request failed, or the file changed since it was opened.
        """
        head = self.head
        clipped = [(max(0, s), min(max(s, e), self.size)) for s, e in ranges]
        out: list[bytes] = [b""] * len(clipped)
        wanted = []
        for i, (start, end) in enumerate(clipped):
            if end <= len(head):
                out[i] = head[start:end]
            elif end > start:
                wanted.append(i)
        groups = coalesce([clipped[i] for i in wanted], MAX_GAP if max_gap is None else max_gap)
        blocks = self._fetch([(start, end) for start, end, _ in groups]) if groups else []
        for (first, _, members), block in zip(groups, blocks):
            for k in members:
                start, end = clipped[wanted[k]]
                out[wanted[k]] = block[start - first : end - first]
        return out

    def readinto(self, out: np.ndarray, offset: int) -> int:
        """Fill ``out`` from ``offset``; returns the bytes read (fewer only at the end of the file)."""
        data = self.pread(out.nbytes, offset)
        out.reshape(-1).view(np.uint8)[: len(data)] = np.frombuffer(data, dtype=np.uint8)
        return len(data)

    def planned(self, ranges: Sequence[Range]) -> Callable[[int, int], bytes]:
        """A ``pread`` serving these ranges from coalesced blocks (:class:`PlannedReads`)."""
        return PlannedReads(self, ranges).pread

    def scanner(self) -> Callable[[int, int], bytes]:
        """A read-ahead ``pread`` for walking chunk headers (:class:`ReadAhead`)."""
        return ReadAhead(self).pread

    def unchanged(self) -> bool:
        """True: every request checks the validators of the open and raises when they changed."""
        return True

    def excess(self, end: int) -> str | None:
        """The file's bytes after ``end``, if any."""
        return size_excess(self.size, end)

    def close(self) -> None:
        """Drop the cached first block (the connection pool is shared and kept)."""
        self.head = b""

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "storage_options": self.storage_options, "identity": self._identity}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], state["storage_options"], state["identity"])  # type: ignore[misc]


class PlannedReads:
    """``pread`` for known ranges (the chunks of a run of z-slices): they are grouped into blocks as
    :func:`coalesce` groups them, one range request each, fetched by the first thread that needs one
    (so threads decoding different blocks fetch them in parallel) and dropped once all its ranges were
    read. Other reads go to the source directly."""

    def __init__(self, source: RemoteSource, ranges: Sequence[Range]) -> None:
        self.source = source
        self._where: dict[Range, int] = {}
        self._spans: list[tuple[int, int]] = []
        self._left: list[int] = []
        for k, (start, end, members) in enumerate(coalesce(ranges)):
            self._spans.append((start, end))
            self._left.append(len(members))
            self._where.update({tuple(ranges[i]): k for i in members})  # type: ignore[misc]
        self._blocks: dict[int, bytes | MrczError] = {}
        self._locks = [threading.Lock() for _ in self._spans]

    def pread(self, n: int, offset: int) -> bytes:
        """``n`` bytes from ``offset``: from its block when it is one of the planned ranges."""
        k = self._where.get((offset, offset + n))
        if k is None:
            return self.source.pread(n, offset)
        start, end = self._spans[k]
        with self._locks[k]:
            block = self._blocks.get(k)
            if isinstance(block, BaseException):  # another thread's fetch failed: no second wait
                raise block
            if block is None:
                try:
                    block = self._blocks[k] = self.source.pread(end - start, start)
                except MrczError as err:
                    self._blocks[k] = err
                    raise
            self._left[k] -= 1
            if self._left[k] <= 0:
                self._blocks.pop(k, None)
        return block[offset - start : offset - start + n]  # type: ignore[index]


class ReadAhead:
    """``pread`` for walking chunk headers over a network (files without a seek table).

    Each miss fetches a block starting at the requested offset and serves the following 16-byte chunk
    headers from it, so one request finds many chunks. The block size follows the chunk sizes seen:
    up to :data:`MAX_BLOCK` while chunks are small, only :data:`SMALL_BLOCK` once they are larger than
    half a block (reading one header per request then costs far fewer bytes than the chunks). Bytes
    moved stay below the file size plus one block.
    """

    MAX_BLOCK = MAX_BLOCK
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

