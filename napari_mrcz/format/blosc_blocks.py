"""Where the blocks of one blosc chunk are: what a partial decode needs to read.

blosc splits a chunk into independent blocks of ``blocksize`` bytes (the last one shorter), each
shuffled and compressed on its own, so a byte range of the decompressed chunk needs only the blocks it
overlaps. The layout (c-blosc2 ``README_CHUNK_FORMAT.rst``; all integers little-endian)::

    | header: 16 bytes (blosc1), 32 (blosc2 extended) | bstarts: int32 × nblocks | [dict] | blocks |

``bstarts[j]`` is where block j starts, counted from the chunk's first byte. Blocks are stored back
to back but not necessarily in order (blosc1's threads append them as they finish), so block j ends
where the next-higher start begins, or at the end of the chunk. A chunk stored without compression
(flag ``0x02``, "memcpyed") has no bstarts: the raw bytes follow the header.

Pure functions over bytes; :mod:`napari_mrcz.io.reader.partial` reads the bytes and hands them to c-blosc2.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import ChunkError
from .chunks import BLOSC_BOTH_SHUFFLES, parse_chunk_header
from .constants import BLOSC1_HEADER_BYTES, BLOSC2_HEADER_BYTES

FLAG_MEMCPYED = 0x02
FLAG_DELTA = 0x08  # blosc1 delta filter: a block is decoded against block 0
PLAIN_FILTERS = frozenset({0, 1, 2})  # blosc2 filter ids: none, byte-shuffle, bitshuffle
BLOSC2_USEDICT = 0x01  # blosc2_flags: a zstd dictionary follows bstarts
# blosc2_flags bits a partial read does not handle: header extension (0x02), codec in a preceding
# byte (0x04), lazy chunk (0x08), special values (0x70: zeros, NaN, a repeated value, uninitialised)
BLOSC2_WHOLE_CHUNK_FLAGS = 0x7E
BLOSC2_VL_BLOCKS = 0x01  # blosc2_flags2: variable-length blocks
# flags >> 5: blosclz, lz4/lz4hc, zlib, zstd; not snappy (2), reserved (5), a plugin codec (6: c-blosc2
# may go looking for its library) or one defined by a super-chunk (7)
BUILT_IN_CODECS = frozenset({0, 1, 3, 4})
_FILTERS = struct.Struct("<6B")


@dataclass(frozen=True)
class BlockLayout:
    """The block structure of one chunk, as its header states it (checked against the chunk size).

    Attributes
    ----------
    header_bytes
        16 (blosc1 header) or 32 (blosc2 extended header).
    blocksize, nblocks, typesize, nbytes, cbytes
        From the chunk header; ``nblocks = ceil(nbytes / blocksize)``.
    memcpyed
        The data is stored raw after the header (no bstarts, no compression).
    uses_dict
        A dictionary sits between bstarts and the first block; it must be read with any block.
    """

    header_bytes: int
    blocksize: int
    nblocks: int
    typesize: int
    nbytes: int
    cbytes: int
    memcpyed: bool
    uses_dict: bool

    @property
    def table_end(self) -> int:
        """Byte after the bstarts table (the header alone for memcpyed chunks)."""
        return self.header_bytes + (0 if self.memcpyed else 4 * self.nblocks)


def block_layout(head: bytes, what: str) -> BlockLayout | None:
    """The layout of a chunk from its first 32 bytes (or all of it, if shorter); None when a partial
    read should decode the whole chunk instead: delta or other non-shuffle filters (a block is
    decoded against block 0), special-value, lazy or variable-length-block chunks, header
    extensions, codecs other than blosclz, lz4, zlib and zstd.

    Raises
    ------
    ChunkError
        The header is cut off, or its block size, block count or table cannot fit in the chunk.
    """
    if len(head) < BLOSC1_HEADER_BYTES:
        raise ChunkError(f"{what}: {len(head)} bytes is too short for a blosc chunk header")
    ch = parse_chunk_header(head)
    if ch.typesize == 0:
        raise ChunkError(f"{what}: type size 0: not a blosc chunk")
    if ch.flags >> 5 not in BUILT_IN_CODECS:
        return None
    extended = ch.flags & BLOSC_BOTH_SHUFFLES == BLOSC_BOTH_SHUFFLES
    header_bytes = BLOSC2_HEADER_BYTES if extended else BLOSC1_HEADER_BYTES
    uses_dict = False
    if extended:
        if len(head) < BLOSC2_HEADER_BYTES or ch.cbytes < BLOSC2_HEADER_BYTES:
            raise ChunkError(f"{what}: the blosc2 chunk header is cut off")
        filters = _FILTERS.unpack_from(head, 16)
        flags2, flags = head[30], head[31]
        if not PLAIN_FILTERS.issuperset(filters) or flags & BLOSC2_WHOLE_CHUNK_FLAGS or flags2 & BLOSC2_VL_BLOCKS:
            return None
        uses_dict = bool(flags & BLOSC2_USEDICT)
    elif ch.flags & FLAG_DELTA:
        return None
    if ch.blocksize <= 0 or ch.cbytes < header_bytes:
        raise ChunkError(f"{what}: block size {ch.blocksize}, {ch.cbytes} bytes: not a valid chunk header")
    nblocks = -(-ch.nbytes // ch.blocksize) if ch.nbytes else 0
    memcpyed = bool(ch.flags & FLAG_MEMCPYED)
    layout = BlockLayout(header_bytes, ch.blocksize, nblocks, ch.typesize, ch.nbytes, ch.cbytes, memcpyed, uses_dict)
    need = layout.table_end + (ch.nbytes if memcpyed else 0)
    if need > ch.cbytes:
        raise ChunkError(
            f"{what}: {nblocks} blocks of {ch.blocksize} bytes need {need} bytes of chunk, it has {ch.cbytes}"
        )
    return layout


def block_starts(layout: BlockLayout, table: bytes, what: str) -> np.ndarray:
    """bstarts (int64) from the chunk's first ``layout.table_end`` bytes.

    Raises
    ------
    ChunkError
        A block starts inside the header and table or at or past the end of the chunk.
    """
    starts = np.frombuffer(table, dtype="<i4", count=layout.nblocks, offset=layout.header_bytes).astype(np.int64)
    bad = np.flatnonzero((starts < layout.table_end) | (starts >= layout.cbytes))
    if bad.size:
        j = int(bad[0])
        raise ChunkError(
            f"{what}: block {j} starts at byte {int(starts[j])}, outside the chunk's data "
            f"(bytes {layout.table_end} to {layout.cbytes})"
        )
    return starts


def block_extents(layout: BlockLayout, starts: np.ndarray, first: int, last: int) -> list[tuple[int, int]]:
    """Byte ranges [start, end) of the chunk holding blocks ``first..last`` (inclusive), merged where
    they touch. A block ends where the next-higher start begins (or at the end of the chunk)."""
    ordered = np.unique(starts)
    ends = np.append(ordered[1:], layout.cbytes)
    wanted = sorted({int(starts[j]) for j in range(first, last + 1)})
    ranges: list[tuple[int, int]] = []
    for start in wanted:
        end = int(ends[np.searchsorted(ordered, start)])
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges


def prefix_bytes(layout: BlockLayout, starts: np.ndarray | None) -> int:
    """Bytes from the chunk's start every partial read needs: header, bstarts and any dictionary."""
    if starts is not None and layout.uses_dict and starts.size:
        return int(starts.min())
    return layout.table_end


