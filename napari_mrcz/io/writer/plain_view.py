"""The plain MRC2014 file an MRCZ file converts to, as bytes on demand: :class:`PlainView`.

A view holds the header bytes ``napari-mrcz convert --no-metadata --no-stats x.mrcz x.mrc`` would
write (built by the writer's own :class:`~napari_mrcz.io.writer.header_fields.HeaderFields`, so the two
cannot drift apart), its size, and ``read(offset, n)``, which decompresses only the z-slices the
range touches. Opening a view reads the header and the chunk index, never a voxel.

Decoded slices live in a :class:`SliceCache`: a least-recently-used cache bounded in bytes, shared by
every view and reader, with a small pool of decode threads; a :class:`PlainReader` (one per open
file) that reads sequentially has the next slices decoded ahead on that pool. Memory stays at the
cache budget plus the slices in flight (at most ``2 x workers``).

Differences from ``convert --no-metadata`` (which computes them in a full pass): DMIN/DMAX/DMEAN/RMS
are MRC2014's "not determined" values (``convert --no-stats`` writes the same bytes). The JSON
metadata is dropped; any other extended header (FEI, SERI, ...) is kept, as ``convert`` keeps it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from ...errors import ChunkError, MrczError
from ...format.kept import kept_extended_header, rewrite_arguments
from ...values.precision import Precision
from ..codec.blosc import default_threads
from ..reader.cache import ArrayCache
from ..reader.file import open_mrc
from ...format.constants import STATS_NOT_DETERMINED
from ..storage.paths import PathLike, as_path
from .header_fields import HeaderFields

DEFAULT_CACHE_BYTES = 512 * 2**20
"""Decoded slices kept for all files together."""
DEFAULT_READAHEAD_BYTES = 32 * 2**20
"""How far ahead of a sequential reader slices are decoded (at least one slice)."""


class SliceCache:
    """Decoded slices shared by every view: an LRU of at most ``budget`` bytes and ``workers`` decode
    threads. A slice asked for while it is being decoded is waited for, not decoded twice.

    Parameters
    ----------
    budget
        Bytes of decoded slices kept (a slice larger than a quarter of it is not kept).
    workers
        Threads that decode slices (default: the cores, at most 8).
    """

    def __init__(self, budget: int = DEFAULT_CACHE_BYTES, workers: int | None = None) -> None:
        if budget < 0:
            raise MrczError(f"the cache size must be at least 0 bytes, not {budget}")
        self.arrays = ArrayCache(budget)
        self.workers = workers or default_threads()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="napari-mrcz-plain")
        self._inflight: dict[Hashable, Future[np.ndarray]] = {}
        self._lock = threading.Lock()

    def _start(self, key: Hashable, decode: Callable[[], np.ndarray], limit: int | None) -> Future[np.ndarray] | None:
        with self._lock:
            job = self._inflight.get(key)
            if job is not None or (limit is not None and len(self._inflight) >= limit):
                return job
            job = self._pool.submit(decode)
            self._inflight[key] = job

        def done(finished: Future[np.ndarray]) -> None:
            if finished.exception() is None:
                self.arrays.put(key, finished.result())
            with self._lock:
                self._inflight.pop(key, None)

        job.add_done_callback(done)
        return job

    def get(self, key: Hashable, decode: Callable[[], np.ndarray]) -> np.ndarray:
        """The slice under ``key``: cached, being decoded, or decoded now (on the pool)."""
        found = self.arrays.get(key)
        if found is not None:
            return found
        job = self._start(key, decode, None)
        assert job is not None
        return job.result()

    def prefetch(self, key: Hashable, decode: Callable[[], np.ndarray]) -> None:
        """Start decoding ``key`` unless it is cached, in flight, or 2 x workers slices are in flight."""
        if self.arrays.get(key) is None:
            self._start(key, decode, 2 * self.workers)

    def close(self) -> None:
        """Stop the decode threads (waits for the slices in flight) and forget every slice."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.arrays.clear()


