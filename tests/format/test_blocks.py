"""The block layout of blosc chunks, from bytes: what a partial decode reads, and what it refuses."""

from __future__ import annotations

import struct

import blosc
import blosc2
import numpy as np
import pytest

from napari_mrcz.errors import ChunkError
from napari_mrcz.format.blosc_blocks import block_extents, block_layout, block_starts, compact_chunk, prefix_bytes

DATA = (np.random.default_rng(3).normal(size=(40, 300)) * 50).astype(np.float32)


def _blosc1(shuffle: int, blocksize: int, cname: str = "zstd", clevel: int = 1, threads: int = 1) -> bytes:
    old_threads, old_block = blosc.set_nthreads(threads), blosc.get_blocksize()
    try:
        blosc.set_blocksize(blocksize)
        return blosc.compress_ptr(DATA.ctypes.data, DATA.size, 4, clevel, shuffle, cname)
    finally:
        blosc.set_blocksize(old_block)
        blosc.set_nthreads(old_threads)


@pytest.mark.parametrize("shuffle", [blosc.NOSHUFFLE, blosc.SHUFFLE, blosc.BITSHUFFLE])
@pytest.mark.parametrize("blocksize", [0, 4096, 16384])
def test_blosc1_layout_and_block_table(shuffle: int, blocksize: int) -> None:
    chunk = _blosc1(shuffle, blocksize)
    layout = block_layout(chunk[:32], "c")
    assert layout is not None and layout.header_bytes == 16 and not layout.memcpyed
    assert layout.nbytes == DATA.nbytes and layout.cbytes == len(chunk) and layout.typesize == 4
    assert layout.nblocks == -(-DATA.nbytes // layout.blocksize)
    starts = block_starts(layout, chunk[: layout.table_end], "c")
    assert starts.min() == layout.table_end == prefix_bytes(layout, starts)
    whole = block_extents(layout, starts, 0, layout.nblocks - 1)
    assert whole == [(layout.table_end, len(chunk))]  # every block, back to back, merged


def test_blosc2_chunk_layout() -> None:
    chunk = blosc2.compress2(DATA, typesize=4, blocksize=8192, filters=[blosc2.Filter.SHUFFLE], filters_meta=[0])
    layout = block_layout(chunk[:32], "c")
    assert layout is not None and layout.header_bytes == 32 and layout.blocksize == 8192
    starts = block_starts(layout, chunk[: layout.table_end], "c")
    assert block_extents(layout, starts, 0, layout.nblocks - 1)[-1][1] == len(chunk)


def test_out_of_order_blocks_end_at_the_next_higher_start() -> None:
    layout = block_layout(_blosc1(blosc.SHUFFLE, 4096)[:32], "c")  # 12 blocks
    assert layout is not None and layout.nblocks == 12
    fake = np.array([500, 100, 900, 300] + [1000 + 10 * i for i in range(8)])  # blosc1 threads' order
    assert block_extents(layout, fake, 0, 0) == [(500, 900)]
    assert block_extents(layout, fake, 1, 1) == [(100, 300)]
    assert block_extents(layout, fake, 0, 3) == [(100, 1000)]  # touching ranges merged
    assert block_extents(layout, fake, 11, 11) == [(1070, layout.cbytes)]
    assert block_extents(layout, fake, 1, 2) == [(100, 300), (900, 1000)]


def test_memcpyed_chunks_read_the_raw_range() -> None:
    noise = np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8)
    chunk = blosc.compress(noise.tobytes(), 1, clevel=0)
    layout = block_layout(chunk[:32], "c")
    assert layout is not None and layout.memcpyed and layout.table_end == 16
    assert prefix_bytes(layout, None) == 16


