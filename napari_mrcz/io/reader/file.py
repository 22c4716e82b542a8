"""Open MRC/MRCZ files: header, extended header and chunk index, without the voxels.

``open_mrc`` reads only the header, the extended header and (for MRCZ) the 16-byte chunk headers,
after checking every size against the file length. ``MrcFileInfo.read_slices`` then reads (and
decompresses) any run of z-slices; ``reader.read`` and ``lazy.SliceArray`` are built on it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import Finding, HeaderError
from ...format.chunks import ChunkIndex
from ...format.constants import HEADER_BYTES
from ...format.header import Header, check_header
from ...format.identity import Strictness
from ...format.metadata import check_metadata
from ...values.quantize import tolerance_from_labels
from ...format.origin import origin_zyx
from ..codec.blosc import MrczBlosc, blosc2_gil_released, map_slices
from ..storage.base import Source
from ..storage.opening import open_source
from ..storage.paths import PathLike
from .chunk_index import index_chunks
from .tilt import file_tilt_angles


@dataclass(eq=False)
class MrcFileInfo:
    """An opened MRC/MRCZ file: everything but the voxels.

    Attributes
    ----------
    path
        The file, or the URL (str) of a remote file.
    header
        The decoded header.
    metadata
        The user's JSON metadata (``{}`` when there is none).
    extended_header
        The raw extended header bytes (JSON, FEI, CCP4 symmetry, ...).
    chunk_index
        Offsets and sizes of the compressed z-slices; None for plain MRC.
    findings
        What opening found odd without refusing the file (a missing MAP ID, JSON metadata that was
        ignored, a seek table that was not used); :func:`open_mrc` warns with each.
    """

    path: Path | str
    header: Header
    metadata: dict[str, Any]
    extended_header: bytes
    source: Source = field(repr=False)
    chunk_index: ChunkIndex | None = field(default=None, repr=False)
    findings: tuple[Finding, ...] = field(default=(), repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the data as :func:`read` returns it (z, y, x order)."""
        return self.header.shape

    @property
    def dtype(self) -> np.dtype:
        """dtype of the data as returned (native byte order)."""
        return self.header.dtype.newbyteorder("=")

    @property
    def voxel_size(self) -> tuple[float, float, float]:
        """Voxel size in Å, (z, y, x)."""
        return self.header.voxel_size

    @property
    def tolerance(self) -> float | None:
        """The bound on |stored - original| recorded when the data was written with a tolerance
        (napari-mrcz's label line), in the data's units; None when it was stored exactly."""
        return tolerance_from_labels(self.header.labels)

    @property
    def origin(self) -> tuple[float, float, float]:
        """Position of voxel [0, 0, 0] in Å, (z, y, x), as ChimeraX places it (ORIGIN, else N*START x
        voxel size; see :mod:`napari_mrcz.format.origin`)."""
        return origin_zyx(self.header)

    @functools.cached_property
    def tilt_angles(self) -> np.ndarray | None:
        """Tilt angles in degrees, one per z-slice, from the extended header (FEI1/FEI2, SERI), the JSON
        metadata (``"tilt_angles"``, as conversions carry them) or the ``.mdoc``/``.rawtlt``/``.tlt``
        beside the file; None when unknown (see :mod:`.tilt`)."""
        return file_tilt_angles(self)

    @property
    def nbytes(self) -> int:
        """Bytes of the decompressed data."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    @property
    def compressed_nbytes(self) -> int:
        """Bytes of data as stored (compressed chunks, or the plain data)."""
        if self.chunk_index is not None:
            return self.chunk_index.compressed_nbytes
        return self.header.nz * self.header.slice_nbytes

    def read_slices(self, start: int, stop: int, n_threads: int | None = None) -> np.ndarray:
        """Stored z-slices ``start:stop`` as an array (stop - start, NY, NX), native byte order.

        Raises
        ------
        ChunkError
            A compressed slice is corrupt.
        HeaderError
            The data ends early (the file changed since it was opened).
        """
        h = self.header
        count = max(0, stop - start)
        raw_shape = (count, h.slice_nbytes // h.disk_dtype.itemsize)
        # not zeroed: a short plain read raises, and MrczBlosc.decode writes every byte (zeroing
        # first the chunks blosc2 may leave untouched); a memset would cost 7-10% of a slice read
        raw = np.empty(raw_shape, dtype=h.disk_dtype)
        if self.chunk_index is None:
            got = self.source.readinto(raw, h.data_offset + start * h.slice_nbytes)
            if got != raw.nbytes:
                raise HeaderError(f"{self.path}: truncated: data ends {raw.nbytes - got} bytes early")
        else:
            codec = MrczBlosc(n_threads=n_threads)
            index = self.chunk_index
            offsets, sizes = index.offsets, index.cbytes
            # a remote source fetches the run's chunks in blocks, in parallel, as the threads ask
            pread = self.source.planned([(int(offsets[z]), int(offsets[z] + sizes[z])) for z in range(start, stop)])

            def decode(i: int, threads: int) -> None:
                z = start + i
                src = pread(int(sizes[z]), int(offsets[z]))
                what = f"{self.path}: compressed slice {z}"
                index.check_chunk(z, src, h.slice_nbytes, what)
                codec.decode(src, raw[i], what=what, threads=threads)

            with blosc2_gil_released():
                map_slices(decode, count, codec.threads)
        return self.unpack(raw)

    def unpack(self, raw: np.ndarray) -> np.ndarray:
        """Stored samples (one row per slice) → slices as returned: native byte order, (k, NY, NX),
        complex int16 (mode 3) and 4-bit (mode 101) unpacked."""
        h = self.header
        count = raw.shape[0]
        if h.mrc_mode == 3:
            pairs = raw.reshape(count, h.ny, h.nx, 2).astype(np.float32)
            return (pairs[..., 0] + 1j * pairs[..., 1]).astype(np.complex64)
        if h.mrc_mode == 101:
            rows = raw.reshape(count, h.ny, (h.nx + 1) // 2)
            out = np.empty((count, h.ny, rows.shape[-1] * 2), dtype=np.uint8)
            out[..., 0::2] = rows & 0x0F  # IMOD: the first voxel is in the low nibble
            out[..., 1::2] = rows >> 4
            return out[..., : h.nx]
        arr = raw.reshape(count, h.ny, h.nx)
        if h.unsigned_bytes:
            arr = arr.view(np.uint8)
        if not arr.dtype.isnative:
            arr = arr.byteswap().view(arr.dtype.newbyteorder("="))
        return arr

    def to_output(self, stored: Any) -> Any:
        """Arrange stored slices (numpy or dask, shape (NZ, NY, NX)) as returned: z, y, x; 2-D or 4-D."""
        h = self.header
        data = stored.reshape(h.file_shape)
        lead = data.ndim - 3
        axes = tuple(range(lead)) + tuple(lead + a for a in h.zyx_axes)
        if axes != tuple(range(data.ndim)):
            data = data.transpose(axes)
        return data.reshape(h.shape)

    def close(self) -> None:
        """Release the file descriptor or in-memory copy (lazy arrays reopen the file when computed)."""
        self.source.close()

    def __enter__(self) -> MrcFileInfo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_mrc(
    path: PathLike, *, strict: Strictness = "auto", storage_options: dict[str, Any] | None = None,
    warn: bool = True,
) -> MrcFileInfo:
    """Open an MRC or MRCZ file (also ``.gz``/``.bz2`` of one) without reading its voxels.

    Parameters
    ----------
    path
        The file (str, bytes or os.PathLike), or a URL fsspec opens (``https://``, ``s3://``,
        ``gs://``, ...; needs ``napari-mrcz[remote]``). An HTTP open costs one request for the
        header block (which also gives the size and the validators), and for MRCZ one for the seek
        table plus a parallel batch checking the chunk header at each of its entries (files without
        one are indexed by walking their chunk headers with read-ahead).
    strict
        Files without the ``MAP `` ID and machine stamp (old-style MRC, Amira): True refuses them;
        "auto" (default) opens them with a :class:`MrczWarning` where the header agrees exactly with
        the file (dimensions, mode and size), as ChimeraX and IMOD do; False opens any whose data
        can be read, with the warning.
    storage_options
        For URLs: options of the fsspec filesystem (e.g. ``{"anon": True}`` for a public S3 bucket).
    warn
        Warn with each of the file's :attr:`~MrcFileInfo.findings` (an :class:`MrczWarning`); False
        leaves them to the caller (:func:`napari_mrcz.validate` lists them).

    Raises
    ------
    MrczError
        The file is not a readable MRC/MRCZ file; the message says why. For URLs also any network
        or server failure (:class:`~napari_mrcz.io.storage.remote.RemoteError`), and gzip/bzip2 files.
    OSError
        The file cannot be opened.
    """
    location, source = open_source(path, storage_options)
    try:
        return mrc_from_source(location, source, strict=strict, warn=warn)
    except BaseException:
        source.close()
        raise


def mrc_from_source(path: Path | str, source: Source, *, strict: Strictness = "auto", warn: bool = True) -> MrcFileInfo:
    """An opened file from its source (:func:`~napari_mrcz.io.storage.opening.open_source`); ``path``
    names it in messages. Raises and warns as :func:`open_mrc`."""
    info = _mrc_from_source(path, source, strict)
    if warn:
        for finding in info.findings:
            finding.warn(stacklevel=3)
    return info


def _mrc_from_source(path: Path | str, source: Source, strict: Strictness) -> MrcFileInfo:
    name = str(path)
    head = source.pread(HEADER_BYTES, 0)
    header, identity = check_header(head, name, strict=strict, file_size=source.size)
    if header.data_offset > source.size:
        raise HeaderError(
            f"{name}: NSYMBT={header.nsymbt} points past the end of the file "
            f"(the extended header would end at byte {header.data_offset}, the file has {source.size})"
        )
    extended = source.pread(header.nsymbt, HEADER_BYTES)
    metadata, ignored = check_metadata(extended, header.exttyp, name)
    index, unused_table = None, None
    if header.compressor:
        index, unused_table = index_chunks(source, header, name)
    elif header.plain_end > source.size:
        need = header.nz * header.slice_nbytes
        raise HeaderError(
            f"{name}: truncated: the header implies {need} bytes of data from byte "
            f"{header.data_offset}, but the file ends at byte {source.size}"
        )
    findings = tuple(f for f in (identity, ignored, unused_table) if f is not None)
    return MrcFileInfo(path, header, metadata, extended, source, index, findings)
