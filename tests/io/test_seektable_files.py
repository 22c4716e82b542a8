"""Seek tables in files: every MRCZ file we write has one that verifies, mrcz 0.6.0 and RosettaSciIO
read those files bit for bit, and hostile tables (corrupt, truncated, forged with a valid CRC, out
of range, huge NZ) never make a read go out of bounds or return wrong data, locally or over HTTP.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import mrcz
import numpy as np
import pytest
from loopback_http import LoopbackServer

import napari_mrcz as nm
from napari_mrcz.errors import MrczError, MrczWarning
from napari_mrcz.format import seektable

RNG = np.random.default_rng(5)


def _data(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        return RNG.normal(size=shape).astype(dtype)
    if np.dtype(dtype).kind == "c":
        return (RNG.normal(size=shape) + 1j * RNG.normal(size=shape)).astype(dtype)
    info = np.iinfo(dtype)
    return RNG.integers(max(info.min, -1000), min(info.max, 1000), size=shape).astype(dtype)


def _table_of(path: Path) -> np.ndarray:
    """The verified entries of the file's seek table (asserting it sits where packed_bytes points)."""
    info = nm.open_mrc(path)
    h = info.header
    raw = path.read_bytes()[h.data_offset + h.packed_bytes :]
    assert len(raw) == seektable.trailer_nbytes(h.nz)
    sizes = seektable.decode(raw, nz=h.nz, data_offset=h.data_offset, slice_nbytes=h.slice_nbytes,
                             packed_bytes=h.packed_bytes)
    assert info.chunk_index is not None and info.chunk_index.trailer_nbytes == len(raw)
    assert np.array_equal(sizes, info.chunk_index.cbytes)
    return sizes


CODECS = ["zstd", "lz4", "lz4hc", "zlib", "blosclz"]
KINDS = [((6, 30, 22), "float32"), ((5, 17, 40), "int16"), ((3, 24, 24), "uint16"), ((4, 20, 20), "int8"),
         ((2, 16, 16), "complex64"), ((33, 41), "float32")]
# every codec with every kind of data, each byte order in turn (a full product adds time, not cases of a new kind)
CASES = [(c, shape, dtype, "<>"[(i + j) % 2]) for i, c in enumerate(CODECS) for j, (shape, dtype) in enumerate(KINDS)]


@pytest.mark.parametrize(("compressor", "shape", "dtype", "endianness"), CASES)
def test_mrcz_and_rsciio_read_files_with_a_seek_table(compressor: str, shape: tuple[int, ...], dtype: str,
                                                       endianness: str, tmp_path: Path) -> None:
    data = _data(shape, dtype)
    path = nm.write(tmp_path / "t.mrcz", data, compressor=compressor, endianness=endianness,
                    metadata={"sample": "x"})
    _table_of(path)
    theirs, header = mrcz.readMRC(str(path), endian="be" if endianness == ">" else "le")
    assert np.array_equal(np.asarray(theirs).reshape(data.shape), data)
    assert header["packedBytes"] == nm.open_mrc(path).header.packed_bytes
    if endianness == "<" and dtype != "int8" and data.ndim == 3:  # RosettaSciIO crashes on 2-D images
        from rsciio.mrcz import file_reader

        assert np.array_equal(file_reader(str(path))[0]["data"], data)
    assert nm.validate(path) == []


def test_volume_stacks_and_streamed_writes_have_a_table(tmp_path: Path) -> None:
    data = _data((2, 3, 16, 12), "float32")
    _table_of(nm.write(tmp_path / "v.mrcz", data))
    theirs, _ = mrcz.readMRC(str(tmp_path / "v.mrcz"))
    assert np.array_equal(np.stack(theirs), data)
    with nm.MrczWriter(tmp_path / "s.mrcz") as writer:
        for z in range(7):
            writer.write(data[0, 0] + z)
    assert len(_table_of(tmp_path / "s.mrcz")) == 7
    assert nm.validate(tmp_path / "s.mrcz") == []


def test_plain_files_have_no_table(tmp_path: Path) -> None:
    data = _data((3, 16, 16), "float32")
    path = nm.write(tmp_path / "p.mrc", data, compressor=None)
    assert path.stat().st_size == 1024 + data.nbytes


# -- hostile tables ---------------------------------------------------------------------------------

Edit = Callable[[bytearray, int, int], None]  # (file bytes, trailer start, NZ)


def _recrc(raw: bytearray, start: int) -> None:
    raw[-4:] = struct.pack("<I", zlib.crc32(bytes(raw[start:-4])))


def _entry(z: int, value: Callable[[int], int], fix_crc: bool = True) -> Edit:
    def edit(raw: bytearray, start: int, nz: int) -> None:
        at = start + 48 + 8 * z
        struct.pack_into("<Q", raw, at, value(struct.unpack_from("<Q", raw, at)[0]) % 2**64)
        if fix_crc:
            _recrc(raw, start)
    return edit


def _swap(a: int, b: int) -> Edit:
    def edit(raw: bytearray, start: int, nz: int) -> None:
        pa, pb = start + 48 + 8 * a, start + 48 + 8 * b
        raw[pa : pa + 8], raw[pb : pb + 8] = raw[pb : pb + 8], raw[pa : pa + 8]
        _recrc(raw, start)
    return edit


