"""Which dtype MRC stores for an array's dtype, and the checked conversion to it.

MRC has no mode for uint8, bool, float64, complex128, int64 or uint64: the first two are widened
losslessly, the others narrowed only when every value survives (or, for floats, on request).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import MrczError, UnsupportedError
from ..format.modes import mode_from_dtype

# dtypes MRC cannot hold, and the lossless mapping used instead (values checked when it can lose)
_WIDEN = {"u1": "u2", "b1": "i1"}  # uint8 -> uint16 as mrcfile does; bool -> int8 0/1
_NARROW = {"f8": "f4", "c16": "c8", "i8": "i4", "u8": "u4"}


def storage_dtype(dtype: Any, lossy_cast: bool = False) -> tuple[np.dtype, bool]:
    """The dtype stored for data of ``dtype``, and whether converting needs a value check.

    int8, int16, uint16, float32, complex64, float16 and int32/uint32 (mrcz's modes 7/8) are stored
    as they are. uint8 is widened to uint16 and bool to int8 (lossless). float64, complex128, int64 and
    uint64 are narrowed only when every value survives (checked per slice); ``lossy_cast=True`` allows
    rounding float64/complex128.

    Raises
    ------
    UnsupportedError
        Any other dtype (strings, objects, structured, ...).
    """
    dt = np.dtype(dtype)
    key = dt.str[1:]
    if key in _WIDEN:
        return np.dtype(_WIDEN[key]), False
    if key in _NARROW:
        return np.dtype(_NARROW[key]), not (lossy_cast and dt.kind in "fc")
    try:
        mode_from_dtype(dt)
    except UnsupportedError:
        raise UnsupportedError(
            f"dtype {dt} cannot be stored in MRC (supported: int8, int16, uint16, int32, uint32, "
            "float16, float32, complex64; uint8, bool, float64, complex128, int64 and uint64 are "
            "converted when lossless)"
        ) from None
    return dt.newbyteorder("="), False


def first_fitting(lo: float, hi: float, candidates: Sequence[np.dtype]) -> np.dtype | None:
    """The first integer dtype of ``candidates`` that holds every value in [lo, hi]; None if none does."""
    for dt in candidates:
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dt)
    return None


def convert(block: np.ndarray, target: np.dtype, check: bool, first_z: int) -> np.ndarray:
    if block.dtype == target:
        return block
    if check and block.dtype.kind in "iu":
        info = np.iinfo(target)
        if block.size and (block.min() < info.min or block.max() > info.max):
            raise MrczError(
                f"{block.dtype} values in slices from z={first_z} do not fit in {target}; "
                "convert the data yourself"
            )
    out = block.astype(target)
    if check and block.dtype.kind in "fc" and not np.array_equal(out, block, equal_nan=True):
        raise MrczError(
            f"{block.dtype} values in slices from z={first_z} cannot be stored exactly as {target}; "
            f"cast with .astype({target.name!r}) or pass lossy_cast=True"
        )
    return out
