"""Bounded-error rounding of float data (``tolerance``), and the label line that records it.

Float data is rounded to the nearest multiple of a power-of-two grid step ``q <= 2 x tolerance``, so
every stored value is within ``q / 2 <= tolerance`` of the original and its low mantissa bits are
zero: shuffle + blosc then compress it well, and the file stays an ordinary float32 (or float16)
MRC/MRCZ that mrcz, mrcfile and every blosc reader read unchanged. It lives in ``format/`` beside
:mod:`.dtypes` because, like the dtype policy, it decides which values are stored; it is pure numpy
on arrays in memory, run per z-slice by the writer's worker threads. Deciding *whether* and *how
much* to quantize is left to the caller (:func:`napari_mrcz.suggest_tolerance` proposes an amount).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import MrczError
from ..format.constants import TOLERANCE_LABEL_PREFIX as LABEL_PREFIX
_LABEL = re.compile(re.escape(LABEL_PREFIX) + r"([0-9.eE+-]+)")
AUTO = "auto"
DEFAULT_FRACTION = 1 / 16
"""The fraction of the noise that ``auto`` tolerances use (see :func:`napari_mrcz.suggest_tolerance`)."""


def check_tolerance(tolerance: Any) -> float | None:
    """``tolerance`` as a positive float, or None for lossless (None or 0).

    Raises
    ------
    MrczError
        Not a finite number >= 0.
    """
    if tolerance is None:
        return None
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.integer, np.floating)):
        raise MrczError(f"tolerance must be a number >= 0 in the data's units (0 or None: lossless), not {tolerance!r}")
    value = float(tolerance)
    if not math.isfinite(value) or value < 0:
        raise MrczError(f"tolerance must be a finite number >= 0 (0: lossless), not {tolerance!r}")
    return value or None


def grid_step(tolerance: float, dtype: Any) -> float | None:
    """The power-of-two grid step q <= 2 x ``tolerance`` used for real ``dtype`` (float16/32/64).

    Clamped to the dtype's range: above the spacing of its largest binade every value is already a
    multiple of that spacing (and a coarser step could round up past the largest finite value);
    None when the step is below the smallest subnormal, where every value is already on the grid.
    """
    info = np.finfo(dtype)
    _, exponent = math.frexp(tolerance)  # tolerance = m * 2**exponent, 0.5 <= m < 1: q = 2**exponent, exactly
    if exponent < info.minexp - info.nmant:  # the smallest subnormal's exponent
        return None
    return math.ldexp(1.0, min(exponent, info.maxexp - 1 - info.nmant))  # at most the largest binade's spacing


def quantize(values: np.ndarray, tolerance: float) -> np.ndarray:
    """A copy of float (or complex) ``values`` rounded to the grid of :func:`grid_step`.

    Every result satisfies ``|stored - original| <= tolerance``: for complex data each of the real
    and imaginary parts is rounded with ``tolerance / sqrt(2)``, so the bound holds for the complex
    difference. NaN and ±inf are kept as they are, negative zero stays negative zero, and values so
    large that their float spacing is at least the step are already on the grid and unchanged.
    Integer arrays are returned as they are.

    The arithmetic is exact in the array's own dtype: dividing and multiplying by a power of two
    only shifts the exponent, and ``rint`` of a value below 2**nmant is an integer the dtype holds.
    """
    kind = values.dtype.kind
    if kind == "c":
        parts = np.ascontiguousarray(values).view(values.real.dtype)
        return quantize(parts, tolerance / math.sqrt(2)).view(values.dtype).reshape(values.shape)
    if kind != "f":
        return values
    q = grid_step(tolerance, values.dtype)
    if q is None:
        return values.copy()
    step = values.dtype.type(q)
    limit = values.dtype.type(q * 2.0 ** np.finfo(values.dtype).nmant)  # at and above: already on the grid
    out = np.empty_like(values)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        np.divide(values, step, out=out)  # exact, or inf for values beyond limit (restored below)
        np.rint(out, out=out)
        np.multiply(out, step, out=out)
    if values.size:
        lo, hi = values.min(), values.max()  # NaN-propagating: a NaN fails the test below
        if not (-limit < lo and hi < limit):
            np.copyto(out, values, where=~(np.abs(values) < limit))  # NaN, ±inf, values beyond limit
    return out


def tolerance_label(tolerance: float, dtype: Any, bound: float | None = None) -> str:
    """The MRC label line recording a quantization with ``tolerance`` of ``dtype`` values (at most 80
    characters): the bound on |stored - original| (``bound`` when rounding to a narrower dtype added to
    it, else the tolerance), and the grid step."""
    real = np.empty(0, dtype).real.dtype
    step = tolerance / math.sqrt(2) if np.dtype(dtype).kind == "c" else tolerance
    q = grid_step(step, real)
    grid = f" (grid {q:.6g})" if q is not None else ""
    return f"{LABEL_PREFIX}{max(tolerance, bound or 0.0)!r}{grid}"[:80]


def carry_tolerance(kept: Sequence[str], ours: Sequence[str]) -> tuple[list[str], list[str]]:
    """Labels for a rewrite that quantizes again a file whose kept labels record a tolerance: the kept
    tolerance lines are folded into ours as one line with the sum of the bounds (what
    :func:`tolerance_from_labels` reads), so repeated lossy rewrites use one label, not one each.
    Unchanged when ``ours`` records no tolerance."""
    if not (any(_LABEL.match(lab) for lab in ours) and any(_LABEL.match(lab) for lab in kept)):
        return list(kept), list(ours)
    total = tolerance_from_labels([*kept, *ours])
    merged = f"{LABEL_PREFIX}{total!r}"[:80]
    new = [merged if _LABEL.match(lab) else lab for lab in ours]
    return [lab for lab in kept if not _LABEL.match(lab)], list(dict.fromkeys(new))


def tolerance_from_labels(labels: Iterable[str]) -> float | None:
    """The bound recorded by :func:`tolerance_label` lines: their sum (a file quantized twice is off
    by at most both tolerances), or None when the data was stored exactly."""
    found = [float(m.group(1)) for m in map(_LABEL.match, labels) if m is not None]
    total = math.fsum(v for v in found if math.isfinite(v) and v > 0)
    return total or None


def parse_tolerance(text: str) -> float | Fraction:
    """A tolerance as typed on the command line or in a setting: a number (0: lossless) as a float, or
    ``auto`` / ``auto:F`` (F a fraction of the noise such as ``1/16`` or ``0.0625``) as a Fraction.

    Raises
    ------
    MrczError
        Anything else, a negative number, or a fraction outside (0, 1].
    """
    spec = text.strip().lower()
    if spec == AUTO or spec.startswith(AUTO + ":"):
        part = spec[len(AUTO) + 1 :].strip() or "1/16"
        try:
            fraction = Fraction(part)
        except (ValueError, ZeroDivisionError):
            raise MrczError(f"tolerance {text!r}: the noise fraction after 'auto:' must be like 1/16 or 0.0625") from None
        if not 0 < fraction <= 1:
            raise MrczError(f"tolerance {text!r}: the noise fraction must be in (0, 1], e.g. auto:1/16")
        return fraction
    try:
        value = float(spec)
    except ValueError:
        raise MrczError(
            f"tolerance {text!r}: give a number in the data's units (0: lossless), 'auto' or 'auto:1/16'"
        ) from None
    return check_tolerance(value) or 0.0
