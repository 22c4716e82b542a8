"""The values of pyramid levels: float levels rounded to LEVEL_MANTISSA_BITS (bounded, ties to even,
NaN/inf/overflow kept), and the summed-then-scaled mean equal to the scaled-then-summed one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from napari_mrcz.values.levels import (LEVEL_MANTISSA_BITS, _mean, _scaled_first, downsample, level_mean,
                                       level_mean_planes, round_mantissa)

FLOATS = {
    "f4": st.floats(width=32, allow_nan=True, allow_infinity=True),
    "f8": st.floats(allow_nan=True, allow_infinity=True),
}


@pytest.mark.parametrize("dtype", ["f4", "f8"])
@given(data=st.data())
def test_rounding_is_bounded_and_keeps_the_special_values(dtype: str, data: st.DataObject) -> None:
    values = data.draw(hnp.arrays(dtype, st.integers(1, 64), elements=FLOATS[dtype]))
    got = round_mantissa(values)
    assert got.dtype == values.dtype and got.shape == values.shape
    finite = np.isfinite(values)
    assert np.array_equal(got[~finite], values[~finite], equal_nan=True)
    assert np.all(np.isfinite(got[finite]))
    # at most half a unit in the last kept place: 2^-(bits+1) of the value (of the smallest normal below it)
    tiny = np.finfo(dtype).tiny
    bound = np.maximum(np.abs(values[finite]), tiny) * 2.0 ** -(LEVEL_MANTISSA_BITS + 1)
    assert np.all(np.abs(got[finite].astype(np.float64) - values[finite]) <= bound * (1 + 1e-9))
    assert np.array_equal(round_mantissa(got), got, equal_nan=True)  # idempotent
    assert np.all(np.signbit(got[finite]) == np.signbit(values[finite]))


def test_rounding_drops_the_low_bits_ties_to_even() -> None:
    drop = 23 - LEVEL_MANTISSA_BITS
    raw = np.array([0x3F800000, 0x3F800000 | (1 << (drop - 1)), 0x3F800000 | (3 << (drop - 1)),
                    0x3F800000 | (1 << (drop - 1)) + 1], dtype=np.uint32)
    got = round_mantissa(raw.view(np.float32)).view(np.uint32)
    assert list(got) == [0x3F800000, 0x3F800000, 0x3F800000 | (1 << (drop + 1)), 0x3F800000 | (1 << drop)]
    assert np.all(got & ((1 << drop) - 1) == 0)


def test_largest_float_is_not_rounded_to_infinity() -> None:
    top = np.array([np.finfo(np.float32).max, -np.finfo(np.float32).max], np.float32)
    assert np.array_equal(round_mantissa(top), top)


@pytest.mark.parametrize("dtype", ["i1", "u2", "i4", "f2", "c8"])
def test_other_dtypes_are_not_rounded(dtype: str) -> None:
    values = np.arange(-5, 5).astype(dtype) if dtype != "u2" else np.arange(10).astype(dtype)
    assert round_mantissa(values) is values


@given(hnp.arrays("f4", hnp.array_shapes(min_dims=3, max_dims=3, max_side=7),
                  elements=st.floats(-2.0**100, 2.0**100, width=32, allow_subnormal=False)))
def test_summed_mean_equals_the_scaled_mean(block: np.ndarray) -> None:
    """Away from overflow and subnormals the fast path is the scaled-first sum, bit for bit."""
    halved = [a for a in range(3) if block.shape[a] >= 2]
    want = _scaled_first(block, halved, np.dtype("f4"))
    assert np.array_equal(downsample(block, [0, 1, 2]), want.astype("f4"))


def test_overflowing_sums_fall_back_to_scaling_first() -> None:
    block = np.full((2, 2, 4), np.finfo(np.float32).max, np.float32)
    block[..., 2:] = 1.0
    got = downsample(block, [0, 1, 2])
    assert got[0, 0, 0] == np.finfo(np.float32).max and got[0, 0, 1] == 1.0


def test_level_mean_is_the_rounded_mean() -> None:
    block = np.random.default_rng(5).normal(size=(4, 10, 10)).astype(np.float32)
    assert np.array_equal(level_mean(block, [0, 1, 2]), round_mantissa(downsample(block, [0, 1, 2])))
    ints = np.arange(64, dtype=np.int16).reshape(4, 4, 4)
    assert np.array_equal(level_mean(ints, [0, 1, 2]), downsample(ints, [0, 1, 2]))


@pytest.mark.parametrize("dtype", ["f4", "i2", "u1", "f2", "f8"])
@pytest.mark.parametrize("shape", [(2, 601, 1001), (3, 1200, 517), (1, 2049, 640), (2, 1, 300000)])
def test_banded_mean_equals_the_whole_array_mean(dtype: str, shape: tuple[int, ...]) -> None:
    """Big arrays are averaged a band of rows at a time; voxel for voxel the same as all at once."""
    rng = np.random.default_rng(sum(shape))
    data = (rng.normal(size=shape) * 50).astype(dtype)
    if np.dtype(dtype).kind == "f":
        data.flat[::997] = np.finfo(dtype).max  # sums that overflow, in some bands
        data.flat[::1999] = np.nan
    for axes in ([0, 1, 2], [1, 2]):
        halved = [a for a in axes if shape[a] >= 2]
        want = _mean(data, halved, data.dtype)
        assert np.array_equal(downsample(data, axes), want, equal_nan=True)
        if shape[0] <= 2:
            planes = list(data)
            got = level_mean_planes(planes, halve_z=axes[0] == 0)
            assert np.array_equal(got, round_mantissa(want)[0], equal_nan=True)
