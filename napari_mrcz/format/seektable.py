"""The seek table: an index of an MRCZ file's compressed z-slices, stored after the last chunk.

MRCZ has no index of its own: finding slice z means walking z blosc chunk headers, one round trip
each over a network. Files napari-mrcz writes end with this trailer, which lists every chunk's
compressed size, so one read of it locates every slice. It is found from a field every MRCZ writer
fills (mrcz 0.6.0 too): the total compressed size at byte 144 (``packed_bytes``), which says where
the chunks end and the trailer starts::

    offset        size    field (little-endian)
    0             8       magic b"MRCZSEEK"
    8             4       version (1)
    12            4       flags (0; reserved)
    16            8       NZ: entries in the table
    24            8       data offset: 1024 + NSYMBT, where chunk 0 starts
    32            8       slice bytes: NX x NY x sample size, each chunk's decompressed size
    40            8       packed bytes: the sum of the entries, as at header byte 144
    48            8 x NZ  compressed size of chunk z (uint64); chunk z starts at data offset + sum of those before
    48 + 8 NZ     4       CRC-32 (zlib) of every byte above

Readers that do not know the trailer (mrcz, RosettaSciIO) read exactly ``packed_bytes`` after the
extended header and never look further, so the file stays bit-for-bit readable by them. The table
repeats the header fields it depends on, so a header rewritten by another tool (new NSYMBT, NZ,
mode or data) no longer matches and the table is ignored rather than trusted.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ..errors import ChunkError
from .constants import BLOSC1_HEADER_BYTES

MAGIC = b"MRCZSEEK"
VERSION = 1
_HEAD = struct.Struct("<8sIIQQQQ")
_CRC = struct.Struct("<I")


class SeekTableError(ChunkError):
    """A seek table is present but does not verify (corrupt, stale, or inconsistent with the header)."""


def trailer_nbytes(nz: int) -> int:
    """Bytes of the trailer for ``nz`` slices."""
    return _HEAD.size + 8 * nz + _CRC.size


def encode(*, data_offset: int, slice_nbytes: int, cbytes: np.ndarray | list[int]) -> bytes:
    """The trailer for chunks of ``cbytes`` compressed bytes each, stored back to back from ``data_offset``."""
    sizes = np.asarray(cbytes, dtype="<u8")
    head = _HEAD.pack(MAGIC, VERSION, 0, len(sizes), data_offset, slice_nbytes, int(sizes.sum()))
    body = head + sizes.tobytes()
    return body + _CRC.pack(zlib.crc32(body))


def is_trailer(raw: bytes) -> bool:
    """True when ``raw`` starts with the trailer's magic (it may still fail to verify)."""
    return raw[: len(MAGIC)] == MAGIC


def decode(raw: bytes, *, nz: int, data_offset: int, slice_nbytes: int, packed_bytes: int) -> np.ndarray:
    """The compressed size of each chunk (int64, NZ entries), after verifying the trailer.

    The other arguments are what the file's header says; the trailer must agree with every one.

    Raises
    ------
    SeekTableError
        ``raw`` is not a whole trailer of this version, its CRC-32 does not match, it disagrees with
        the header, or an entry is smaller than a blosc chunk header. The message says which.
    """
    if len(raw) != trailer_nbytes(nz):
        raise SeekTableError(f"it holds {len(raw)} bytes, {trailer_nbytes(nz)} expected for NZ={nz}")
    magic, version, _flags, t_nz, t_offset, t_slice, t_packed = _HEAD.unpack_from(raw)
    if magic != MAGIC:
        raise SeekTableError(f"magic {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise SeekTableError(f"version {version} is unknown (this reader knows {VERSION})")
    (crc,) = _CRC.unpack_from(raw, len(raw) - _CRC.size)
    if zlib.crc32(raw[: -_CRC.size]) != crc:
        raise SeekTableError("its CRC-32 does not match its contents")
    found = {"NZ": t_nz, "data offset": t_offset, "slice bytes": t_slice, "packed bytes": t_packed}
    header = {"NZ": nz, "data offset": data_offset, "slice bytes": slice_nbytes, "packed bytes": packed_bytes}
    for name, value in found.items():
        if value != header[name]:
            raise SeekTableError(f"it was written for {name} {value}, the header says {header[name]}")
    sizes = np.frombuffer(raw, dtype="<u8", count=nz, offset=_HEAD.size)
    if nz and int(sizes.min()) < BLOSC1_HEADER_BYTES:
        z = int(np.argmin(sizes))
        raise SeekTableError(f"entry {z} is {int(sizes[z])} bytes, smaller than a blosc chunk header")
    # every running sum stays <= packed_bytes < 2**63, so none of the uint64 sums can wrap around
    running = np.cumsum(sizes, dtype=np.uint64)
    if nz and (int(sizes.max()) > packed_bytes or int(running.max()) > packed_bytes or int(running[-1]) != packed_bytes):
        raise SeekTableError(f"its entries do not add up to the {packed_bytes} packed bytes")
    return sizes.astype(np.int64)


def offsets_from_sizes(data_offset: int, cbytes: np.ndarray) -> np.ndarray:
    """Start of each chunk (int64): chunks are stored back to back from ``data_offset``."""
    offsets = np.empty(len(cbytes), dtype=np.int64)
    offsets[:1] = data_offset
    np.cumsum(cbytes[:-1], out=offsets[1:])
    offsets[1:] += data_offset
    return offsets
