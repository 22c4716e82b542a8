"""Header statistics (DMIN, DMAX, DMEAN, RMS) accumulated slice by slice in one pass.

Per-slice mean and sum of squared deviations are merged with Chan et al.'s pairwise formula, so the
result matches a whole-array computation to float32 precision without a second pass or float64 copies.
"""

from __future__ import annotations

import math

import numpy as np

UNSET = (0.0, -1.0, -2.0, -1.0)  # MRC2014: DMAX < DMIN, DMEAN < both, RMS < 0 mean "not determined"


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
        k = values.size
        if k == 0:
            return
        flat = values.reshape(-1)
        if np.iscomplexobj(flat):
            self.complex = True
            mean: complex | float = complex(flat.mean(dtype=np.complex128))
            dev = flat - np.complex64(mean)
            m2 = float(dev.real @ dev.real) + float(dev.imag @ dev.imag)
        else:
            mean = float(np.add.reduce(flat, dtype=np.float64)) / k
            dev = flat.astype(np.float32)
            dev -= np.float32(mean)  # centred before squaring: no cancellation for large means
            m2 = float(dev @ dev)
            lo, hi = float(flat.min()), float(flat.max())
            if math.isnan(lo) or math.isnan(hi):  # NaN voxels: report the range of the others
                lo, hi = float(np.nanmin(flat, initial=math.inf)), float(np.nanmax(flat, initial=-math.inf))
            self.dmin, self.dmax = min(self.dmin, lo), max(self.dmax, hi)
        total = self.count + k
        delta = mean - self.mean
        self.mean += delta * k / total
        self.m2 += m2 + abs(delta) ** 2 * self.count * k / total
        self.count = total

    def header_values(self) -> tuple[float, float, float, float]:
        """(DMIN, DMAX, DMEAN, RMS) for the header; complex data gets only RMS, as mrcfile writes."""
        if not self.count:
            return UNSET
        rms = math.sqrt(max(self.m2, 0.0) / self.count)
        if self.complex:
            return (*UNSET[:3], rms)
        return (self.dmin, self.dmax, float(self.mean.real), rms)  # type: ignore[union-attr]
