"""Writing: bit-exact round trips, the dtype policy, statistics, streaming, atomicity, async."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from checks import assert_roundtrip

import napari_mrcz as nm
from napari_mrcz.format.constants import WRITABLE_COMPRESSORS

DTYPES = ["i1", "i2", "u2", "f4", "c8", "i4", "u4", "f2"]
SHAPES = [(5, 17, 23), (13, 9), (1, 8, 8), (2, 3, 4, 5)]


def _data(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=shape) * 100
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.normal(size=shape)
    return values.astype(dtype)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("compressor", [None, *WRITABLE_COMPRESSORS])
@pytest.mark.parametrize("endianness", ["<", ">"])
def test_round_trip_bit_exact(tmp_path: Path, dtype: str, compressor: str | None, endianness: str) -> None:
    for i, shape in enumerate(SHAPES):
        image = assert_roundtrip(tmp_path / f"{i}.mrcz", _data(shape, dtype, i), compressor=compressor,
                                 endianness=endianness, voxel_size=(2.0, 1.5, 1.25), metadata={"i": i})
        assert image.voxel_size == (2.0, 1.5, 1.25)
        assert image.header.byte_order == endianness
        assert image.header.compressor == compressor


def test_nan_and_inf_survive(tmp_path: Path) -> None:
    data = np.array([[[np.nan, np.inf], [-np.inf, 1.5]]], dtype=np.float32)
    image = assert_roundtrip(tmp_path / "n.mrcz", data, stats=True)
    assert (image.header.dmin, image.header.dmax) == (-np.inf, np.inf)


@pytest.mark.parametrize(
    ("dtype", "values", "stored"),
    [("u1", [0, 255], np.uint16), ("?", [True, False], np.int8), ("f8", [0.5, -3.25], np.float32),
     ("c16", [1 + 2j, 0.5j], np.complex64), ("i8", [-(2**31), 2**31 - 1], np.int32), ("u8", [0, 2**32 - 1], np.uint32)],
)
def test_lossless_dtype_mapping(tmp_path: Path, dtype: str, values: list, stored: type) -> None:
    data = np.array(values, dtype=dtype).reshape(1, 1, -1)
    nm.write(tmp_path / "m.mrcz", data)
    got = nm.read(tmp_path / "m.mrcz").data
    assert got.dtype == stored and np.array_equal(got, data)


@pytest.mark.parametrize(("dtype", "value"), [("f8", 0.1), ("c16", 0.1j), ("i8", 2**40), ("u8", 2**33)])
def test_lossy_conversion_refused_and_old_file_kept(tmp_path: Path, dtype: str, value: complex) -> None:
    path = tmp_path / "keep.mrcz"
    nm.write(path, np.ones((2, 2, 2), dtype=np.float32))
    before = path.read_bytes()
    data = np.zeros((3, 2, 2), dtype=dtype)
    data[2, 1, 1] = value  # the last slice is the bad one: two slices were already written
    with pytest.raises(nm.MrczError, match="z=2|slices from z=0"):
        nm.write(path, data)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mrcz"]


def test_lossy_cast_allows_rounding_floats(tmp_path: Path) -> None:
    data = np.full((1, 2, 2), 0.1)
    nm.write(tmp_path / "f.mrcz", data, lossy_cast=True)
    assert np.array_equal(nm.read(tmp_path / "f.mrcz").data, data.astype(np.float32))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"compressor": "snappy"}, "compressor"), ({"clevel": 12}, "clevel"), ({"shuffle": "x"}, "shuffle"),
     ({"units": "parsec"}, "unit"), ({"voxel_size": (1, 2, 3, 4)}, "voxel_size"),
     ({"voxel_size": -1}, "voxel_size"), ({"endianness": "middle"}, "endianness"),
     ({"metadata": {"x": object()}}, "JSON"), ({"metadata": [1]}, "dict"), ({"voltage": float("nan")}, "voltage")],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, words: str) -> None:
    with pytest.raises(nm.MrczError, match=words):
        nm.write(tmp_path / "a.mrcz", np.zeros((2, 2, 2), np.float32), **kwargs)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("data", [np.zeros(5), np.zeros((0, 3, 3)), np.zeros((1, 1, 1, 1, 1)), np.array(["a", "b"]).reshape(1, 1, 2)])
def test_bad_data(tmp_path: Path, data: np.ndarray) -> None:
    with pytest.raises(nm.MrczError):
        nm.write(tmp_path / "a.mrcz", data)
    assert list(tmp_path.iterdir()) == []


def test_overwrite_false(tmp_path: Path) -> None:
    path = tmp_path / "o.mrcz"
    nm.write(path, np.zeros((1, 2, 2), np.int16))
    with pytest.raises(nm.MrczError, match="exists"):
        nm.write(path, np.ones((1, 2, 2), np.int16), overwrite=False)
    assert not nm.read(path).data.any()


@pytest.mark.parametrize(("units", "factor"), [("Å", 1), ("nm", 10), ("µm", 1e4), ("um", 1e4), ("pm", 0.01), ("\\AA", 1)])
def test_units(tmp_path: Path, units: str, factor: float) -> None:
    nm.write(tmp_path / "u.mrcz", np.zeros((2, 3, 4), np.int8), voxel_size=(3, 2, 1), units=units)
    assert nm.read(tmp_path / "u.mrcz").voxel_size == pytest.approx((3 * factor, 2 * factor, factor))


def test_metadata_and_microscope_round_trip(tmp_path: Path) -> None:
    meta = {"operator": "Zoë Ångström 测试", "tilt": {"min": -60, "angles": [1.5, 2.5]}, "ok": True,
            "none": None, "np": np.float32(2.5), "arr": np.arange(3)}
    nm.write(tmp_path / "m.mrcz", np.zeros((2, 2, 2), np.int8), metadata=meta, voltage=300, c3=2.7, gain=0.8)
    image = nm.read(tmp_path / "m.mrcz")
    assert image.metadata == {**meta, "np": 2.5, "arr": [0, 1, 2]}
    assert (image.header.voltage, image.header.c3, image.header.gain) == pytest.approx((300, 2.7, 0.8))


@pytest.mark.parametrize("dtype", ["i1", "u2", "f4", "c8"])
def test_statistics_cover_all_slices(tmp_path: Path, dtype: str) -> None:
    data = _data((6, 20, 30), dtype) + (1000 if dtype == "u2" else 0)  # large mean: no cancellation
    data[5] = data[5] * 3  # the last slice holds the extremes
    h = nm.write(tmp_path / "s.mrcz", data, stats=True) and nm.read(tmp_path / "s.mrcz").header
    assert h.rms == pytest.approx(float(data.std()), rel=1e-4)
    if dtype != "c8":
        assert (h.dmin, h.dmax) == (float(data.min()), float(data.max()))
        assert h.dmean == pytest.approx(float(data.mean(dtype=np.float64)), rel=1e-5)
    else:
        assert h.dmax < h.dmin  # MRC2014 "not determined", as mrcfile writes for complex data


@pytest.mark.slow
def test_streaming_dask_write_keeps_memory_near_one_block(tmp_path: Path) -> None:
    da = pytest.importorskip("dask.array")
    slices, ny, nx = 48, 1024, 1024  # 192 MiB of float32 computed on the fly, 4 MiB per slice
    data = da.random.default_rng(0).standard_normal((slices, ny, nx), chunks=(1, ny, nx), dtype=np.float32)
    data[:1].compute()  # dask's own one-time set-up is not the writer's memory
    tracemalloc.start()
    nm.write(tmp_path / "big.mrcz", data, compressor="lz4", clevel=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 48 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    lazy = nm.read(tmp_path / "big.mrcz", lazy=True).data
    assert np.array_equal(lazy[[0, 47]].compute(), data[[0, 47]].compute())


def test_dask_chunks_larger_than_a_block_are_split(tmp_path: Path) -> None:
    da = pytest.importorskip("dask.array")
    data = da.arange(6 * 5 * 4, chunks=-1, dtype=np.int16).reshape(6, 5, 4).rechunk((6, 5, 4))
    assert_roundtrip(tmp_path / "c.mrcz", data)


def test_array_likes_and_progress(tmp_path: Path) -> None:
    source = tmp_path / "src.mrcz"
    data = _data((4, 6, 7), "i2")
    nm.write(source, data)
    info = nm.open_mrc(source)
    from napari_mrcz.io.reader.lazy import SliceArray

    calls: list[tuple[int, int, int]] = []
    nm.write(tmp_path / "dst.mrc", SliceArray(info), compressor=None, progress=lambda *a: calls.append(a))
    assert np.array_equal(nm.read(tmp_path / "dst.mrc").data, data)
    assert [c[0] for c in calls] == [1, 2, 3, 4] and calls[-1][1] == data.nbytes == calls[-1][2]


def test_mrczwriter_appends_blocks(tmp_path: Path) -> None:
    data = _data((5, 8, 9), "f4")
    with nm.MrczWriter(tmp_path / "w.mrcz", voxel_size=0.5, metadata={"a": 1}) as writer:
        writer.write(data[:2])
        writer.write(data[2])
        writer.write(data[3:])
    image = nm.read(tmp_path / "w.mrcz")
    assert np.array_equal(image.data, data) and image.voxel_size == (0.5, 0.5, 0.5)
    with pytest.raises(nm.MrczError, match="does not match"), nm.MrczWriter(tmp_path / "x.mrcz") as writer:
        writer.write(data[0])
        writer.write(data[0, :4])
    assert not (tmp_path / "x.mrcz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.mrcz"]


def test_write_async_returns_result_and_errors(tmp_path: Path) -> None:
    future = nm.write_async(tmp_path / "a.mrcz", np.ones((2, 3, 3), np.uint16))
    assert future.result(timeout=30) == tmp_path / "a.mrcz"
    bad = nm.write_async(tmp_path / "b.mrcz", np.ones((2, 3, 3), np.uint16), compressor="nope")
    with pytest.raises(nm.MrczError, match="compressor"):
        bad.result(timeout=30)
    missing = nm.write_async(tmp_path / "no" / "such" / "dir.mrcz", np.ones((1, 2, 2), np.int8))
    with pytest.raises(OSError):
        missing.result(timeout=30)


def test_new_file_permissions_follow_umask(tmp_path: Path) -> None:
    import os

    path = tmp_path / "p.mrcz"
    nm.write(path, np.ones((1, 2, 2), np.int8))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
