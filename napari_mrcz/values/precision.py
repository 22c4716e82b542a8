"""What the writer does to each z-slice's values before compressing it: :class:`Precision`.

Three steps, each opt-in except the last: round float data within a ``tolerance``
(:mod:`.quantize`), store integer-valued data in an integer mode (``dtype="int"`` or an integer
dtype: integer decimation, checked exactly), and convert to the dtype MRC stores (:mod:`.dtypes`).
Pure numpy, thread-safe once planned: the writer's worker threads call :meth:`Precision.apply`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import Finding, MrczError
from ..format.constants import DECIMATION_LABEL_PREFIX
from .dtypes import convert, first_fitting, storage_dtype
from .quantize import check_tolerance, quantize, tolerance_label

INT = "int"
INTEGER_DTYPES = tuple(np.dtype(d) for d in ("i1", "i2", "u2"))
"""The MRC2014 integer modes 0, 1 and 6 that ``dtype="int"`` chooses from, smallest first."""
EXPLICIT_INTEGER_DTYPES = INTEGER_DTYPES + tuple(np.dtype(d) for d in ("i4", "u4"))
"""What ``dtype=`` may name: those, and mrcz's non-standard modes 7 and 8."""


def check_dtype(dtype: Any) -> str | np.dtype | None:
    """``dtype`` as None, ``"int"`` or one of the integer dtypes MRC stores.

    Raises
    ------
    MrczError
        Anything else.
    """
    if dtype is None or (isinstance(dtype, str) and dtype == INT):
        return dtype
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.newbyteorder("=") not in EXPLICIT_INTEGER_DTYPES:
        raise MrczError(
            f"dtype must be None, 'int' (the smallest of int8, int16, uint16 that holds the values) or "
            f"one of int8, int16, uint16, int32, uint32; not {dtype!r}"
        )
    return dt.newbyteorder("=")


def value_range(block: np.ndarray) -> tuple[float, float]:
    """(min, max) of a real block; NaN when it holds a NaN."""
    return (float(block.min()), float(block.max())) if block.size else (0.0, 0.0)


def smallest_integer_dtype(lo: float, hi: float) -> np.dtype:
    """The first of int8, int16, uint16 that holds [lo, hi].

    Raises
    ------
    MrczError
        None does (or the range is not finite).
    """
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise MrczError("NaN or infinite values cannot be stored as integers; pass dtype=None to keep them as float")
    fitting = first_fitting(lo, hi, INTEGER_DTYPES)
    if fitting is not None:
        return fitting
    raise MrczError(
        f"values from {lo:g} to {hi:g} do not fit a standard integer MRC mode (int8, int16, uint16); "
        "keep them as float, or pass dtype=np.int32 (mrcz's non-standard mode 7)"
    )


def integer_dtype_for(values: np.ndarray, tolerance: float | None = None) -> np.dtype:
    """The dtype ``dtype="int"`` stores real ``values`` in, after rounding within ``tolerance``.

    Raises
    ------
    MrczError
        NaN or infinite values, or a range no standard integer mode holds.
    """
    lo, hi = value_range(values)
    if tolerance is not None and values.dtype.kind == "f":  # rounding is monotonic: round the extremes
        lo, hi = (float(v) for v in quantize(np.array([lo, hi], values.dtype), tolerance))
    return smallest_integer_dtype(lo, hi)


@dataclass(frozen=True)
class PrecisionSettings:
    """What may happen to the values on the way to the file, as one value (checked when made).

    Attributes
    ----------
    tolerance
        Bound on |stored - original| for float and complex data; None (or 0, stored as None): lossless.
    dtype
        None; ``"int"`` (the smallest standard integer mode that holds the values); or an integer
        dtype (int8, int16, uint16, int32, uint32).
    lossy_cast
        Allow rounding float64/complex128 to float32/complex64.

    Raises
    ------
    MrczError
        An invalid tolerance or dtype.
    """

    tolerance: float | None = None
    dtype: str | np.dtype | None = None
    lossy_cast: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "tolerance", check_tolerance(self.tolerance))
        object.__setattr__(self, "dtype", check_dtype(self.dtype))
        object.__setattr__(self, "lossy_cast", bool(self.lossy_cast))

    def pipeline(self) -> Precision:
        """A new :class:`Precision` for one file with these settings."""
        return Precision(self.tolerance, self.dtype, self.lossy_cast)


