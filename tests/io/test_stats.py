"""Header statistics: exact integer sums, the float path, and ``write(stats=...)`` — exact values or
MRC2014's "not determined", which the reader, validator, ``info`` and napari's contrast all accept."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.format.build import signed_bytes_undetermined
from napari_mrcz.cli.info import describe
from napari_mrcz.errors import MrczError
from napari_mrcz.io.stats.integer import INTEGER_KINDS, PIECE, integer_sums, squares_fit
from napari_mrcz.format.constants import STATS_NOT_DETERMINED as UNSET
from napari_mrcz.io.stats.compute import RunningStats, slice_stats
from napari_mrcz.io.validate import is_valid

RNG = np.random.default_rng(20261130)


def _cases() -> list[tuple[str, int, int, int]]:
    """(dtype, size, lo, hi): every integer kind at narrow, one-sided, signed and full ranges, sizes
    around the fold's and the piece's boundaries."""
    cases = []
    for dtype in INTEGER_KINDS:
        info = np.iinfo(dtype)
        ranges = [(0, 0), (0, 1), (0, 8), (4, 42), (info.min, info.max), (info.max - 3, info.max),
                  (max(info.min, -15), 15), (max(info.min, -255), min(info.max, 255)), (info.min, info.min + 2)]
        sizes = [1, 2, 3, 511, 8193, 65537, PIECE + 1]
        for i, (lo, hi) in enumerate(ranges):
            cases.append((dtype.str, sizes[i % len(sizes)], lo, hi))
            cases.append((dtype.str, sizes[(i + 3) % len(sizes)], lo, hi))
    return cases


@pytest.mark.parametrize(("dtype", "size", "lo", "hi"), _cases())
def test_integer_sums_are_exact(dtype: str, size: int, lo: int, hi: int) -> None:
    values = RNG.integers(lo, hi, size, dtype=dtype, endpoint=True)
    values[0], values[-1] = lo, hi  # the bounds are reached
    expected = (int(values.astype(np.int64).sum()), int((values.astype(np.int64) ** 2).sum()))
    assert integer_sums(values, lo, hi) == expected


@pytest.mark.parametrize(("dtype", "size", "lo", "hi"), _cases()[::2])
def test_slice_stats_of_integers(dtype: str, size: int, lo: int, hi: int) -> None:
    """Exact where the squares fit the values' width (counting data), float32 sums otherwise."""
    values = RNG.integers(lo, hi, size, dtype=dtype, endpoint=True)
    wide = values.astype(np.int64)
    s1, s2 = int(wide.sum()), int((wide * wide).sum())
    got = slice_stats(values)
    assert (got.count, got.dmin, got.dmax) == (size, wide.min(), wide.max())
    if squares_fit(lo, hi, values.itemsize) and size <= PIECE:
        assert got.mean == s1 / size  # exact sums: the correctly rounded mean
        assert got.m2 == pytest.approx((size * s2 - s1 * s1) / size, rel=1e-12, abs=1e-9)
    else:
        assert got.mean == pytest.approx(s1 / size, rel=1e-6, abs=1e-6 * max(abs(lo), abs(hi)))
        assert got.m2 == pytest.approx((size * s2 - s1 * s1) / size, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("dtype", ["f4", "f2", "i4", "u4", ">i2", "u1"])
def test_slice_stats_other_types_match_float64(dtype: str) -> None:
    values = (RNG.standard_normal((3, 300, 700)) * 50 + 1000).astype(dtype)
    reference = values.astype(np.float64)
    total = RunningStats()
    for plane in values:
        total.merge(slice_stats(plane))
    dmin, dmax, dmean, rms = total.header_values()
    assert (dmin, dmax) == (reference.min(), reference.max())
    assert dmean == pytest.approx(reference.mean(), rel=1e-6)
    assert rms == pytest.approx(reference.std(), rel=1e-5)


def test_slice_stats_nan_and_inf() -> None:
    values = np.array([[np.nan, 1.0], [-np.inf, 2.0]], np.float32)
    got = slice_stats(values)
    assert (got.dmin, got.dmax) == (-np.inf, 2.0) and math.isnan(got.mean)


def _unset(h: nm.Header) -> bool:
    return h.dmax < h.dmin and h.dmean < min(h.dmin, h.dmax) and h.rms < 0


@pytest.mark.parametrize("compressor", [None, "zstd", "lz4"])
@pytest.mark.parametrize("stats", ["auto", True, False])
@pytest.mark.parametrize("dtype", ["i1", "u2", "f4"])
def test_write_stats_switch(tmp_path: Path, compressor: str | None, stats: bool | str, dtype: str) -> None:
    data = (RNG.poisson(3.0, (5, 30, 40)) - (2 if dtype == "i1" else 0)).astype(dtype)
    path = nm.write(tmp_path / ("s.mrcz" if compressor else "s.mrc"), data, compressor=compressor, stats=stats)
    h = nm.read(path).header
    if stats is True or (stats == "auto" and compressor is None):
        wide = data.astype(np.float64)
        assert (h.dmin, h.dmax) == (wide.min(), wide.max())
        assert h.dmean == pytest.approx(wide.mean(), rel=1e-6)
        assert h.rms == pytest.approx(wide.std(), rel=1e-6)
    else:
        # mode 0: DMIN -1, DMAX -2 (still undetermined) so IMOD reads the bytes as signed (format.build)
        expected = signed_bytes_undetermined(UNSET, 0) if dtype == "i1" else UNSET
        assert _unset(h) and tuple(float(v) for v in (h.dmin, h.dmax, h.dmean, h.rms)) == expected
    assert is_valid(nm.validate(path)), nm.validate(path)


@pytest.mark.parametrize("bad", ["yes", 1, None, "exact"])
def test_write_stats_bad_value_leaves_nothing(tmp_path: Path, bad: object) -> None:
    with pytest.raises(MrczError, match="stats must be"):
        nm.write(tmp_path / "bad.mrcz", np.zeros((2, 4, 4), np.int8), stats=bad)
    assert list(tmp_path.iterdir()) == []


def test_not_determined_is_valid_and_computed_on_demand(tmp_path: Path) -> None:
    data = RNG.poisson(1.0, (4, 64, 48)).astype(np.int8)
    path = nm.write(tmp_path / "movie.mrcz", data)  # MRCZ: "not determined" by default
    assert is_valid(nm.validate(path)), nm.validate(path)
    with nm.open_mrc(path) as info:
        assert describe(info)["stats"] == {"min": None, "max": None, "mean": None, "rms": None, "source": "header"}
        computed = describe(info, compute_stats=True)["stats"]
    assert computed["min"] == data.min() and computed["max"] == data.max()
    assert computed["mean"] == pytest.approx(data.mean()) and computed["rms"] == pytest.approx(data.std())
