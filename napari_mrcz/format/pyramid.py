"""The stored pyramid: downsampled levels of an MRCZ file's data, stored after its seek table.

Bytes only, no I/O (the layout is described in ``docs/format-pyramid.md``). The pyramid starts
where the seek table (:mod:`.seektable`) ends, which the header's packed size at byte 144 locates::

    pyramid start = data offset + packed bytes + seektable.trailer_nbytes(NZ)

and runs to the end of the file: an index, then every level's chunks back to back (level 1 first,
each level's chunks in C order over its chunk grid (z, y, x)). Each chunk is one blosc1 chunk
holding a box of the level, C order, little-endian, clipped at the level's edges. The index::

    offset  size      field (little-endian)
    0       8         magic b"MRCZPYRM"
    8       4         version (1)
    12      4         flags: bits 0-7 the mantissa bits float levels keep (0: exact means); rest 0
    16      8         index bytes (this whole index, CRC included)
    24      16        header echo: NX, NY, NZ, MODE (uint32 each)
    40      8         data offset (1024 + NSYMBT)
    48      8         packed bytes (header byte 144)
    56      4         CRC-32 of the seek table's bytes
    60      4         CRC-32 of the first and the last data chunk's first 1024 bytes
    64      4         number of levels L
    68      4         MRC mode of the level samples
    72      8         file bytes: where the pyramid, and the file, end
    80      24 x L    per level: shape z, y, x; chunk shape z, y, x (uint32 each)
    ...     8 x C     per chunk: compressed bytes, CRC-32 of those bytes (uint32 each)
    ...     4         CRC-32 (zlib) of every byte above

Readers that do not know the pyramid (mrcz, RosettaSciIO, seek-table-only readers) stop at the data
or the seek table and never see it. A pyramid is trusted only when every field agrees with the file
it sits in: the index's CRC, the header echo, the seek table's and data chunks' fingerprints (a file
whose data was rewritten by another tool no longer matches), and the file ending exactly where the
pyramid does (a file appended to, or truncated, does not).
"""

from __future__ import annotations

import functools
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import ChunkError
from .constants import BLOSC1_HEADER_BYTES
from .seektable import trailer_nbytes

MAGIC = b"MRCZPYRM"
VERSION = 1
MAX_LEVELS = 32
FINGERPRINT_BYTES = 1024
"""Bytes at the start of the first and the last data chunk covered by the data fingerprint (the
blosc header and block table: they change when the data does)."""
_HEAD = struct.Struct("<8sIIQIIIIQQIIIIQ")
_LEVEL = struct.Struct("<IIIIII")
_CRC = struct.Struct("<I")
HEAD_BYTES = _HEAD.size
_ENTRY = np.dtype([("cbytes", "<u4"), ("crc", "<u4")])
_BLOSC_OVERHEAD = 1024  # a blosc1 chunk is at most its data plus header, block table and a margin


class PyramidError(ChunkError):
    """A stored pyramid is present but does not verify (corrupt, forged, or stale)."""


