"""Header statistics (DMIN, DMAX, DMEAN, RMS) accumulated slice by slice in one pass.

Each slice is summarised on its own (:func:`slice_stats`: count, mean, sum of squared deviations,
min, max), so slices can be summarised on several threads at once; the summaries are merged in slice
order with Chan et al.'s pairwise formula, so the result does not depend on the threads' timing and
matches a whole-array computation to float32 precision without a second pass or float64 copies.
"""

from __future__ import annotations

import math
import threading
from typing import NamedTuple

import numpy as np

from ...errors import MrczError
from ...format.constants import STATS_NOT_DETERMINED
from .integer import INTEGER_KINDS, integer_sums, squares_fit
from .integer import PIECE as INTEGER_PIECE

_PIECE = 2**18  # values converted to float32 at a time: 1 MiB, so the passes over it stay in L2 cache
_ONES = np.ones(_PIECE, dtype=np.float32)  # sums as dot products: faster than np.add.reduce on float32
_scratch = threading.local()


def stats_wanted(stats: bool | str, compressor: str | None) -> bool:
    """Whether a write computes DMIN/DMAX/DMEAN/RMS: ``stats`` True or False, or "auto": for plain MRC
    (IMOD, RELION and mrcfile.validate use them) but not for MRCZ, which marks them "not determined"
    as MRC2014 allows (no MRCZ reader relies on them; mrcz itself writes the first frame's).

    Raises
    ------
    MrczError
        ``stats`` is not True, False or "auto".
    """
    if stats == "auto":
        return compressor is None
    if not isinstance(stats, (bool, np.bool_)):
        raise MrczError(f"stats must be True, False or 'auto', not {stats!r}")
    return bool(stats)


class SliceStats(NamedTuple):
    """Summary of one slice (or block): complex data has no min/max."""

    count: int
    mean: complex | float
    m2: float
    dmin: float
    dmax: float
    complex: bool


def _buffer(n: int) -> np.ndarray:
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.size < n:
        buf = _scratch.buf = np.empty(max(n, 1024), dtype=np.float32)
    return buf[:n]


def slice_stats(values: np.ndarray) -> SliceStats | None:
    """Summarise ``values`` (any shape); None when empty. Thread-safe.

    Taken a piece at a time, each piece's min and max while it is in cache. Integer pieces whose
    squares fit their own width (counting data) are summed exactly in integers (:mod:`intstats`);
    others in float32 pieces of 1 MiB (dot products, in L2 cache), centred on the mean of 256
    sampled values so that large means cost no precision. Pieces are merged in float64.
    """
    k = values.size
    if k == 0:
        return None
    flat = values.reshape(-1)
    if np.iscomplexobj(flat):
        mean: complex | float = complex(flat.mean(dtype=np.complex128))
        dev = flat - np.complex64(mean)
        m2 = float(dev.real @ dev.real) + float(dev.imag @ dev.imag)
        return SliceStats(k, mean, m2, math.inf, -math.inf, True)
    total = RunningStats()
    if flat.dtype in INTEGER_KINDS:
        n = s1 = s2 = 0  # exact over the pieces summed as integers
        lo, hi = math.inf, -math.inf
        shift = None
        for start in range(0, k, INTEGER_PIECE):
            piece = flat[start : start + INTEGER_PIECE]
            p_lo, p_hi = int(piece.min()), int(piece.max())
            if squares_fit(p_lo, p_hi, piece.itemsize):
                p1, p2 = integer_sums(piece, p_lo, p_hi)
                n, s1, s2 = n + piece.size, s1 + p1, s2 + p2
                lo, hi = min(lo, p_lo), max(hi, p_hi)
            else:
                shift = _shift(flat) if shift is None else shift
                for part in range(0, piece.size, _PIECE):
                    total.merge(_float_stats(piece[part : part + _PIECE], shift, (p_lo, p_hi)))
        exact = SliceStats(n, s1 / n, (n * s2 - s1 * s1) / n, lo, hi, False) if n else None
        if not total.count:
            return exact
        total.merge(exact)
    else:
        shift = _shift(flat)
        for start in range(0, k, _PIECE):
            total.merge(_float_stats(flat[start : start + _PIECE], shift))
    return SliceStats(total.count, total.mean, total.m2, total.dmin, total.dmax, False)


def _shift(flat: np.ndarray) -> float:
    """The mean of 256 values sampled across the slice: near the mean, so sums around it do not cancel."""
    shift = float(np.mean(flat[:: max(1, flat.size // 256)], dtype=np.float64))
    return shift if math.isfinite(shift) else 0.0


def _float_stats(flat: np.ndarray, shift: float, bounds: tuple[float, float] | None = None) -> SliceStats:
    """Summary of up to :data:`_PIECE` real values, summed in float32 around ``shift``; ``bounds`` is
    (min, max) when already known."""
    k = flat.size
    buf = _buffer(k)
    centre = np.float32(shift)
    if flat.dtype == np.float32:  # one pass (other types: a cast then the subtraction is faster)
        np.subtract(flat, centre, out=buf)
    else:
        np.copyto(buf, flat, casting="unsafe")
        buf -= centre
    if bounds is not None:
        lo, hi = bounds
    else:
        lo, hi = float(flat.min()), float(flat.max())  # of the values, not the float32 copy (int32)
    if math.isnan(lo) or math.isnan(hi):  # NaN voxels: report the range of the others
        lo, hi = float(np.nanmin(flat, initial=math.inf)), float(np.nanmax(flat, initial=-math.inf))
    s1 = float(buf @ _ONES[:k])
    s2 = float(buf @ buf)
    return SliceStats(k, float(centre) + s1 / k, max(s2 - s1 * s1 / k, 0.0), lo, hi, False)


class RunningStats:
    """Accumulates min, max, mean and standard deviation over slices."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: complex | float = 0.0
        self.m2 = 0.0
        self.dmin = math.inf
        self.dmax = -math.inf
        self.complex = False

    def add(self, values: np.ndarray) -> None:
        """Fold one slice (any shape) into the statistics."""
        self.merge(slice_stats(values))

    def merge(self, part: SliceStats | None) -> None:
        """Fold a :func:`slice_stats` summary into the statistics (in slice order, for reproducible sums)."""
        if part is None:
            return
        k = part.count
        self.complex = self.complex or part.complex
        self.dmin, self.dmax = min(self.dmin, part.dmin), max(self.dmax, part.dmax)
        total = self.count + k
        delta = part.mean - self.mean
        self.mean += delta * k / total
        self.m2 += part.m2 + abs(delta) ** 2 * self.count * k / total
        self.count = total

    def header_values(self) -> tuple[float, float, float, float]:
        """(DMIN, DMAX, DMEAN, RMS) for the header; complex data gets only RMS, as mrcfile writes."""
        if not self.count:
            return STATS_NOT_DETERMINED
        rms = math.sqrt(max(self.m2, 0.0) / self.count)
        if self.complex:
            return (*STATS_NOT_DETERMINED[:3], rms)
        return (self.dmin, self.dmax, float(self.mean.real), rms)  # type: ignore[union-attr]
