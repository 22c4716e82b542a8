"""The streaming writer: :class:`MrczWriter` appends z-slices to an MRC/MRCZ file as they arrive.

Slices are summarised and compressed on worker threads while the calling thread writes finished
slices in order to a temporary file beside the target, which is renamed over the target only when
complete: a failure (bad data, full disk, an exception in a dask chunk, a killed process) never
leaves a partial file in place of a good one. Statistics are accumulated in the same pass.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import Finding, MrczError
from ...format import seektable
from ...format.header import decode_header
from ...format.constants import HEADER_BYTES
from ...values.dtypes import storage_dtype
from ...format.extended import RawExtended
from ...format.kept import KeptFields, ispg_for
from ...format.names import BY_NAME
from ...values.precision import PrecisionSettings
from ..codec.blosc import MrczBlosc, default_threads
from ..codec.settings import CodecSettings
from ..storage.paths import Overwrite, PathLike, as_path, check_replaceable
from .atomic import create_temporary, datasync, move_into_place
from ..stats.compute import RunningStats, SliceStats, slice_stats, stats_wanted
from .header_fields import HeaderFields
from . import pyramid as _pyramid
Progress = Callable[[int, int, int], None]
"""Called after each z-slice with (slices done, bytes in, bytes written)."""

_IN_FLIGHT = 2  # slices per worker queued or running: the workers never wait while this thread writes
_FLUSH_BYTES = 32 * 2**20  # written data handed to a background fdatasync at a time, so close's fsync is short


class MrczWriter:
    """Write an MRC/MRCZ file slice by slice; the header and statistics are finished on close.

    Use as a context manager: on an exception the temporary file is removed and the target is left as
    it was. :meth:`close` a second time does nothing; :meth:`write` after :meth:`close` or
    :meth:`abort` raises :class:`MrczError`. ``write`` takes one slice (NY, NX) or a block (k, NY, NX)
    at a time. Slices are summarised and compressed on ``n_threads`` threads, one slice each, while
    this thread writes finished slices in order; two slices per thread are in flight, so memory stays
    at the block plus a few slices.

    Parameters
    ----------
    path
        The file to write; replaced atomically on close.
    voxel_size, units, metadata, compressor, clevel, shuffle, n_threads, endianness, voltage, c3,
    gain, lossy_cast, overwrite, progress, origin, tolerance, dtype, stats, findings
        As for :func:`write`; with ``dtype="int"`` the integer mode is chosen from the first block, and
        a later block whose values do not fit it raises :class:`MrczError`.
    kept
        ORIGIN, N*START, space group and labels kept from a source file (``origin``, when given,
        replaces its ORIGIN and N*START).
    extended_header
        A source file's extended header (FEI, SERI, ...) to keep when ``metadata`` is empty; see
        :class:`~napari_mrcz.io.writer.header_fields.HeaderFields`.
    ndim
        2 to write a single image (needs exactly one slice), 3 for a stack or volume; 4 with
        ``slices_per_volume`` for a volume stack.
    slices_per_volume
        Slices in each volume of a volume stack (ISPG 401); None otherwise.
    pyramid
        Store downsampled levels after the data (:mod:`napari_mrcz.format.pyramid`), built in the same
        pass: True, False, or "auto" (default: MRCZ files with slices wider or taller than the
        ``"multiscale.side"`` setting; :func:`write` also counts the data's size).
    """

    def __init__(
        self,
        path: PathLike,
        *,
        voxel_size: Any = None,
        units: str = "Å",
        metadata: dict[str, Any] | None = None,
        compressor: str | None = BY_NAME,
        clevel: int = 1,
        shuffle: str = "auto",
        n_threads: int | None = None,
        endianness: str = "<",
        voltage: float | None = None,
        c3: float | None = None,
        gain: float | None = None,
        lossy_cast: bool = False,
        overwrite: Overwrite = True,
        progress: Progress | None = None,
        ndim: int = 3,
        slices_per_volume: int | None = None,
        tolerance: float | None = None,
        dtype: Any = None,
        origin: Any = None,
        kept: KeptFields | None = None,
        stats: bool | str = "auto",
        extended_header: RawExtended | None = None,
        pyramid: bool | str = "auto",
        findings: list[Finding] | None = None,
    ) -> None:
        precision = PrecisionSettings(tolerance, dtype, lossy_cast)
        codec = CodecSettings(compressor, clevel, shuffle, threads=n_threads)
        fields = HeaderFields.from_arguments(
            voxel_size=voxel_size, units=units, metadata=metadata, endianness=endianness, voltage=voltage,
            c3=c3, gain=gain, origin=origin, kept=kept, ndim=ndim, extended_header=extended_header,
        )
        self._open(path, codec, fields, precision, findings, overwrite=overwrite, progress=progress, ndim=ndim,
                   slices_per_volume=slices_per_volume, stats=stats, pyramid=pyramid)

    @classmethod
    def from_options(
        cls,
        path: PathLike,
        *,
        codec: CodecSettings = CodecSettings(),
        fields: HeaderFields | None = None,
        precision: PrecisionSettings = PrecisionSettings(),
        overwrite: Overwrite = True,
        progress: Progress | None = None,
        ndim: int = 3,
        slices_per_volume: int | None = None,
        stats: bool | str = "auto",
        pyramid: bool | str = "auto",
        findings: list[Finding] | None = None,
    ) -> MrczWriter:
        """A writer from option values: ``codec`` (:class:`~napari_mrcz.io.codec.settings.CodecSettings`),
        ``fields`` (:class:`~napari_mrcz.io.writer.header_fields.HeaderFields`; None: the defaults) and
        ``precision`` (:class:`~napari_mrcz.values.precision.PrecisionSettings`); the other arguments
        as for the class."""
        writer = cls.__new__(cls)
        writer._open(path, codec, fields or HeaderFields.from_arguments(ndim=ndim), precision, findings, overwrite=overwrite,
                     progress=progress, ndim=ndim, slices_per_volume=slices_per_volume, stats=stats, pyramid=pyramid)
        return writer

    def _open(
        self, path: PathLike, codec: CodecSettings, fields: HeaderFields, precision: PrecisionSettings,
        findings: list[Finding] | None, *, overwrite: Overwrite, progress: Progress | None, ndim: int,
        slices_per_volume: int | None, stats: bool | str, pyramid: bool | str,
    ) -> None:
        self.path = as_path(path)
        self.findings = findings
        _pyramid.check_setting(pyramid)
        self._pyramid_setting = pyramid
        self._pyramid: _pyramid.PyramidBuilder | None = None
        self._state = "open"  # then "closed" or "aborted"
        self.precision = precision.pipeline()
        codec = codec.for_file(self.path, findings)
        self.compute_stats = stats_wanted(stats, codec.compressor)  # after the file name decided the format
        self.fields = fields
        self.codec = MrczBlosc.from_settings(codec)
        self.byte_order = self.fields.byte_order
        self.extended = self.fields.extended
        if ndim not in (2, 3, 4) or (ndim == 4) != (slices_per_volume is not None):
            raise MrczError("ndim must be 2, 3, or 4 with slices_per_volume")
        self.ndim = ndim
        self.slices_per_volume = slices_per_volume
        self.overwrite = overwrite
        self.progress = progress
        check_replaceable(self.path, overwrite)
        self.stats = RunningStats()
        self.slice_shape: tuple[int, int] | None = None
        self.stored: np.dtype | None = None
        self.count = 0  # slices written to the file
        self._submitted = 0  # slices handed to the workers
        self._threads = self.codec.threads if self.codec is not None else (codec.threads or default_threads())
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future[tuple[SliceStats | None, Any, int]]] = deque()
        self._flusher: ThreadPoolExecutor | None = None
        self._flushing: Future | None = None
        self._unflushed = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self._cbytes: list[int] = []  # compressed size of each slice, for the seek table
        folder = self.path.absolute().parent
        if not folder.is_dir():
            raise FileNotFoundError(errno.ENOENT, "no such folder", str(folder))
        fd, self._tmp = create_temporary(self.path)
        self._file = os.fdopen(fd, "wb")
        try:
            self._file.write(bytes(HEADER_BYTES) + self.extended)
        except BaseException:
            self.abort()
            raise

    def write(self, block: Any) -> None:
        """Append one slice (NY, NX) or a block of slices (k, NY, NX); the block's slices are compressed
        in parallel, and all are in the file when this returns (so the caller may reuse its buffer).

        Raises
        ------
        MrczError
            The slice shape or dtype differs from the first block's, values cannot be stored, or the
            writer was closed or aborted.
        """
        self.submit(block)
        self._finish_pending()

    def submit(self, block: Any) -> None:
        """Hand a block's slices to the workers without waiting for them: they may still read ``block``
        when this returns, so the caller must not change it until :meth:`close` (for blocks it does
        not reuse, such as views of an array or computed dask chunks). Otherwise as :meth:`write`.

        Raises
        ------
        MrczError
            As :meth:`write`.
        """
        if self._state != "open":
            raise MrczError(f"{self.path}: the writer was {self._state}; nothing more can be written")
        arr = np.asarray(block)
        if arr.ndim == 2:
            arr = arr[np.newaxis]
        if arr.ndim != 3 or 0 in arr.shape:
            raise MrczError(f"write() takes (NY, NX) or (k, NY, NX) blocks, not shape {arr.shape}")
        if self.slice_shape is None:
            self.slice_shape = arr.shape[1:]
            self.stored = self.precision.plan(arr, self.path.name, self.findings).newbyteorder(self.byte_order)
            self._source_dtype = arr.dtype
            self._in_itemsize = storage_dtype(arr.dtype, True)[0].itemsize
            if _pyramid.wanted(self._pyramid_setting, compressed=self.codec is not None, ndim=self.ndim,
                               dtype=self.stored, slice_shape=self.slice_shape):
                halve_z = self.ndim == 3 and ispg_for(3, 2, self.fields.kept.ispg) != 0
                self._pyramid = _pyramid.PyramidBuilder(self.slice_shape, self.stored, halve_z, self.path.absolute().parent)
        if arr.shape[1:] != self.slice_shape or arr.dtype != self._source_dtype:
            raise MrczError(
                f"block {arr.shape} {arr.dtype} does not match the first block's slices "
                f"{self.slice_shape} {self._source_dtype}"
            )
        if self._pool is None and self._threads > 1 and self.ndim != 2:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="napari-mrcz-write")
        for plane in arr:
            z, prepared, shuffle = self._submitted, False, None
            if self.codec is not None:  # chosen here, in slice order: the file never depends on which
                if self.codec.samples(z):  # worker runs first; the few trial slices as stored values
                    plane, prepared = self.precision.apply(plane, z), True
                shuffle = self.codec.shuffle_for(plane, z)
            if self._pool is None:  # one thread, or one 2-D image: blosc's own threads
                job: Future = Future()
                job.set_result(self._encode(plane, self._threads, z, shuffle, prepared))
            else:
                job = self._pool.submit(self._encode, plane, 1, z, shuffle, prepared)
            self._pending.append(job)
            self._submitted += 1
            while len(self._pending) > self._threads * _IN_FLIGHT:  # bench: 2 per worker, 10-20% faster
            # than 1 on 1 MiB tomogram slices, the same on 4 MiB ones; more gained nothing
                self._finish(self._pending.popleft())

    def _encode(
        self, plane: np.ndarray, threads: int, z: int, shuffle: int | None, prepared: bool
    ) -> tuple[SliceStats | None, Any, int]:
        """Statistics and stored bytes of slice ``z`` (runs on a worker thread): its values are
        quantized and converted here (unless ``prepared``), so that work runs in parallel too."""
        values = plane if prepared else self.precision.apply(plane, z)
        stats = slice_stats(values) if self.compute_stats else None
        stored = np.ascontiguousarray(values.astype(self.stored, copy=False))
        if self._pyramid is not None:
            self._pyramid.add(z, stored)
        data = stored.data if self.codec is None else self.codec.encode(stored, threads, shuffle)
        return stats, data, plane.size * self._in_itemsize

    def _finish(self, job: Future[tuple[SliceStats | None, Any, int]]) -> None:
        """Write one finished slice (in slice order) and fold in its statistics."""
        stats, data, nbytes = job.result()
        size = data.nbytes if isinstance(data, memoryview) else len(data)
        self._file.write(data)
        self._unflushed += size
        if self._unflushed >= _FLUSH_BYTES and (self._flushing is None or self._flushing.done()):
            if self._flushing is not None:
                self._flushing.result()  # raise a failed flush (EIO, ENOSPC) now
            if self._flusher is None:
                self._flusher = ThreadPoolExecutor(1, thread_name_prefix="napari-mrcz-flush")
            self._file.flush()
            self._unflushed = 0
            self._flushing = self._flusher.submit(datasync, self._file.fileno())
        self.stats.merge(stats)
        self.bytes_in += nbytes
        self.bytes_out += size
        self._cbytes.append(size)
        self.count += 1
        if self.progress is not None:
            self.progress(self.count, self.bytes_in, self.bytes_out)

    def _finish_pending(self) -> None:
        while self._pending:
            self._finish(self._pending.popleft())

    def _drain(self) -> None:
        self._finish_pending()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._stop_flusher()

    def _stop_flusher(self) -> None:
        if self._flusher is not None:
            self._flusher.shutdown()
            self._flusher = None
        if self._flushing is not None:
            flushing, self._flushing = self._flushing, None
            flushing.result()

    def _shape(self) -> tuple[int, ...]:
        assert self.slice_shape is not None
        if self.ndim == 2:
            if self.count != 1:
                raise MrczError(f"a 2-D image needs exactly one slice, got {self.count}")
            return self.slice_shape
        if self.ndim == 4:
            mz = self.slices_per_volume
            if not mz or self.count % mz:
                raise MrczError(f"{self.count} slices do not make whole volumes of {mz}")
            return (self.count // mz, mz, *self.slice_shape)
        return (self.count, *self.slice_shape)

    def close(self) -> Path:
        """Finish the header and move the file into place; returns the path. Closing again does nothing.

        Raises
        ------
        MrczError
            Nothing was written, the slice count does not fit ``ndim``, or the writer was aborted.
        ReadOnlyTargetError
            The target became read-only while writing (and ``overwrite`` is not "force").
        """
        if self._state == "closed":
            return self.path
        if self._state == "aborted":
            raise MrczError(f"{self.path}: the writer was aborted; nothing was written")
        try:
            self._drain()
            if self.count == 0 or self.stored is None:
                raise MrczError("no data was written")
            header = self.fields.encode(
                shape=self._shape(),
                stored=self.stored,
                compressor=self.codec.cname if self.codec else None,
                stats=self.stats.header_values(),
                packed_bytes=self.bytes_out if self.codec else 0,
                extra_labels=self.precision.labels,
            )
            if self.codec is not None:  # after the last chunk, where packed_bytes points
                table = seektable.encode(
                    data_offset=HEADER_BYTES + len(self.extended),
                    slice_nbytes=self.slice_shape[0] * self.slice_shape[1] * self.stored.itemsize,
                    cbytes=self._cbytes,
                )
                self._file.write(table)
                if self._pyramid is not None:
                    _pyramid.append(self._pyramid, self._file, decode_header(header), table)
            self._file.seek(0)
            self._file.write(header)
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            move_into_place(self._tmp, self.path, self.overwrite)
        except BaseException:
            self.abort()
            raise
        self._state = "closed"
        if rounded := self.precision.cast_warning():
            Finding(self.path.name, rounded).report(self.findings)
        return self.path

    def abort(self) -> None:
        """Discard everything written; the target path is untouched. Does nothing after :meth:`close`."""
        if self._state == "closed":
            return
        self._state = "aborted"
        for job in self._pending:
            job.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._pyramid is not None:
            self._pyramid.close()
        with contextlib.suppress(OSError):
            self._stop_flusher()
        try:
            with contextlib.suppress(OSError):  # flushing bytes we discard can fail (disk full)
                self._file.close()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> MrczWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
