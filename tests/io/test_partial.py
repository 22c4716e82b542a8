"""Partial decode: rows of compressed slices from only the blocks holding them, equal to a full decode
for every codec, shuffle and block size we and mrcz write, and safe on hostile chunks."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blosc2
import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.errors import MrczError
from napari_mrcz.format.blosc_blocks import block_extents, block_layout, block_starts
from napari_mrcz.format.constants import WRITABLE_COMPRESSORS
from napari_mrcz.io.codec import cblosc2
from napari_mrcz.io.reader import partial, region
from napari_mrcz.io.reader.array import MrcArray
from napari_mrcz.io.codec.blosc import MrczBlosc

pytestmark = pytest.mark.skipif(not cblosc2.available(), reason="c-blosc2's shared library is not shipped")
ROWS = [(0, 1), (17, 18), (63, 64), (5, 40), (0, 64)]


def _volume(dtype: str, shape: tuple[int, ...] = (5, 64, 50)) -> np.ndarray:
    rng = np.random.default_rng(7)
    if np.dtype(dtype).kind == "c":
        return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)
    if np.dtype(dtype).kind == "f":
        return (rng.normal(size=shape) * 30).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -1000), min(info.max, 1000), size=shape).astype(dtype)


def _write(path: Path, data: np.ndarray, cname: str, shuffle: str, blocksize: int | None, **kw: Any) -> Path:
    with nm.MrczWriter(path, compressor=cname, shuffle=shuffle, **kw) as writer:
        writer.codec = MrczBlosc(cname, 1, shuffle, blocksize=blocksize, n_threads=kw.get("n_threads"))
        writer.write(data)
    return path


def _assert_rows_match(path: Path, truth: np.ndarray | None = None) -> None:
    info = nm.open_mrc(path)
    full = info.read_slices(0, info.header.nz) if truth is None else truth
    sections = list(range(info.header.nz))
    for r0, r1 in ROWS:
        if r1 > info.header.ny:
            continue
        got = partial.read_rows(info, sections, r0, r1)
        assert got.dtype == full.dtype and np.array_equal(got, full[:, r0:r1], equal_nan=True), (r0, r1)
    odd = partial.read_rows(info, sections[::-2], 3, 9)  # any order of slices
    assert np.array_equal(odd, full[sections[::-2], 3:9], equal_nan=True)


@pytest.mark.parametrize("blocksize", [None, 0, 4096, 2**16])
@pytest.mark.parametrize("shuffle", ["bit", "byte", "none"])
@pytest.mark.parametrize("cname", WRITABLE_COMPRESSORS)
def test_every_codec_shuffle_and_block_size_we_write(tmp_path: Path, cname: str, shuffle: str, blocksize: int | None) -> None:
    data = _volume("f4")
    _assert_rows_match(_write(tmp_path / "v.mrcz", data, cname, shuffle, blocksize), data)


@pytest.mark.parametrize("dtype", ["i1", "i2", "u2", "i4", "u4", "f2", "f4", "c8"])
@pytest.mark.parametrize("endianness", ["<", ">"])
def test_every_dtype_and_byte_order(tmp_path: Path, dtype: str, endianness: str) -> None:
    data = _volume(dtype)
    path = nm.write(tmp_path / "v.mrcz", data, compressor="lz4", endianness=endianness)
    _assert_rows_match(path, data)


@pytest.mark.parametrize("backend", ["blosc1", "blosc2"])
@pytest.mark.parametrize("cname", ["zstd", "lz4", "zlib", "blosclz"])
@pytest.mark.parametrize("dtype", ["i1", "u2", "f4"])
def test_files_mrcz_writes(tmp_path: Path, backend: str, cname: str, dtype: str) -> None:
    """mrcz 0.6.0: blosc1 bitshuffle with 64 KiB blocks, or blosc2 chunks (backend='blosc2')."""
    mrcz = pytest.importorskip("mrcz")
    data = _volume(dtype, (4, 300, 200))  # 240 kB slices: several 64 KiB blocks each
    path = tmp_path / "m.mrcz"
    mrcz.writeMRC(data, str(path), compressor=cname, clevel=1, backend=backend)
    _assert_rows_match(path, data)


def _chunks(path: Path) -> tuple[bytes, list[bytes]]:
    info = nm.open_mrc(path)
    raw = path.read_bytes()
    index = info.chunk_index
    assert index is not None
    chunks = [raw[int(o) : int(o) + int(c)] for o, c in zip(index.offsets, index.cbytes)]
    return raw[: info.header.data_offset], chunks


def _splice(path: Path, head: bytes, chunks: list[bytes]) -> None:
    head = bytearray(head)
    struct.pack_into("<q", head, 144, sum(map(len, chunks)))
    path.write_bytes(bytes(head) + b"".join(chunks))


def _reverse_blocks(chunk: bytes) -> bytes:
    """The same chunk with its blocks stored in reverse order (as blosc1's threads may leave them)."""
    layout = block_layout(chunk[:32], "c")
    assert layout is not None and not layout.memcpyed
    starts = block_starts(layout, chunk[: layout.table_end], "c")
    pieces = [chunk[a:b] for j in range(layout.nblocks) for a, b in block_extents(layout, starts, j, j)]
    out = bytearray(chunk[: layout.table_end])
    for j in reversed(range(layout.nblocks)):
        struct.pack_into("<i", out, layout.header_bytes + 4 * j, len(out))
        out += pieces[j]
    return bytes(out)


def test_blocks_stored_out_of_order(tmp_path: Path) -> None:
    data = _volume("f4")
    path = _write(tmp_path / "v.mrcz", data, "zstd", "byte", 2048)
    head, chunks = _chunks(path)
    _splice(path, head, [_reverse_blocks(c) for c in chunks])
    assert np.array_equal(nm.read(path).data, data)  # still a valid file
    _assert_rows_match(path, data)


@pytest.mark.parametrize("special", ["ZERO", "NAN", "UNINIT"])
def test_blosc2_special_value_chunks(tmp_path: Path, special: str) -> None:
    data = _volume("f4")
    path = nm.write(tmp_path / "v.mrcz", data)
    head, chunks = _chunks(path)
    schunk = blosc2.SChunk(chunksize=data[0].nbytes, cparams={"typesize": 4})
    schunk.fill_special(data[0].size, getattr(blosc2.SpecialValue, special))
    chunks[2] = schunk.get_chunk(0)
    _splice(path, head, chunks)
    truth = nm.read(path).data
    assert np.isnan(truth[2]).all() if special == "NAN" else not truth[2].any()  # uninitialised reads as zeros
    _assert_rows_match(path, truth)


class _CountingSource:
    """The file's source, counting the bytes read through it."""

    def __init__(self, source: Any) -> None:
        self.source, self.bytes = source, 0
        self.size = source.size

    def pread(self, n: int, offset: int) -> bytes:
        got = self.source.pread(n, offset)
        self.bytes += len(got)
        return got

    def readinto(self, out: np.ndarray, offset: int) -> int:
        got = self.source.readinto(out, offset)
        self.bytes += got
        return got

    def read_ranges(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        return [self.pread(end - start, start) for start, end in ranges]


def test_an_xz_slice_reads_a_small_part_of_the_file(tmp_path: Path) -> None:
    data = _volume("f4", (6, 512, 256))  # 512 KiB slices, 64 KiB blocks: 8 blocks each
    path = _write(tmp_path / "v.mrcz", data, "zstd", "bit", 2**16)
    info = nm.open_mrc(path)
    counting = _CountingSource(info.source)
    info.source = counting  # type: ignore[assignment]
    assert np.array_equal(MrcArray(info)[:, 300, :], data[:, 300, :])
    assert counting.bytes < info.compressed_nbytes / 6


def test_without_the_library_whole_slices_are_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _volume("u2")
    path = nm.write(tmp_path / "v.mrcz", data)
    monkeypatch.setattr(cblosc2, "_getitem", None)
    monkeypatch.setattr(cblosc2, "_loaded", True)
    assert not cblosc2.available()
    assert np.array_equal(MrcArray(nm.open_mrc(path))[:, 9, :], data[:, 9, :])


@pytest.mark.parametrize("seed", range(40))
def test_corrupt_chunks_read_or_raise_mrczerror(tmp_path: Path, seed: int) -> None:
    """Bytes of the block table and the blocks flipped: a partial read returns or raises MrczError."""
    rng = np.random.default_rng(seed)
    data = _volume("f4", (3, 64, 50))
    path = _write(tmp_path / "v.mrcz", data, str(rng.choice(WRITABLE_COMPRESSORS)), "byte", 1024)
    head, chunks = _chunks(path)
    for i, chunk in enumerate(chunks):
        buf = bytearray(chunk)
        for at in rng.integers(16, len(buf), size=int(rng.integers(1, 6))):
            buf[at] = int(rng.integers(0, 256))
        chunks[i] = bytes(buf)
    _splice(path, head, chunks)
    info = nm.open_mrc(path)
    for r0, r1 in ROWS:
        try:
            got = partial.read_rows(info, [0, 1, 2], r0, r1)
        except MrczError as err:
            assert "compressed slice" in str(err)
        else:
            assert got.shape == (3, r1 - r0, 50)


def test_region_batches_bound_memory(settings: Callable[[str, Any], None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A y-z slice (all rows, one column) decodes whole slices a batch at a time."""
    data = _volume("i2", (9, 64, 50))
    path = nm.write(tmp_path / "v.mrcz", data)
    settings("region.batch_bytes", 2 * data[0].nbytes)
    info = nm.open_mrc(path)
    sizes: list[int] = []
    original = info.read_slices
    monkeypatch.setattr(info, "read_slices", lambda a, b, t=None: sizes.append(b - a) or original(a, b, t))
    assert np.array_equal(MrcArray(info)[:, :, 7], data[:, :, 7])
    assert max(sizes) == 2 and sum(sizes) == 9


@pytest.mark.parametrize("threads", [1, 2, 3, 5, 8])
@pytest.mark.parametrize(("r0", "r1"), [(0, 1), (3, 61), (10, 11), (0, 64), (31, 33)])
def test_rows_split_over_threads_are_the_same_rows(tmp_path: Path, threads: int, r0: int, r1: int) -> None:
    """One slice's rows decoded by several threads (cut at block boundaries) equal a single decode."""
    data = _volume("float32", (2, 64, 50))
    info = nm.open_mrc(_write(tmp_path / "a.mrcz", data, "zstd", "bit", 1024))
    got = partial.read_rows(info, [1], r0, r1, n_threads=threads)
    assert np.array_equal(got[0], data[1, r0:r1])


@pytest.mark.parametrize("index", [[3], [0, 1, 2], [5, 7, 9], [2, 1], [4, 4], [1, 3, 4], []])
def test_index_runs_become_slices(index: list[int]) -> None:
    arr = np.arange(12) * 10
    got = region.as_slice(np.array(index, dtype=np.int64))
    assert np.array_equal(arr[got], arr[index])
    regular = len(index) >= 1 and all(b - a == (index[1] - index[0] if len(index) > 1 else 1) > 0
                                      for a, b in zip(index, index[1:]))
    assert isinstance(got, slice) == regular
