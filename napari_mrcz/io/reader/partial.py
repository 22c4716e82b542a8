"""Partial decode: rows of compressed z-slices without decompressing whole slices.

An x-z slice (``data[:, y, :]``) needs one row of every z-slice; decompressing every slice for it
costs the whole file. blosc chunks are made of independent blocks, so only the blocks holding the
wanted rows are read from the file and decoded, by c-blosc2's own ``blosc2_getitem`` (from the
shared library python-blosc2 ships; blosc is not re-implemented here). Shuffle is applied per block,
so this works for every shuffle.

Chunks that must be decoded whole (delta filter, special values, ...: see
:func:`~napari_mrcz.format.blosc_blocks.block_layout`) are, as are all chunks when the library is missing
(a python-blosc2 build that does not ship it: :func:`~napari_mrcz.io.codec.cblosc2.available` is False).

Hostile files: the chunk's header and block table are checked (:mod:`napari_mrcz.format.blosc_blocks`)
before C sees them; blosc gets a compact chunk of its own size (header, table, any dictionary and the
wanted blocks, :func:`~napari_mrcz.format.blosc_blocks.compact_chunk`), so whatever a block claims, c-blosc2
reads only inside that buffer; the output is zeroed first, and a call that returns fewer bytes than
asked or an error code raises :class:`ChunkError`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import ChunkError
from ...format.blosc_blocks import block_extents, block_layout, block_starts, compact_chunk, prefix_bytes
from ..codec.blosc import default_threads, map_slices
from ..codec.cblosc2 import getitem
from .file import MrcFileInfo

_PREFIX_GUESS = 16 * 2**10  # first read of a chunk: header and the block table of up to ~4000 blocks


def chunk_for_range(info: MrcFileInfo, z: int, start: int, stop: int) -> tuple[np.ndarray, int, int] | bytes | None:
    """What decoding bytes ``start:stop`` of chunk ``z`` needs, read from the file: (a compact chunk
    holding only the blocks that cover the range, :func:`~napari_mrcz.format.blosc_blocks.compact_chunk`,
    its blocks read straight into place; the item size its offsets
    count in; its block size), or the raw bytes themselves for a chunk stored uncompressed (blosc's "memcpyed"), or
    None when the chunk must be decoded whole: its type size does not divide the range (blosc counts
    in items), or :func:`block_layout` says so (a delta filter decodes every block against the
    chunk's first, which blosc's getitem does not see; special values; other codecs).

    Raises
    ------
    ChunkError
        The chunk's header or block table is inconsistent, or the file ends early.
    """
    index = info.chunk_index
    assert index is not None
    offset, cbytes = int(index.offsets[z]), int(index.cbytes[z])
    what = f"{info.path}: compressed slice {z}"
    head = info.source.pread(min(cbytes, _PREFIX_GUESS), offset)
    index.check_header(z, head, info.header.slice_nbytes, what)  # the chunk the index promised
    layout = block_layout(head, what)
    if layout is None or start % layout.typesize or stop % layout.typesize:
        return None
    if layout.memcpyed:
        return _read(info, offset + layout.header_bytes + start, stop - start, what)
    if layout.table_end > len(head):
        head = info.source.pread(layout.table_end, offset)
    starts = block_starts(layout, head[: layout.table_end], what)
    prefix = prefix_bytes(layout, starts)
    if prefix > len(head):
        head += _read(info, offset + len(head), prefix - len(head), what)
    first, last = start // layout.blocksize, max(start, stop - 1) // layout.blocksize
    extents = block_extents(layout, starts, first, last)

    def fill(lo: int, hi: int, out: np.ndarray) -> None:
        if hi <= len(head):
            out[:] = np.frombuffer(head, dtype=np.uint8, count=hi - lo, offset=lo)
        elif info.source.readinto(out, offset + lo) != hi - lo:
            raise ChunkError(f"{what}: truncated, the file ends inside bytes {offset + lo}-{offset + hi}")

    chunk = compact_chunk(layout, head[:prefix], starts, extents, fill)
    return chunk, layout.typesize, layout.blocksize


def _read(info: MrcFileInfo, offset: int, n: int, what: str) -> bytes:
    got = info.source.pread(n, offset)
    if len(got) != n:
        raise ChunkError(f"{what}: truncated, the file ends inside bytes {offset}-{offset + n}")
    return got


def read_rows(
    info: MrcFileInfo, sections: Sequence[int], row_start: int, row_stop: int, n_threads: int | None = None
) -> np.ndarray:
    """Rows ``row_start:row_stop`` of the stored z-slices ``sections`` of a compressed file, shape
    (len(sections), row_stop - row_start, NX), native byte order; only the blocks holding those rows
    are read and decoded. Slices whose chunks cannot be read in part are decoded whole.

    Raises
    ------
    ChunkError
        A compressed slice is corrupt or truncated.
    """
    h = info.header
    row_bytes = h.nx * h.dtype.itemsize
    start, stop = row_start * row_bytes, row_stop * row_bytes
    out = np.zeros((len(sections), row_stop - row_start, h.nx), dtype=h.dtype)
    if out.size == 0:
        return out.astype(info.dtype)

    def decode(i: int, threads: int) -> None:
        z = int(sections[i])
        what = f"{info.path}: compressed slice {z}"
        found = chunk_for_range(info, z, start, stop)
        if found is None:
            out[i] = info.read_slices(z, z + 1, threads)[0, row_start:row_stop].astype(h.dtype)
        elif isinstance(found, bytes):  # stored uncompressed: the bytes are the rows
            out[i] = np.frombuffer(found, dtype=h.dtype).reshape(out[i].shape)
        else:
            _getitem_split(*found, start, out[i].reshape(-1), threads, what)

    map_slices(decode, len(sections), n_threads or default_threads())
    return out.astype(info.dtype, copy=False)


def _getitem_split(chunk: np.ndarray, typesize: int, blocksize: int, start: int, out: np.ndarray, threads: int,
                   what: str) -> None:
    """:func:`getitem` of bytes ``start : start + out.nbytes`` into ``out`` (1-D), split at block
    boundaries over ``threads`` threads (c-blosc2's getitem decodes on one)."""
    stop = start + out.nbytes
    bounds = np.linspace(start, stop, max(1, threads) + 1).astype(np.int64)
    bounds[1:-1] = bounds[1:-1] // blocksize * blocksize
    bounds = np.unique(np.clip(bounds, start, stop))
    if bounds.size <= 2:
        getitem(chunk, typesize, start, out.view(np.uint8), what)
        return
    raw = out.view(np.uint8)

    def part(j: int, _threads: int) -> None:
        lo, hi = int(bounds[j]), int(bounds[j + 1])
        getitem(chunk, typesize, lo, raw[lo - start : hi - start], what)

    map_slices(part, bounds.size - 1, threads)