def _special(value: str) -> bytes:
    schunk = blosc2.SChunk(chunksize=DATA.nbytes, cparams={"typesize": 4})
    schunk.fill_special(DATA.size, getattr(blosc2.SpecialValue, value))
    return schunk.get_chunk(0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: blosc2.compress2(DATA, typesize=4, filters=[blosc2.Filter.DELTA, blosc2.Filter.SHUFFLE], filters_meta=[0, 0]),
        lambda: blosc2.compress2(DATA, typesize=4, filters=[blosc2.Filter.TRUNC_PREC, blosc2.Filter.SHUFFLE],
                                 filters_meta=[10, 0]),
        lambda: _special("ZERO"),
        lambda: _special("NAN"),
        lambda: _special("UNINIT"),
    ],
    ids=["delta", "trunc_prec", "zeros", "nan", "uninit"],
)
def test_chunks_read_whole(make) -> None:
    """Filters other than shuffle, and special-value chunks, are handed to blosc whole."""
    assert block_layout(make()[:32], "c") is None


def test_blosc1_delta_is_read_whole() -> None:
    chunk = bytearray(_blosc1(blosc.SHUFFLE, 4096))
    chunk[2] |= 0x08
    assert block_layout(bytes(chunk[:32]), "c") is None


@pytest.mark.parametrize(
    "patch, message",
    [
        (lambda c: c.__setitem__(slice(8, 12), struct.pack("<i", 0)), "block size 0"),
        (lambda c: c.__setitem__(slice(8, 12), struct.pack("<i", 1)), "need"),  # a table bigger than the chunk
        (lambda c: c.__setitem__(3, 0), "type size 0"),
        (lambda c: c.__setitem__(slice(16, 20), struct.pack("<i", 3)), "block 0 starts at byte 3"),
        (lambda c: c.__setitem__(slice(16, 20), struct.pack("<i", 10**9)), "outside the chunk"),
    ],
    ids=["zero-blocksize", "huge-table", "zero-typesize", "start-in-header", "start-past-end"],
)
def test_hostile_headers_and_tables_raise(patch, message: str) -> None:
    chunk = bytearray(_blosc1(blosc.SHUFFLE, 4096))
    patch(chunk)
    with pytest.raises(ChunkError, match=message):
        layout = block_layout(bytes(chunk[:32]), "x.mrcz: compressed slice 0")
        assert layout is not None
        block_starts(layout, bytes(chunk[: layout.table_end]), "x.mrcz: compressed slice 0")


def test_cut_header_raises() -> None:
    with pytest.raises(ChunkError, match="too short"):
        block_layout(b"\x02\x01\x00\x04", "c")
    blosc2_chunk = blosc2.compress2(DATA, typesize=4)
    with pytest.raises(ChunkError, match="cut off"):
        block_layout(blosc2_chunk[:20], "c")


def test_compact_chunk_moves_the_wanted_blocks() -> None:
    chunk = _blosc1(blosc.SHUFFLE, 4096)
    layout = block_layout(chunk[:32], "c")
    assert layout is not None
    starts = block_starts(layout, chunk[: layout.table_end], "c")
    extents = block_extents(layout, starts, 3, 4)
    small = compact_chunk(layout, chunk[: layout.table_end], starts, extents,
                          lambda a, b, out: out.__setitem__(slice(None), np.frombuffer(chunk[a:b], np.uint8)))
    small = small.tobytes()
    assert struct.unpack_from("<I", small, 12)[0] == len(small) < len(chunk)
    moved = np.frombuffer(small, "<i4", layout.nblocks, layout.header_bytes)
    for j in (3, 4):  # the same bytes, at their new place
        a, b = block_extents(layout, starts, j, j)[0]
        assert small[moved[j] : moved[j] + b - a] == chunk[a:b]
    assert set(np.delete(moved, [3, 4])) == {layout.table_end}


def test_plugin_and_unknown_codecs_are_read_whole() -> None:
    chunk = bytearray(_blosc1(blosc.SHUFFLE, 4096))
    for codec in (2, 5, 6, 7):
        chunk[2] = (chunk[2] & 0x1F) | codec << 5
        assert block_layout(bytes(chunk[:32]), "c") is None
