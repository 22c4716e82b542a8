"""Bounded-error rounding (format.quantize) and the integer-decimation plan (format.precision), in memory.

The bound |stored - original| <= tolerance is checked in float64 for every value Hypothesis can make
(subnormals, the largest finite values, negative zero, NaN, ±inf) and tolerances from 1e-300 to
1e300, for float16, float32, float64 and complex64.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from napari_mrcz.errors import MrczError, MrczWarning  # noqa: E402
from napari_mrcz.values.precision import Precision, check_dtype, integer_dtype_for, smallest_integer_dtype  # noqa: E402
from napari_mrcz.values.quantize import (  # noqa: E402
    check_tolerance,
    grid_step,
    parse_tolerance,
    quantize,
    tolerance_from_labels,
    tolerance_label,
)

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TOLERANCES = st.one_of(
    st.floats(1e-300, 1e300),
    st.sampled_from([1e-45, 1e-40, 2.0**-149, 2.0**-126, 0.5, 1.0, 3.0, 2.0**103, 2.0**104, 3e38, 1e39]),
)


def exact_error(stored: np.ndarray, original: np.ndarray) -> np.ndarray:
    """|stored - original| in exact float64 (complex: the modulus) where the original is finite."""
    if original.dtype.kind == "c":
        s, o = stored.astype(np.complex128), original.astype(np.complex128)
        finite = np.isfinite(o.real) & np.isfinite(o.imag)
        return np.abs(s[finite] - o[finite])
    finite = np.isfinite(original)
    return np.abs(stored[finite].astype(np.float64) - original[finite].astype(np.float64))


def assert_specials_kept(stored: np.ndarray, original: np.ndarray) -> None:
    bits = {2: np.uint16, 4: np.uint32, 8: np.uint64}[original.dtype.itemsize]
    special = ~np.isfinite(original)
    assert np.array_equal(stored[special].view(bits), original[special].view(bits))  # NaN payloads too
    zero = original == 0
    assert np.array_equal(np.signbit(stored[zero]), np.signbit(original[zero]))


@pytest.mark.slow
@SETTINGS
@given(values=st.sampled_from(["float16", "float32", "float64"]).flatmap(
           lambda dt: hnp.arrays(np.dtype(dt), st.integers(0, 64))),
       tolerance=TOLERANCES)
def test_every_value_within_tolerance(values: np.ndarray, tolerance: float) -> None:
    stored = quantize(values, tolerance)
    assert stored.dtype == values.dtype and stored.shape == values.shape
    assert np.all(exact_error(stored, values) <= tolerance)
    assert_specials_kept(stored, values)
    q = grid_step(tolerance, values.dtype)
    if q is not None:  # on the grid: no lower mantissa bits left for the codec
        finite = np.isfinite(stored)
        assert np.all(np.mod(stored[finite].astype(np.float64), q) == 0)
    assert np.array_equal(quantize(stored, tolerance), stored, equal_nan=True)  # idempotent


@pytest.mark.slow
@SETTINGS
@given(values=hnp.arrays(np.complex64, st.integers(0, 32)), tolerance=TOLERANCES)
def test_complex_modulus_within_tolerance(values: np.ndarray, tolerance: float) -> None:
    stored = quantize(values, tolerance)
    assert stored.dtype == np.complex64 and stored.shape == values.shape
    assert np.all(exact_error(stored, values) <= tolerance)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_extremes(dtype: str) -> None:
    info = np.finfo(dtype)
    values = np.array([info.max, -info.max, info.max / 3, info.tiny, info.smallest_subnormal,
                       -info.smallest_subnormal, -0.0, 0.0, np.inf, -np.inf, np.nan, 1.5, -2.5], dtype)
    for tolerance in (1e-300, float(info.smallest_subnormal), 1e-3, 0.75, float(info.max), 1e300):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow/invalid warnings leak out
            stored = quantize(values, tolerance)
        assert np.all(exact_error(stored, values) <= tolerance), tolerance
        assert_specials_kept(stored, values)


def test_grid_step() -> None:
    assert grid_step(0.04375, np.float32) == 0.0625  # sigma/16 of sigma 0.7: 2t = 0.0875
    assert grid_step(0.5, np.float32) == 1.0 and grid_step(0.49, np.float32) == 0.5
    assert grid_step(1e30, np.float32) == 2.0**100 and grid_step(1e33, np.float32) == 2.0**104  # the largest binade's spacing
    assert grid_step(2.0**-150, np.float32) == 2.0**-149 and grid_step(2.0**-151, np.float32) is None
    assert grid_step(1e-50, np.float32) is None  # below the smallest subnormal: nothing to round
    assert grid_step(1e300, np.float16) == 32.0


def test_integer_values_untouched() -> None:
    counts = np.arange(-5, 5, dtype=np.int16)
    assert quantize(counts, 3.0) is counts


def test_labels_round_trip() -> None:
    label = tolerance_label(0.04375, np.float32)
    assert label == "napari-mrcz quantized, tolerance 0.04375 (grid 0.0625)" and len(label) <= 80
    assert tolerance_from_labels(["MRCZ0.6.0", "napari-mrcz 0.1.0", label]) == 0.04375
    assert tolerance_from_labels([tolerance_label(1 / 3, np.float32)]) == 1 / 3  # repr: exact
    twice = [tolerance_label(0.25, np.float32), tolerance_label(0.5, np.float32)]
    assert tolerance_from_labels(twice) == 0.75  # converted twice: the errors add up
    assert tolerance_from_labels(["napari-mrcz 0.1.0", "made by IMOD"]) is None
    assert len(tolerance_label(1.2345678901234567e-300, np.complex64)) <= 80


@pytest.mark.parametrize("text, expected", [
    ("0", 0.0), ("0.05", 0.05), (" 1e-3 ", 0.001), ("auto", Fraction(1, 16)), ("AUTO:1/32", Fraction(1, 32)),
    ("auto:0.125", Fraction(1, 8)), ("auto:", Fraction(1, 16)),
])
def test_parse_tolerance(text: str, expected: float | Fraction) -> None:
    got = parse_tolerance(text)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("text", ["-1", "nan", "inf", "fast", "auto:0", "auto:2", "auto:x", "auto:1/0", ""])
def test_parse_tolerance_refuses(text: str) -> None:
    with pytest.raises(MrczError, match="tolerance"):
        parse_tolerance(text)


@pytest.mark.parametrize("value", [-0.1, math.nan, math.inf, "0.1", True, [0.1]])
def test_check_tolerance_refuses(value: object) -> None:
    with pytest.raises(MrczError, match="tolerance"):
        check_tolerance(value)


def test_check_tolerance() -> None:
    assert check_tolerance(None) is None and check_tolerance(0) is None and check_tolerance(0.0) is None
    assert check_tolerance(np.float32(0.5)) == 0.5 and check_tolerance(2) == 2.0


def test_smallest_integer_dtype() -> None:
    assert smallest_integer_dtype(-128, 127) == np.int8
    assert smallest_integer_dtype(0, 255) == np.int16  # int8 is signed; MRC mode 0
    assert smallest_integer_dtype(-1, 1000) == np.int16
    assert smallest_integer_dtype(0, 65535) == np.uint16
    for lo, hi in ((-1, 40000), (0, 70000), (math.nan, 1), (0, math.inf)):
        with pytest.raises(MrczError):
            smallest_integer_dtype(lo, hi)
    assert integer_dtype_for(np.array([0.4, 300.2], np.float32), 0.5) == np.int16  # rounded extremes
    assert integer_dtype_for(np.array([-3.0, 100.0], np.float32)) == np.int8


@pytest.mark.parametrize("dtype", ["float32", "uint8", np.dtype(">i2"), "complex64", "int64", 3])
def test_check_dtype_refuses(dtype: object) -> None:
    if dtype == np.dtype(">i2"):
        assert check_dtype(dtype) == np.int16  # any byte order: stored in the file's
        return
    with pytest.raises(MrczError, match="dtype must be"):
        check_dtype(dtype)


def test_precision_plan_and_apply() -> None:
    counts = np.array([[[0.0, 3.0], [7.0, 200.0]]], np.float32)
    plan = Precision(dtype="int")
    assert plan.plan(counts) == np.int16 and plan.apply(counts[0], 0).dtype == np.int16
    assert plan.labels == ["napari-mrcz: float32 values stored as int16 (exactly)"]
    with pytest.raises(MrczError, match="not all integers"):
        plan.apply(counts[0] + 0.5, 1)
    with pytest.raises(MrczError, match=r"do not fit int16 \(chosen from the first block\)"):
        plan.apply(counts[0] * 1000, 2)
    with pytest.raises(MrczError, match="NaN"):
        plan.apply(np.full((2, 2), np.nan, np.float32), 3)
    with pytest.warns(MrczWarning, match="ignored"):
        ints = Precision(tolerance=2.0)
        assert ints.plan(np.zeros((1, 2, 2), np.int16)) == np.int16
    assert ints.labels == [] and ints.tolerance is None
    with pytest.raises(MrczError, match="complex"):
        Precision(dtype="int").plan(np.zeros((1, 2, 2), np.complex64))
    rounded = Precision(tolerance=0.5, dtype="int")
    assert rounded.plan(counts + 0.3) == np.int16
    assert np.array_equal(rounded.apply(counts[0] + 0.3, 0), counts[0])