def _shift(z: int, by: int) -> Edit:
    def edit(raw: bytearray, start: int, nz: int) -> None:
        _entry(z, lambda v: v + by, fix_crc=False)(raw, start, nz)
        _entry(z + 1, lambda v: v - by)(raw, start, nz)
    return edit


def _field(at: int, value: int) -> Edit:
    def edit(raw: bytearray, start: int, nz: int) -> None:
        struct.pack_into("<Q", raw, start + at, value)
        _recrc(raw, start)
    return edit


def _flip(offset_in_table: int) -> Edit:
    def edit(raw: bytearray, start: int, nz: int) -> None:
        raw[start + offset_in_table] ^= 0x40
    return edit


def _cut(keep: int) -> Edit:
    def edit(raw: bytearray, start: int, nz: int) -> None:
        del raw[start + keep :]
    return edit


def _append(junk: bytes) -> Edit:
    def edit(raw: bytearray, start: int, nz: int) -> None:
        raw[start:] = junk
    return edit


# name: (edit, the table is ignored with a warning)
HOSTILE_TABLES: dict[str, tuple[Edit, bool]] = {
    "flipped_entry": (_flip(48 + 8 * 2 + 1), True),
    "flipped_magic": (_flip(0), False),
    "flipped_crc": (_flip(-4 + 52 + 8 * 8), True),
    "cut_in_half": (_cut(40), True),
    "cut_to_magic": (_cut(8), True),
    "only_crc_missing": (_cut(48 + 8 * 8), True),
    "swapped_entries": (_swap(1, 5), True),
    "shifted_boundary": (_shift(3, 5), True),
    "shifted_by_header": (_shift(0, 16), True),
    "entry_past_eof": (_entry(7, lambda v: 2**40), True),
    "entry_negative": (_entry(2, lambda v: -v), True),
    "entry_tiny": (_entry(4, lambda v: 3), True),
    "nz_huge": (_field(16, 2**40), True),
    "nz_smaller": (_field(16, 7), True),
    "data_offset_wrong": (_field(24, 0), True),
    "slice_bytes_wrong": (_field(32, 2**62), True),
    "packed_wrong": (_field(40, 17), True),
    "version_2": (_field(8, 2), True),
    "junk_after_chunks": (_append(b"\0" * 100), False),
    "no_table": (_cut(0), False),
}


def _hostile_file(folder: Path, name: str, edit: Edit) -> tuple[Path, np.ndarray]:
    data = _data((8, 24, 20), "float32")
    path = nm.write(folder / f"{name}.mrcz", data, metadata={"case": name})
    raw = bytearray(path.read_bytes())
    h = nm.open_mrc(path).header
    edit(raw, h.data_offset + h.packed_bytes, h.nz)
    path.write_bytes(bytes(raw))
    return path, data


@pytest.mark.parametrize("name", sorted(HOSTILE_TABLES))
def test_hostile_table_locally(name: str, tmp_path: Path) -> None:
    """Local opens walk the chunks, so a bad table costs a warning, never the data."""
    edit, warns = HOSTILE_TABLES[name]
    path, data = _hostile_file(tmp_path, name, edit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = nm.read(path)
        lazy = nm.read(path, lazy=True).data.compute()
    seen = [str(w.message) for w in caught if issubclass(w.category, MrczWarning)]
    assert np.array_equal(got.data, data) and np.array_equal(lazy, data)
    assert bool(seen) == warns, seen
    assert all("seek table" in m and path.name in m for m in seen)
    problems = nm.validate(path)
    assert any("seek table" in p.message for p in problems) == warns, problems
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MrczWarning)
        assert nm.open_mrc(path).chunk_index.trailer_nbytes == 0


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("hostile_tables")
    truth = {name: _hostile_file(folder, name, edit)[1] for name, (edit, _) in HOSTILE_TABLES.items()}
    with LoopbackServer(folder) as srv:
        yield srv, truth


@pytest.mark.parametrize("name", sorted(HOSTILE_TABLES))
def test_hostile_table_remotely(name: str, hostile_server: tuple[LoopbackServer, dict[str, np.ndarray]]) -> None:
    """Over HTTP as locally: a table that fails to verify, or whose entries a chunk header contradicts
    (forged with a recomputed CRC), is ignored with a warning and the chunks are walked instead."""
    srv, truth = hostile_server
    _, warns = HOSTILE_TABLES[name]
    url = srv.url(f"{name}.mrcz")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = nm.open_mrc(url)
        got = nm.read(info).data
    assert np.array_equal(got, truth[name])
    seen = [str(w.message) for w in caught if issubclass(w.category, MrczWarning)]
    assert bool(seen) == warns, seen


def test_hostile_chunk_files_over_http(tmp_path: Path) -> None:
    """Each generated hostile file of test_hostile, served over HTTP, raises an MrczError naming the URL."""
    from test_hostile import GENERATED

    names = [n for n in GENERATED if not n.endswith((".gz", ".bz2"))]
    for name in names:
        GENERATED[name][0](tmp_path)
    with LoopbackServer(tmp_path) as srv:
        for name in names:
            url = srv.url(name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MrczWarning)
                with pytest.raises(MrczError) as err:
                    nm.read(url)
            assert url in str(err.value), (name, str(err.value))
