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

UNSET = (0.0, -1.0, -2.0, -1.0)  # MRC2014: DMAX < DMIN, DMEAN < both, RMS < 0 mean "not determined"
_PIECE = 2**18  # values converted to float32 at a time: 1 MiB, so the passes over it stay in L2 cache
_ONES = np.ones(_PIECE, dtype=np.float32)  # sums as dot products: faster than np.add.reduce on float32
_scratch = threading.local()


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

    Real data is summed in float32 pieces of 1 MiB (dot products, in L2 cache), centred on the mean of
    256 sampled values so that large means cost no precision; the per-piece sums are added in float64.
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
    lo, hi = float(flat.min()), float(flat.max())
    if math.isnan(lo) or math.isnan(hi):  # NaN voxels: report the range of the others
        lo, hi = float(np.nanmin(flat, initial=math.inf)), float(np.nanmax(flat, initial=-math.inf))
    shift = float(np.mean(flat[:: max(1, k // 256)], dtype=np.float64))  # near the mean: no cancellation
    if not math.isfinite(shift):
        shift = 0.0
    centre = np.float32(shift)
    buf = _buffer(min(k, _PIECE))
    s1 = s2 = 0.0
    for start in range(0, k, _PIECE):
        piece = flat[start : start + _PIECE]
        dev = buf[: piece.size]
        np.copyto(dev, piece, casting="unsafe")
        if shift:
            dev -= centre
        s1 += float(dev @ _ONES[: dev.size])
        s2 += float(dev @ dev)
    mean = shift + s1 / k
    return SliceStats(k, mean, max(s2 - s1 * s1 / k, 0.0), lo, hi, False)


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
            return UNSET
        rms = math.sqrt(max(self.m2, 0.0) / self.count)
        if self.complex:
            return (*UNSET[:3], rms)
        return (self.dmin, self.dmax, float(self.mean.real), rms)  # type: ignore[union-attr]