@dataclass(frozen=True)
class Level:
    """One stored level: its shape (z, y, x) and the shape of its chunks (z, y, x)."""

    shape: tuple[int, int, int]
    chunk: tuple[int, int, int]

    @functools.cached_property
    def grid(self) -> tuple[int, int, int]:
        """Chunks along z, y and x."""
        return tuple(-(-n // c) for n, c in zip(self.shape, self.chunk))  # type: ignore[return-value]

    @property
    def nchunks(self) -> int:
        gz, gy, gx = self.grid
        return gz * gy * gx

    def chunk_box(self, index: int) -> tuple[slice, slice, slice]:
        """The box of the level chunk ``index`` (C order over :attr:`grid`) covers, clipped at the edges."""
        _, gy, gx = self.grid
        z, rest = divmod(index, gy * gx)
        y, x = divmod(rest, gx)
        (cz, cy, cx), (nz, ny, nx) = self.chunk, self.shape
        return (slice(z * cz, min(nz, (z + 1) * cz)), slice(y * cy, min(ny, (y + 1) * cy)),
                slice(x * cx, min(nx, (x + 1) * cx)))


@dataclass(frozen=True)
class Echo:
    """What the pyramid was written for: header fields and fingerprints of the data and seek table."""

    nx: int
    ny: int
    nz: int
    mode: int
    data_offset: int
    packed_bytes: int
    seek_crc: int
    data_crc: int


@dataclass(frozen=True)
class PyramidIndex:
    """A verified pyramid index.

    Attributes
    ----------
    levels
        Levels 1, 2, ... (level 0 is the file's data).
    sample_mode
        MRC mode of the level samples (stored little-endian).
    offsets, cbytes, crcs
        Per chunk, all levels in order: file offset, compressed bytes, CRC-32 of those bytes.
    first
        Index into ``offsets`` of each level's first chunk.
    mantissa_bits
        Explicit mantissa bits the float levels were rounded to (0: exact means; informational).
    """

    levels: tuple[Level, ...]
    sample_mode: int
    offsets: np.ndarray
    cbytes: np.ndarray
    crcs: np.ndarray
    first: tuple[int, ...]
    mantissa_bits: int = 0


def pyramid_start(data_offset: int, packed_bytes: int, nz: int) -> int:
    """Where the pyramid starts: right after the seek table."""
    return data_offset + packed_bytes + trailer_nbytes(nz)


def index_nbytes(levels: list[Level] | tuple[Level, ...]) -> int:
    """Bytes of the index for these levels."""
    return _HEAD.size + _LEVEL.size * len(levels) + _ENTRY.itemsize * sum(lv.nchunks for lv in levels) + _CRC.size


def data_fingerprint(first_chunk_head: bytes, last_chunk_head: bytes) -> int:
    """CRC-32 over the first :data:`FINGERPRINT_BYTES` of the first and the last data chunk."""
    return zlib.crc32(last_chunk_head[:FINGERPRINT_BYTES], zlib.crc32(first_chunk_head[:FINGERPRINT_BYTES]))


def encode_index(echo: Echo, levels: list[Level], sample_mode: int, cbytes: np.ndarray, crcs: np.ndarray,
                 start: int, mantissa_bits: int = 0) -> bytes:
    """The index of a pyramid starting at byte ``start`` whose chunks (all levels, in order) have
    ``cbytes`` compressed bytes and CRC-32s ``crcs``, float levels rounded to ``mantissa_bits``."""
    entries = np.empty(len(cbytes), dtype=_ENTRY)
    entries["cbytes"], entries["crc"] = cbytes, crcs
    size = index_nbytes(levels)
    end = start + size + int(np.sum(cbytes, dtype=np.int64))
    head = _HEAD.pack(MAGIC, VERSION, mantissa_bits & 0xFF, size, echo.nx, echo.ny, echo.nz, echo.mode, echo.data_offset,
                      echo.packed_bytes, echo.seek_crc, echo.data_crc, len(levels), sample_mode, end)
    body = head + b"".join(_LEVEL.pack(*lv.shape, *lv.chunk) for lv in levels) + entries.tobytes()
    return body + _CRC.pack(zlib.crc32(body))


def is_pyramid(raw: bytes) -> bool:
    """True when ``raw`` starts with the pyramid's magic (it may still fail to verify)."""
    return raw[: len(MAGIC)] == MAGIC


def head_index_nbytes(raw: bytes) -> int:
    """The index size the head in ``raw`` (at least :data:`HEAD_BYTES` bytes) claims (unverified)."""
    return int(_HEAD.unpack_from(raw)[3])


def decode_index(raw: bytes, echo: Echo, *, start: int, file_size: int, halve_z: bool,
                 max_chunk_bytes: int = 2**30) -> PyramidIndex:
    """Verify the index in ``raw`` (exactly :func:`head_index_nbytes` bytes) against the file.

    Parameters
    ----------
    echo
        What the file's header, seek table and data chunks say now.
    start, file_size
        Where the index sits and the file's size.
    halve_z
        Whether each level halves z (volumes) or keeps it (image stacks, single images).
    max_chunk_bytes
        Largest decompressed chunk accepted.

    Raises
    ------
    PyramidError
        Anything disagrees; the message says what.
    """
    if len(raw) < _HEAD.size + _CRC.size or not is_pyramid(raw):
        raise PyramidError("it is not a pyramid index")
    (_, version, flags, size, nx, ny, nz, mode, data_offset, packed, seek_crc, data_crc, nlevels,
     sample_mode, end) = _HEAD.unpack_from(raw)
    if version != VERSION:
        raise PyramidError(f"version {version} is unknown (this reader knows {VERSION})")
    if size != len(raw):
        raise PyramidError(f"it claims {size} bytes, {len(raw)} were read")
    (crc,) = _CRC.unpack_from(raw, len(raw) - _CRC.size)
    if zlib.crc32(raw[: -_CRC.size]) != crc:
        raise PyramidError("its CRC-32 does not match its contents")
    found = Echo(nx, ny, nz, mode, data_offset, packed, seek_crc, data_crc)
    for name in ("nx", "ny", "nz", "mode", "data_offset", "packed_bytes", "seek_crc", "data_crc"):
        if getattr(found, name) != getattr(echo, name):
            what = name.replace("_", " ")
            raise PyramidError(f"it was written for {what} {getattr(found, name)}, the file has {getattr(echo, name)}")
    if end != file_size:
        raise PyramidError(f"it ends at byte {end}, the file at byte {file_size} (the file was changed)")
    if not 1 <= nlevels <= MAX_LEVELS or _HEAD.size + _LEVEL.size * nlevels > len(raw):
        raise PyramidError(f"{nlevels} levels is not a valid count")
    levels, shape = [], (nz, ny, nx)
    for k in range(nlevels):
        fields = _LEVEL.unpack_from(raw, _HEAD.size + _LEVEL.size * k)
        want = ((shape[0] + 1) // 2 if halve_z else shape[0], (shape[1] + 1) // 2, (shape[2] + 1) // 2)
        level = Level(fields[:3], fields[3:])
        if level.shape != want:
            raise PyramidError(f"level {k + 1} has shape {level.shape}, halving {shape} gives {want}")
        if not all(1 <= c <= n for c, n in zip(level.chunk, level.shape)):
            raise PyramidError(f"level {k + 1} has chunks {level.chunk} that do not fit its shape {level.shape}")
        levels.append(level)
        shape = want
    if size != index_nbytes(levels):
        raise PyramidError(f"it holds {size} bytes, {index_nbytes(levels)} expected for its levels")
    entries = np.frombuffer(raw, dtype=_ENTRY, count=sum(lv.nchunks for lv in levels),
                            offset=_HEAD.size + _LEVEL.size * nlevels)
    cbytes = entries["cbytes"].astype(np.int64)
    first = np.cumsum([0] + [lv.nchunks for lv in levels])
    for k, level in enumerate(levels):
        raw_bytes = int(np.prod(level.chunk, dtype=np.int64))
        part = cbytes[first[k] : first[k + 1]]
        if raw_bytes * 16 > max_chunk_bytes:  # 16: the largest sample
            raise PyramidError(f"level {k + 1} has chunks of {level.chunk} samples, too large")
        if part.size and (part.min() < BLOSC1_HEADER_BYTES or part.max() > raw_bytes * 16 + _BLOSC_OVERHEAD):
            raise PyramidError(f"level {k + 1} lists a chunk size that no chunk of {level.chunk} samples has")
    offsets = np.empty_like(cbytes)
    offsets[:1] = start + size
    np.cumsum(cbytes[:-1], out=offsets[1:])
    offsets[1:] += start + size
    if start + size + int(cbytes.sum()) != file_size:
        raise PyramidError(f"its chunks do not end where the file does (byte {file_size})")
    return PyramidIndex(tuple(levels), int(sample_mode), offsets, cbytes, entries["crc"].astype(np.int64),
                        tuple(int(f) for f in first[:-1]), flags & 0xFF)


def check_chunk(index: PyramidIndex, i: int, raw: bytes, what: str) -> None:
    """Raise :class:`PyramidError` unless ``raw`` is chunk ``i`` as the index lists it (size, CRC-32)."""
    if len(raw) != index.cbytes[i] or zlib.crc32(raw) != index.crcs[i]:
        raise PyramidError(f"{what}: its bytes do not match the pyramid index (size or CRC-32)")
