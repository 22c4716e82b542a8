"""The chunk index of an MRCZ file: where each compressed z-slice starts and how long it is.

MRCZ stores one blosc chunk per z-slice, back to back, with no index. Every chunk starts with a
blosc header whose fields are little-endian in both blosc1 and blosc2 formats (mrcz 0.6.0
``readBloscHeader`` draws the same diagram)::

    |-0-|-1-|-2-|-3-|-4-|-5-|-6-|-7-|-8-|-9-|-A-|-B-|-C-|-D-|-E-|-F-|
    ^   ^   ^   ^ |     nbytes    |   blocksize   |    cbytes     |
    |   |   |   +-- typesize
    |   |   +------ flags (bits 5-7: codec of a blosc1 chunk)
    |   +---------- codec format version
    +-------------- blosc format version: 1-2 blosc1 (16-byte header), 3-5 blosc2 (32 bytes)

Walking these headers indexes a file in microseconds per slice without decompressing anything.
Every field is checked against the header and the file length here, so blosc (C code) is only ever
handed a chunk whose sizes are consistent.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .constants import BLOSC1_HEADER_BYTES, BLOSC2_HEADER_BYTES
from ..errors import ChunkError, UnsupportedError

_CHUNK_HEADER = struct.Struct("<BBBBIII")
BLOSC1_SNAPPY = 2  # blosc1 flags >> 5: 0 blosclz, 1 lz4/lz4hc, 2 snappy, 3 zlib, 4 zstd
# flags >> 5 values no MRCZ writer uses: reserved (5), a plugin or user-defined codec (6: c-blosc2 then
# looks for its library, even by running a Python interpreter) and a super-chunk's codec (7)
FOREIGN_CODECS = frozenset({5, 6, 7})
BLOSC_BOTH_SHUFFLES = 0x05  # byte-shuffle | bitshuffle: blosc1 never sets both (blosc2 reads "extended header")


@dataclass(frozen=True)
class ChunkHeader:
    """The fixed part of a blosc chunk header."""

    version: int
    versionlz: int
    flags: int
    typesize: int
    nbytes: int
    blocksize: int
    cbytes: int

    @property
    def fills_output(self) -> bool:
        """True when a successful decode writes every output byte: a blosc1 chunk (as mrcz and
        napari-mrcz write) of a power-of-two type size that divides its sizes. blosc2 leaves the output
        of some chunks untouched ("uninitialised" special chunks, odd type sizes), so for any other
        chunk the reader zeroes the output first, and never returns what the memory held before."""
        ts = self.typesize
        return self.version <= 2 and ts in (1, 2, 4, 8) and not (self.nbytes % ts or self.blocksize % ts)

    @property
    def min_cbytes(self) -> int:
        """The size of the chunk's own header, which its total size must at least cover."""
        return BLOSC1_HEADER_BYTES if self.version <= 2 else BLOSC2_HEADER_BYTES


def parse_chunk_header(raw: bytes) -> ChunkHeader:
    """Decode the first 16 bytes of a blosc chunk (no validation)."""
    return ChunkHeader(*_CHUNK_HEADER.unpack_from(raw))


def check_chunk_header(raw: bytes, slice_nbytes: int, where: str) -> ChunkHeader:
    """Decode a chunk's first 16 bytes and check them before blosc (C code) sees the chunk.

    Raises
    ------
    ChunkError
        Not a blosc chunk, both shuffles set in a blosc1 chunk, a decompressed size other than
        ``slice_nbytes``, or a compressed size smaller than the chunk's own header.
    UnsupportedError
        A blosc1 chunk compressed with snappy (no longer decodable by blosc2), or a chunk naming a
        reserved, plugin or user-defined codec (never loaded for a file).
    """
    ch = parse_chunk_header(raw)
    if not 1 <= ch.version <= 5 or ch.typesize == 0:
        raise ChunkError(f"{where}: not a blosc chunk (version {ch.version}, typesize {ch.typesize})")
    if ch.version <= 2 and ch.flags & BLOSC_BOTH_SHUFFLES == BLOSC_BOTH_SHUFFLES:
        raise ChunkError(f"{where}: flags 0x{ch.flags:02x} set both byte-shuffle and bitshuffle")
    if ch.version <= 2 and ch.flags >> 5 == BLOSC1_SNAPPY:
        raise UnsupportedError(f"{where}: compressed with snappy, which blosc2 cannot decode")
    if ch.flags >> 5 in FOREIGN_CODECS:
        raise UnsupportedError(
            f"{where}: codec id {ch.flags >> 5} is a reserved, plugin or user-defined blosc codec, "
            "which napari-mrcz does not load from a file"
        )
    if ch.nbytes != slice_nbytes:
        raise ChunkError(f"{where}: decompresses to {ch.nbytes} bytes, but a slice holds {slice_nbytes}")
    if ch.cbytes < ch.min_cbytes:
        raise ChunkError(f"{where}: compressed size {ch.cbytes} is smaller than its header")
    return ch