class PlainView:
    """An MRCZ file seen as the plain MRC2014 file it converts to.

    Attributes
    ----------
    path
        The MRCZ file.
    size
        Bytes of the plain file: header, kept extended header, data.
    head
        The 1024-byte header and the extended header.
    slice_nbytes
        Bytes of one plain z-slice (rows x columns x the stored item size, little-endian).

    Raises
    ------
    MrczError
        ``path`` is not a readable MRCZ file (also plain MRC: it needs no view).
    """

    def __init__(self, path: PathLike, cache: SliceCache) -> None:
        self.path = as_path(path)
        self.cache = cache
        self.info = info = open_mrc(self.path)
        try:
            h = info.header
            if h.compressor is None:
                raise MrczError(f"{self.path}: a plain MRC file, not MRCZ")
            shape = info.shape
            kept_extended = kept_extended_header(h, info.extended_header)
            arguments = rewrite_arguments(h, info.voxel_size, {}, info.tilt_angles)  # as convert_file keeps them
            fields = HeaderFields.from_arguments(**arguments, ndim=len(shape), extended_header=kept_extended)
            self._precision = Precision()  # convert's: no tolerance, no integer decimation
            self.stored = self._precision.plan(np.empty((0, 0, 0), info.dtype)).newbyteorder(fields.byte_order)
            self.head = fields.encode(shape=shape, stored=self.stored, compressor=None, stats=STATS_NOT_DETERMINED) + fields.extended
            self.slice_shape = shape[-2:]
            self.nslices = math.prod(shape[:-2])
            self.slice_nbytes = self.slice_shape[0] * self.slice_shape[1] * self.stored.itemsize
            self.size = len(self.head) + self.nslices * self.slice_nbytes
            self.identity = info.source.identity  # type: ignore[union-attr]
            self._zyx = h.zyx_axes == (0, 1, 2)
            self._dask: Any = None
        except BaseException:
            info.close()
            raise

    def _decode(self, z: int) -> np.ndarray:
        """Plain slice ``z`` as bytes (uint8), exactly as :class:`MrczWriter` stores it."""
        try:
            if self._zyx:
                values = self.info.read_slices(z, z + 1, 1)
            else:  # stored in another axis order: a plain slice gathers rows of every stored slice
                if self._dask is None:
                    from ..reader.lazy import as_dask

                    self._dask = as_dask(self.info, 1).reshape(self.nslices, *self.slice_shape)
                values = np.asarray(self._dask[z : z + 1].compute(scheduler="synchronous"))
            stored = self._precision.apply(values, z).astype(self.stored, copy=False)
        except MrczError as err:
            raise ChunkError(f"{self.path}: z-slice {z} of {self.nslices} cannot be read: {err}") from err
        return np.ascontiguousarray(stored).reshape(-1).view(np.uint8)

    def _slice(self, z: int) -> np.ndarray:
        return self.cache.get((self.identity, z), lambda: self._decode(z))

    def read(self, offset: int, n: int, ahead: int = 0) -> bytes:
        """Bytes ``offset : offset + n`` of the plain file (fewer at its end), decoding only the
        slices they touch, and starting to decode the ``ahead`` slices after them.

        Raises
        ------
        MrczError
            A touched slice is corrupt or truncated (:class:`ChunkError`, naming file and slice), or
            the MRCZ file was rewritten in place since the view was made.
        """
        end = min(offset + n, self.size)
        if offset >= end:
            return b""
        if not self.info.source.unchanged():  # type: ignore[union-attr]
            raise MrczError(f"{self.path}: the file changed while it was read; open it again")
        head = len(self.head)
        parts = [self.head[offset:end]] if offset < head else []
        lo, hi = max(offset, head) - head, end - head
        if hi > lo:
            z0, z1 = lo // self.slice_nbytes, (hi - 1) // self.slice_nbytes + 1
            for z in range(z0 + 1, min(z1 + ahead, self.nslices)):  # decode in parallel, in order
                self.cache.prefetch((self.identity, z), lambda z=z: self._decode(z))
            for z in range(z0, z1):
                data = self._slice(z)
                start = z * self.slice_nbytes
                parts.append(data[max(lo - start, 0) : min(hi - start, self.slice_nbytes)].tobytes())
        return b"".join(parts)

    def close(self) -> None:
        """Close the MRCZ file; cached slices stay until evicted."""
        self.info.close()

    def __enter__(self) -> PlainView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PlainReader:
    """One open plain file: reads that follow each other have ``readahead`` bytes (whole slices, at
    least one) decoded ahead of them."""

    def __init__(self, view: PlainView, readahead: int = DEFAULT_READAHEAD_BYTES) -> None:
        self.view = view
        self.ahead = max(1, -(-readahead // max(view.slice_nbytes, 1))) if readahead > 0 else 0
        self._next = 0

    def read(self, offset: int, n: int) -> bytes:
        """As :meth:`PlainView.read`, with read-ahead when ``offset`` is where the last read ended."""
        sequential = offset == self._next
        self._next = offset + n
        return self.view.read(offset, n, self.ahead if sequential else 0)

