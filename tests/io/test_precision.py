"""write(tolerance=..., dtype=...) through real files: the bound holds for every voxel in every codec,
the file stays ordinary MRC/MRCZ (mrcz.readMRC and mrcfile read the same values, validate passes),
lazy and eager reads agree, the label is read back, and integer decimation never changes a value."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.errors import MrczError, MrczWarning  # noqa: E402
from napari_mrcz.io.writer.convert import convert_file  # noqa: E402

COMPRESSORS = (None, "zstd", "lz4", "lz4hc", "zlib", "blosclz")
EXAMPLES = int(os.environ.get("NAPARI_MRCZ_HYPOTHESIS_EXAMPLES", "0") or 0)
SETTINGS = settings(max_examples=EXAMPLES or 60, deadline=None, derandomize=not EXAMPLES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SHAPES = st.one_of(st.tuples(st.integers(1, 24), st.integers(1, 24)),
                   st.tuples(st.integers(1, 5), st.integers(1, 24), st.integers(1, 24)))


def within(stored: np.ndarray, original: np.ndarray, tolerance: float) -> None:
    """Every finite voxel within ``tolerance`` (exact, in float64/complex128); NaN and ±inf kept.
    Complex: the modulus where both parts are finite; each finite part within tolerance / sqrt(2)."""
    if original.dtype.kind == "c":
        o, s = original.astype(np.complex128), stored.astype(np.complex128)
        finite = np.isfinite(o)
        assert np.all(np.abs(s[finite] - o[finite]) <= tolerance)
        parts = np.stack([o.real, o.imag]), np.stack([s.real, s.imag])
        return within(parts[1], parts[0], tolerance / np.sqrt(2))
    o, s = original.astype(np.float64), stored.astype(np.float64)
    finite = np.isfinite(o)
    assert np.all(np.abs(s[finite] - o[finite]) <= tolerance)
    assert np.array_equal(s[~finite], o[~finite], equal_nan=True)


@pytest.mark.slow
@SETTINGS
@given(
    data=st.sampled_from(["float32", "float64", "complex64"]).flatmap(lambda dt: hnp.arrays(
        np.dtype(dt), SHAPES, elements=st.floats(width=32) if dt == "float64" else None)),  # float64: float32 values
    tolerance=st.one_of(st.floats(1e-6, 1e6), st.sampled_from([1e-40, 1e30])),
    compressor=st.sampled_from(COMPRESSORS),
    clevel=st.integers(1, 9),
    shuffle=st.sampled_from(["auto", "bit", "byte", "none"]),
)
def test_every_voxel_within_tolerance(data: np.ndarray, tolerance: float, compressor: str | None,
                                      clevel: int, shuffle: str) -> None:
    mrcz = pytest.importorskip("mrcz")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("q.mrcz" if compressor else "q.mrc")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # statistics of inf/NaN data, as in test_properties
            nm.write(path, data, tolerance=tolerance, compressor=compressor, clevel=clevel, shuffle=shuffle)
        eager = nm.read(path)
        within(eager.data, data, tolerance)
        assert eager.tolerance == tolerance and nm.open_mrc(path).tolerance == tolerance
        lazy = nm.read(path, lazy=True).data.compute()
        assert lazy.tobytes() == eager.data.tobytes()
        if data.ndim == 3 and compressor:  # the reference reader sees the same stored values
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs, _ = mrcz.readMRC(str(path))
            assert np.asarray(theirs).tobytes() == eager.data.tobytes()


def test_tomogram_kind(tmp_path: Path) -> None:
    """Smooth density + noise: 1/16 of the noise makes it ~4x smaller; mrcfile and validate agree."""
    mrcfile = pytest.importorskip("mrcfile")
    rng = np.random.default_rng(3)
    data = (np.cumsum(rng.normal(0, 0.05, (8, 128, 128)), axis=2) + rng.normal(0, 0.7, (8, 128, 128))).astype(np.float32)
    data[0, 0, 0] = np.nan
    tolerance = nm.suggest_tolerance(data)
    assert 0.04 < tolerance < 0.048  # sigma 0.7 / 16
    lossless, lossy = tmp_path / "lossless.mrcz", tmp_path / "lossy.mrcz"
    nm.write(lossless, data)
    nm.write(lossy, data, tolerance=tolerance, metadata={"sample": "x"}, stats=True)
    image = nm.read(lossy)
    within(image.data, data, tolerance)
    assert image.metadata == {"sample": "x"}  # nothing added to the user's JSON
    assert f"napari-mrcz quantized, tolerance {tolerance!r} (grid 0.0625)" in image.header.labels
    assert nm.read(lossless).tolerance is None and nm.open_mrc(lossless).tolerance is None
    assert lossless.stat().st_size / lossy.stat().st_size > 3
    assert [p for p in nm.validate(lossy) if p.severity != "warning"] == []
    finite = image.data[np.isfinite(image.data)]
    assert image.header.dmin == finite.min() and image.header.dmax == finite.max()  # stats of stored values
    plain = tmp_path / "lossy.mrc"
    nm.write(plain, data, tolerance=tolerance, compressor=None)
    assert nm.read(plain).tolerance == tolerance
    with mrcfile.open(plain, permissive=True) as f:
        assert f.data.tobytes() == image.data.tobytes()


def test_dask_and_streaming_writer(tmp_path: Path) -> None:
    da = pytest.importorskip("dask.array")
    data = np.random.default_rng(4).normal(0, 1, (6, 32, 40)).astype(np.float32)
    nm.write(tmp_path / "d.mrcz", da.from_array(data, chunks=(2, 32, 40)), tolerance=0.1)
    within(nm.read(tmp_path / "d.mrcz").data, data, 0.1)
    with nm.MrczWriter(tmp_path / "w.mrcz", tolerance=0.1) as writer:
        for plane in data:
            writer.write(plane)
    assert nm.read(tmp_path / "w.mrcz").data.tobytes() == nm.read(tmp_path / "d.mrcz").data.tobytes()
    four_d = data.reshape(2, 3, 32, 40)
    nm.write(tmp_path / "v.mrcz", four_d, tolerance=0.1)
    within(nm.read(tmp_path / "v.mrcz").data, four_d, 0.1)


def test_float16_and_float64(tmp_path: Path) -> None:
    values = np.random.default_rng(5).normal(0, 10, (3, 16, 16))
    nm.write(tmp_path / "f8.mrcz", values, tolerance=0.01)  # float64: rounded on the grid, exact in float32
    image = nm.read(tmp_path / "f8.mrcz")
    assert image.data.dtype == np.float32
    within(image.data, values, 0.01)
    huge = values.copy()
    huge[0, 0, 0] = 1e12 + 0.1  # on a 1/128 grid, but not a float32
    with pytest.raises(MrczError, match="lossy_cast"):
        nm.write(tmp_path / "huge.mrcz", huge, tolerance=0.01)
    half = values.astype(np.float16)
    nm.write(tmp_path / "f2.mrcz", half, tolerance=0.3)
    got = nm.read(tmp_path / "f2.mrcz").data
    assert got.dtype == np.float16
    within(got, half, 0.3)


@pytest.mark.parametrize("dtype", ["int8", "int16", "uint16", "uint8", "int32"])
def test_integer_data_ignores_tolerance(tmp_path: Path, dtype: str) -> None:
    data = np.arange(60).reshape(3, 4, 5).astype(dtype)
    with pytest.warns(MrczWarning, match="ignored"):
        nm.write(tmp_path / "i.mrcz", data, tolerance=3)
    image = nm.read(tmp_path / "i.mrcz")
    assert np.array_equal(image.data, data) and image.tolerance is None


@pytest.mark.parametrize("tolerance", [None, 0, 0.0])
def test_lossless_by_default(tmp_path: Path, tolerance: Any) -> None:
    data = np.random.default_rng(6).normal(size=(2, 8, 8)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nm.write(tmp_path / "x.mrcz", data, tolerance=tolerance)
    image = nm.read(tmp_path / "x.mrcz")
    assert image.data.tobytes() == data.tobytes() and image.tolerance is None
    assert not any("quantized" in label for label in image.header.labels)


@pytest.mark.parametrize("tolerance", [-1, float("nan"), float("inf"), "auto", True])
def test_bad_tolerance(tmp_path: Path, tolerance: Any) -> None:
    with pytest.raises(MrczError, match="tolerance"):
        nm.write(tmp_path / "x.mrcz", np.zeros((2, 2), np.float32), tolerance=tolerance)
    assert list(tmp_path.iterdir()) == []


# ---- integer decimation -------------------------------------------------------------------------


@pytest.mark.parametrize("low, high, expected", [(-100, 100, np.int8), (0, 255, np.int16),
                                                 (-30000, 30000, np.int16), (0, 65535, np.uint16)])
@pytest.mark.parametrize("compressor", [None, "zstd"])
def test_dtype_int_picks_the_smallest_mode(tmp_path: Path, low: int, high: int, expected: type,
                                           compressor: str | None) -> None:
    counts = np.zeros((4, 10, 10), np.float32)
    counts[3, 0, :2] = low, high  # the extremes in the last slice: numpy data is looked at whole
    path = tmp_path / ("c.mrcz" if compressor else "c.mrc")
    nm.write(path, counts, dtype="int", compressor=compressor)
    image = nm.read(path)
    assert image.data.dtype == expected and np.array_equal(image.data, counts)
    assert f"napari-mrcz: float32 values stored as {np.dtype(expected)} (exactly)" in image.header.labels
    assert np.array_equal(nm.read(path, lazy=True).data.compute(), image.data)


def test_dtype_int_streaming_decides_from_the_first_block(tmp_path: Path) -> None:
    da = pytest.importorskip("dask.array")
    counts = np.zeros((4, 10, 10), np.float32)
    counts[3, 0, 0] = 1000  # beyond int8, which the first block (zeros) chose
    with pytest.raises(MrczError, match=r"z=3 do not fit int8 \(chosen from the first block\)"):
        with nm.MrczWriter(tmp_path / "c.mrcz", dtype="int") as writer:
            for plane in counts:
                writer.write(plane)
    assert list(tmp_path.iterdir()) == []
    big = np.zeros((2 * 8, 512, 512), np.float32)  # dask blocks of 8 MiB: the first holds slices 0-7
    big[-1, 0, 0] = 1000
    with pytest.raises(MrczError, match=r"z=15 do not fit int8"):
        nm.write(tmp_path / "c.mrcz", da.from_array(big, chunks=(1, 512, 512)), dtype="int")
    assert list(tmp_path.iterdir()) == []
    nm.write(tmp_path / "c.mrcz", da.from_array(big, chunks=(1, 512, 512)), dtype=np.int16)
    assert nm.read(tmp_path / "c.mrcz").data.dtype == np.int16


@pytest.mark.parametrize("bad, match", [
    (np.full((2, 3, 3), 1.5, np.float32), "not all integers"),
    (np.full((2, 3, 3), np.nan, np.float32), "NaN or infinite"),
    (np.full((2, 3, 3), 1e6, np.float32), "do not fit a standard integer MRC mode"),
    (np.full((2, 3, 3), 1 + 1j, np.complex64), "complex"),
])
def test_dtype_int_never_loses_a_value(tmp_path: Path, bad: np.ndarray, match: str) -> None:
    with pytest.raises(MrczError, match=match):
        nm.write(tmp_path / "c.mrcz", bad, dtype="int")
    assert list(tmp_path.iterdir()) == []


def test_dtype_explicit_and_with_tolerance(tmp_path: Path) -> None:
    gain_normalised = np.random.default_rng(7).poisson(3, (3, 16, 16)) * np.float32(1.0) + 0.2
    nm.write(tmp_path / "r.mrcz", gain_normalised, tolerance=0.5, dtype="int")  # round, then integers
    image = nm.read(tmp_path / "r.mrcz")
    assert image.data.dtype == np.int8 and image.tolerance == 0.5
    within(image.data, gain_normalised, 0.5)
    nm.write(tmp_path / "u.mrcz", np.round(gain_normalised), dtype=np.uint16)
    assert nm.read(tmp_path / "u.mrcz").data.dtype == np.uint16
    for dtype in ("float32", "uint8", "integer"):
        with pytest.raises(MrczError, match="dtype must be"):
            nm.write(tmp_path / "x.mrcz", gain_normalised, dtype=dtype)


# ---- convert_file -------------------------------------------------------------------------------


def test_convert_file_with_tolerance(tmp_path: Path) -> None:
    data = np.random.default_rng(8).normal(0, 2.0, (6, 64, 64)).astype(np.float32)
    src = tmp_path / "in.mrc"
    nm.write(src, data, compressor=None)
    convert_file(src, tmp_path / "fixed.mrcz", tolerance=0.1)
    within(nm.read(tmp_path / "fixed.mrcz").data, data, 0.1)
    convert_file(src, tmp_path / "auto.mrcz", tolerance="auto:1/8")
    auto = nm.read(tmp_path / "auto.mrcz")
    assert 0.22 < auto.tolerance < 0.28  # sigma 2 / 8
    within(auto.data, data, auto.tolerance)
    counts = tmp_path / "counts.mrc"
    nm.write(counts, np.round(data * 10), compressor=None)
    convert_file(counts, tmp_path / "counts.mrcz", dtype="int")
    assert nm.read(tmp_path / "counts.mrcz").data.dtype == np.int8 or nm.read(tmp_path / "counts.mrcz").data.dtype == np.int16
    with pytest.raises(MrczError, match="tolerance"):
        convert_file(src, tmp_path / "bad.mrcz", tolerance="fast")
    assert not (tmp_path / "bad.mrcz").exists()