@dataclass(frozen=True)
class ChunkIndex:
    """Byte offset and compressed length of each z-slice's chunk, in slice order.

    ``trailer_nbytes`` is the size of the verified seek table after the last chunk (0: the index was
    built by walking the chunk headers).
    """

    offsets: np.ndarray
    cbytes: np.ndarray
    trailer_nbytes: int = 0

    def __len__(self) -> int:
        return len(self.offsets)

    def check_chunk(self, z: int, raw: bytes, slice_nbytes: int, where: str) -> None:
        """Check chunk ``z``'s bytes, as read, against the index and the header (the only check a seek
        table's entries get before blosc sees them).

        Raises
        ------
        ChunkError, UnsupportedError
            Fewer bytes than indexed (the file changed, or a truncated transfer), or a header that
            :meth:`check_header` rejects.
        """
        want = int(self.cbytes[z])
        if len(raw) < want:
            raise ChunkError(f"{where}: truncated, {len(raw)} of its {want} compressed bytes were read")
        self.check_header(z, raw, slice_nbytes, where)

    def check_header(self, z: int, raw: bytes, slice_nbytes: int, where: str) -> ChunkHeader:
        """Check the first 16 bytes of chunk ``z`` (``raw`` may hold more) against the index: every read
        path calls this (or :meth:`check_chunk`) before it decodes anything of the chunk.

        Raises
        ------
        ChunkError, UnsupportedError
            A header cut off, one :func:`check_chunk_header` rejects, or one whose compressed size
            differs from the index's (the index, or the file, is not what it was).
        """
        if len(raw) < BLOSC1_HEADER_BYTES:
            raise ChunkError(f"{where}: truncated, {len(raw)} bytes of its {BLOSC1_HEADER_BYTES}-byte header were read")
        ch = check_chunk_header(raw[:BLOSC1_HEADER_BYTES], slice_nbytes, where)
        want = int(self.cbytes[z])
        if ch.cbytes != want:
            kind = "seek table" if self.trailer_nbytes else "index"
            raise ChunkError(f"{where}: its header says {ch.cbytes} compressed bytes, the {kind} {want}")
        return ch

    @property
    def compressed_nbytes(self) -> int:
        """Total bytes of all chunks."""
        return int(self.cbytes.sum())

    @classmethod
    def build(
        cls,
        pread: Callable[[int, int], bytes],
        *,
        start: int,
        count: int,
        slice_nbytes: int,
        file_size: int,
        source: str,
    ) -> ChunkIndex:
        """Walk ``count`` chunks from byte ``start``; ``pread(n, offset)`` reads the file.

        Raises
        ------
        ChunkError
            A chunk header is cut off, claims a decompressed size other than ``slice_nbytes``,
            a compressed size smaller than its header or reaching past the end of the file, or the
            file ends before ``count`` chunks.
        UnsupportedError
            A blosc1 chunk compressed with snappy (no longer decodable by blosc2).
        """
        if count > (file_size - start) // BLOSC1_HEADER_BYTES:  # before allocating the index
            raise ChunkError(
                f"{source}: NZ={count} compressed slices cannot fit in the "
                f"{max(0, file_size - start)} bytes after byte {start}"
            )
        offsets = np.empty(count, dtype=np.int64)
        sizes = np.empty(count, dtype=np.int64)
        pos = start
        for i in range(count):
            where = f"{source}: compressed slice {i} of {count} at byte {pos}"
            if pos >= file_size:
                raise ChunkError(f"{source}: file ends at byte {file_size} after {i} of {count} compressed slices")
            raw = pread(BLOSC1_HEADER_BYTES, pos)
            if len(raw) < BLOSC1_HEADER_BYTES:
                raise ChunkError(f"{where}: truncated, the file ends at byte {file_size} inside its header")
            ch = check_chunk_header(raw, slice_nbytes, where)
            if pos + ch.cbytes > file_size:
                raise ChunkError(
                    f"{where}: truncated, it claims {ch.cbytes} compressed bytes "
                    f"but the file ends at byte {file_size}"
                )
            offsets[i], sizes[i] = pos, ch.cbytes
            pos += ch.cbytes
        return cls(offsets, sizes)
