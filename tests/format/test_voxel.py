"""Voxel size through a float32 CELLA: as precise as float32 allows, nice decimals kept nice.

Written voxel sizes come back within 2^-24 of the value (the rounding of CELLA) where the exact quotient
is returned, within 1e-7 where a longer decimal is, and a decimal of up to 3 significant digits that
writes the stored cell is returned as itself (1.05 reads 1.05 for every sampling).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import napari_mrcz as nm
from napari_mrcz.format.voxel import MAX_ERROR, NICE_DIGITS, cell_from_voxel, scale_decimal, voxel_from_cell

HALF_ULP = 2.0**-24  # float32 rounding, relative
voxels = st.floats(min_value=1e-4, max_value=1e5, allow_nan=False, allow_infinity=False)
samplings = st.integers(min_value=1, max_value=200_000)


def _digits(value: float) -> int:
    return len(repr(value).split("e")[0].replace(".", "").replace("-", "").strip("0"))


def _error(read: float, written: float) -> float:
    return abs(read - written) / written


@settings(max_examples=1000, deadline=None)
@given(voxels, samplings)
def test_read_is_within_float32_precision(voxel: float, n: int) -> None:
    read = voxel_from_cell(cell_from_voxel(voxel, n), n)
    assert cell_from_voxel(read, n) == cell_from_voxel(voxel, n)  # writes the same cell again
    if _digits(read) <= NICE_DIGITS:
        assert _error(read, voxel) <= 2 * HALF_ULP * (1 + 1e-9)  # both ends of the cell's range, at worst
    else:
        assert _error(read, voxel) <= MAX_ERROR


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 100, 128, 255, 256, 360, 512, 1000, 3838, 4096, 11520, 65536])
def test_nice_decimals_read_as_written(n: int) -> None:
    rng = np.random.default_rng(n)
    exact = {3: 0, 4: 0, 5: 0, 6: 0}
    for digits in exact:
        values = {float(f"{v:.{digits}g}") for v in rng.uniform(0.05, 50, 400)}
        for value in values:
            read = voxel_from_cell(cell_from_voxel(value, n), n)
            if digits <= NICE_DIGITS:
                assert read == value, (value, n, read)
            else:
                assert read == value or _error(read, value) <= MAX_ERROR
            exact[digits] += read == value
        exact[digits] /= len(values)
    assert min(exact.values()) > 0.85, exact  # longer decimals too, wherever the cell leaves no doubt


@pytest.mark.parametrize(
    ("voxel", "n"), [(1.05, 64), (1.05, 4096), (0.834, 256), (13.6, 256), (1.0825, 4096), (0.1, 3), (2.1, 10)]
)
def test_named_values(voxel: float, n: int) -> None:
    assert voxel_from_cell(cell_from_voxel(voxel, n), n) == voxel


def test_exact_quotient_when_no_short_decimal_fits() -> None:
    v, n = 1 / 3, 7
    read = voxel_from_cell(cell_from_voxel(v, n), n)
    assert _error(read, v) <= MAX_ERROR and read != float(f"{v:.7g}")


@pytest.mark.parametrize(("cell", "n", "expected"), [(0.0, 5, 0.0), (-3.0, 5, 0.0), (float("nan"), 5, 0.0),
                                                     (10.0, 0, 0.0), (float("inf"), 5, float("inf"))])
def test_degenerate_cells(cell: float, n: int, expected: float) -> None:
    assert voxel_from_cell(cell, n) == expected


@pytest.mark.parametrize(("value", "power", "expected"), [(1.05, -1, 0.105), (13.6, -1, 1.36), (0.105, 1, 1.05),
                                                          (1e-05, -1, 1e-06), (float("inf"), -1, float("inf"))])
def test_scale_decimal_shifts_the_decimal(value: float, power: int, expected: float) -> None:
    assert scale_decimal(value, power) == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    voxel=st.tuples(voxels, voxels, voxels),
    shape=st.tuples(st.integers(1, 9), st.integers(1, 40), st.integers(1, 40)),
    compressor=st.sampled_from([None, "zstd", "lz4"]),
    two_d=st.booleans(),
)
def test_files_keep_voxel_size_on_every_axis(tmp_path: Path, voxel: tuple, shape: tuple, compressor: str | None,
                                             two_d: bool) -> None:
    """Plain and MRCZ files, 2-D and 3-D: each axis reads back within float32 precision, and is what
    the header's cell says (mrcfile reads the same cell)."""
    data = np.zeros(shape[1:] if two_d else shape, np.int8)
    path = tmp_path / ("v.mrc" if compressor is None else "v.mrcz")
    nm.write(path, data, voxel_size=voxel, compressor=compressor)
    got = nm.read(path).voxel_size
    for axis, (read, written) in enumerate(zip(got, voxel)):
        if two_d and axis == 0:
            continue  # a single image has no z spacing of its own (its MZ is 1)
        bound = 2 * HALF_ULP * (1 + 1e-9) if _digits(read) <= NICE_DIGITS else MAX_ERROR
        assert _error(read, written) <= bound, (axis, read, written)
    if compressor is None:
        import mrcfile

        with warnings.catch_warnings(), mrcfile.open(path, permissive=True) as mrc:
            warnings.simplefilter("ignore")
            stored = (mrc.voxel_size.z, mrc.voxel_size.y, mrc.voxel_size.x)  # float32 CELLA / M
        for read, other in zip(got[1:] if two_d else got, stored[1:] if two_d else stored):
            assert math.isclose(read, other, rel_tol=2 * HALF_ULP)


def test_nice_voxel_size_through_files(tmp_path: Path) -> None:
    for compressor, name in ((None, "a.mrc"), ("zstd", "a.mrcz")):
        nm.write(tmp_path / name, np.zeros((64, 64, 64), np.int8), voxel_size=(2.1, 1.05, 1.05), compressor=compressor)
        assert nm.read(tmp_path / name).voxel_size == (2.1, 1.05, 1.05)