class Precision:
    """The per-slice value pipeline for one file: quantize, decimate to integers, convert.

    Parameters
    ----------
    tolerance
        Bound on |stored - original| for float and complex data (None or 0: lossless).
    dtype
        None; ``"int"`` (the smallest standard integer mode that holds the first block's values); or
        an integer dtype. The values must then be integers that fit, checked on every slice.
    lossy_cast
        Allow rounding float64/complex128 to float32/complex64 (see :func:`.dtypes.storage_dtype`).
    """

    def __init__(self, tolerance: Any = None, dtype: Any = None, lossy_cast: bool = False) -> None:
        self.tolerance = check_tolerance(tolerance)
        self.request = check_dtype(dtype)
        self.lossy_cast = lossy_cast
        self.source: np.dtype | None = None
        self.stored: np.dtype | None = None
        self._check = False
        self._integer = False  # decimating to self.stored, checked exactly
        self.cast_error = 0.0  # largest |stored - value| from rounding float64/complex128 (lossy_cast)
        self._narrowing = False  # rounding float64/complex128 to the stored dtype, then quantizing that
        self._max_error = 0.0  # the largest |stored - original| seen where narrowing adds to the tolerance
        self._lock = threading.Lock()

    @property
    def bound(self) -> float | None:
        """The bound on |stored - original| for the slices applied so far: the tolerance, or the largest
        error seen when rounding float64 to float32 before quantizing added to it; None when lossless."""
        return None if self.tolerance is None else max(self.tolerance, self._max_error)

    @property
    def labels(self) -> list[str]:
        """What the file's MRC labels record (after the last :meth:`apply`): the bound, the decimation."""
        out = []
        if self.tolerance is not None:
            assert self.source is not None and self.stored is not None
            grid_dtype = self.stored if self._narrowing else self.source
            out.append(tolerance_label(self.tolerance, grid_dtype, self.bound))
        if self._integer and self.source is not None and self.source.kind == "f":
            out.append(f"{DECIMATION_LABEL_PREFIX}{self.source} values stored as {self.stored} (exactly)")
        return out

    def cast_warning(self) -> str | None:
        """What to tell the user after float64/complex128 values were rounded (``lossy_cast``), or None."""
        if not self.cast_error or self.source is None or self.stored is None:
            return None
        return (f"{self.source} values stored as {self.stored} (MRC holds no wider float): largest rounding "
                f"error {self.cast_error:.3g} (at most 2⁻²⁴ of each value)")

    def plan(self, first: np.ndarray, source: str = "<data>", findings: list[Finding] | None = None) -> np.dtype:
        """Decide the stored dtype (native byte order) from the first block of ``source``'s data; warns
        when a tolerance does not apply (integer data), or appends that to ``findings`` when given.

        Raises
        ------
        MrczError
            ``dtype`` with complex data, or ``"int"`` with values no standard integer mode holds.
        UnsupportedError
            A dtype MRC cannot store.
        """
        self.source = first.dtype
        kind = first.dtype.kind
        if self.tolerance is not None and kind not in "fc":
            Finding(source, f"tolerance={self.tolerance:g} ignored: {first.dtype} data is always stored exactly"
                    ).report(findings, stacklevel=4)
            self.tolerance = None
        if self.request is None:
            self.stored, self._check = storage_dtype(first.dtype, self.lossy_cast)
        elif kind == "c":
            raise MrczError(f"dtype={self.request!r} stores integers; {first.dtype} data is complex")
        else:
            self.stored = integer_dtype_for(first, self.tolerance) if self.request == INT else self.request
            self._integer = True
        # float64 rounded to float32 (lossy_cast): quantize what is stored, the float32 values, so the
        # grid survives the cast; the error is then the tolerance plus the cast's, measured per slice
        self._narrowing = (self.tolerance is not None and not self._integer and not self._check
                           and self.stored != first.dtype.newbyteorder("="))
        return self.stored

    def apply(self, block: np.ndarray, first_z: int) -> np.ndarray:
        """The values to store for ``block`` (slices from ``first_z``), in the stored dtype, native order.

        Raises
        ------
        MrczError
            Values that cannot be stored as planned (not integers, out of range, not exact in float32).
        """
        assert self.stored is not None, "plan() first"
        if self._narrowing:
            assert self.tolerance is not None
            cast = convert(block, self.stored, False, first_z)
            values = quantize(cast, self.tolerance)
            cast_error, total = _largest_error(cast, block), _largest_error(values, block)
            with self._lock:
                self.cast_error = max(self.cast_error, cast_error)
                self._max_error = max(self._max_error, total)
            return values
        values = block if self.tolerance is None else quantize(block, self.tolerance)
        if not self._integer:
            out = convert(values, self.stored, self._check, first_z)
            if self.lossy_cast and values.dtype.kind in "fc" and out.dtype.itemsize < values.dtype.itemsize:
                cast_error = _largest_error(out, values)
                with self._lock:
                    self.cast_error = max(self.cast_error, cast_error)
            return out
        lo, hi = value_range(values)
        info = np.iinfo(self.stored)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise MrczError(
                f"NaN or infinite values in slices from z={first_z} cannot be stored as {self.stored}; "
                "pass dtype=None to keep them as float"
            )
        if not (info.min <= lo and hi <= info.max):
            chosen = " (chosen from the first block)" if self.request == INT else ""
            raise MrczError(
                f"values from {lo:g} to {hi:g} in slices from z={first_z} do not fit {self.stored}{chosen}; "
                "pass a wider dtype such as dtype=np.int16, or dtype=None to keep them as they are"
            )
        out = values.astype(self.stored)
        if values.dtype.kind == "f" and not np.array_equal(out, values):
            raise MrczError(
                f"values in slices from z={first_z} are not all integers, so they cannot be stored as "
                f"{self.stored} exactly; pass dtype=None (or a tolerance >= 0.5 to round them first)"
            )
        return out


def _largest_error(stored: np.ndarray, original: np.ndarray) -> float:
    """The largest finite |stored - original| (inf - inf: a kept value, no error), in ``original``'s dtype."""
    with np.errstate(invalid="ignore", over="ignore"):  # and float64 beyond float32
        error = np.abs(stored.astype(original.dtype) - original)
    return float(np.max(error, initial=0.0, where=np.isfinite(error)))