def compact_chunk(layout: BlockLayout, prefix: bytes, starts: np.ndarray, extents: list[tuple[int, int]],
                  fill: Callable[[int, int, np.ndarray], None]) -> np.ndarray:
    """A smaller chunk (uint8 array) that decodes the same bytes as the original over the blocks in
    ``extents``: the original's first ``prefix_bytes`` (header, table, dictionary) followed by the
    original bytes of each extent, which ``fill(lo, hi, out)`` puts into ``out`` (hi − lo bytes, in
    place: no copy of the chunk is made), with bstarts of those blocks moved to where they now are,
    the others pointing at the end of the table (never decoded), and cbytes set to the new length.

    A block whose data ran past its extent in the original (which blosc never writes) now runs into
    the next piece or past the end, where c-blosc2's bounds checks stop it.
    """
    moved = np.full(layout.nblocks, layout.table_end, dtype="<i4")
    places, at = [], len(prefix)
    for lo, hi in extents:
        inside = (starts >= lo) & (starts < hi)
        moved[inside] = (starts[inside] - lo + at).astype("<i4")
        places.append(at)
        at += hi - lo
    out = np.empty(at, dtype=np.uint8)  # numpy's large allocations are cheap to fault in (huge pages)
    out[: len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    for (lo, hi), place in zip(extents, places):
        fill(lo, hi, out[place : place + hi - lo])
    out[layout.header_bytes : layout.table_end] = moved.view(np.uint8)
    out[12:16] = np.frombuffer(struct.pack("<I", at), dtype=np.uint8)
    return out
