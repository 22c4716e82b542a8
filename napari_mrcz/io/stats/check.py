"""Header statistics (DMIN, DMAX, DMEAN, RMS) against the data, with mrcfile's tolerances.

MRC2014 defines DMIN/DMAX/DMEAN as the data's minimum, maximum and mean, and RMS as its standard
deviation. ``mrcfile.validate`` (1.5.4) requires DMIN/DMAX to equal the data's extremes exactly and
DMEAN/RMS to lie within 1% of the data's (``np.isclose(real, header, rtol=0.01)``); that 1% is the
allowance for writers that sum in float32. The same rules are applied here, with three corrections
where mrcfile is wrong: infinite values compare equal to themselves (``inf - inf`` is NaN), DMIN/DMAX
of int32/uint32 data may be the float32 rounding of the extreme (the header cannot hold more), and
mrcfile's absolute 1e-8 near a zero mean is replaced by the error bound of a pairwise float32 sum
(log2(n) float32 ulps of the largest magnitude), which scales with the data.
"""

from __future__ import annotations

import math

import numpy as np

from ..reader.file import MrcFileInfo
from .compute import RunningStats

_STATS_BLOCK_BYTES = 32 * 2**20
RELATIVE_TOLERANCE = 0.01
"""DMEAN and RMS may differ from the data's by this fraction of the header value (mrcfile's rtol)."""


def data_stats(info: MrcFileInfo, n_threads: int | None = None) -> tuple[float, float, float, float]:
    """(min, max, mean, rms) of the data, read a block of slices at a time; the first three are
    (0, -1, -2) for complex data, as the header marks them undetermined. NaN voxels are left out
    of min and max (and make mean and rms NaN).

    Raises
    ------
    MrczError
        A slice cannot be read or decompressed.
    """
    h = info.header
    step = max(1, _STATS_BLOCK_BYTES // max(h.slice_nbytes, 1))
    stats = RunningStats()
    with np.errstate(all="ignore"):  # NaN and inf voxels are data, not problems
        for z in range(0, h.nz, step):
            stats.add(info.read_slices(z, min(z + step, h.nz), n_threads))
    return stats.header_values()


def extreme_matches(real: float, found: float) -> bool:
    """DMIN/DMAX: the header holds the data's extreme, rounded to float32 (exact for every other mode)."""
    if math.isnan(real) or math.isnan(found):
        return math.isnan(real) and math.isnan(found)
    return float(np.float32(real)) == found


def average_matches(real: float, found: float, magnitude: float, count: int) -> bool:
    """DMEAN/RMS: within 1% of the header value, or within a pairwise float32 sum's error of ``count``
    values no larger than ``magnitude`` in absolute value."""
    if not (math.isfinite(real) and math.isfinite(found)):
        return real == found or (math.isnan(real) and math.isnan(found))
    summation = max(1.0, math.log2(max(count, 1))) * 2.0**-24 * magnitude
    return abs(real - found) <= RELATIVE_TOLERANCE * abs(found) + summation


def check_stats(info: MrcFileInfo, n_threads: int | None) -> list[tuple[str, str]]:
    """(field, message) for each determined header statistic that the data contradicts."""
    h = info.header
    dmin, dmax, dmean, rms = data_stats(info, n_threads)
    is_complex = h.dtype.kind == "c"
    magnitude = 0.0 if is_complex else max(abs(dmin), abs(dmax))
    count = math.prod(info.shape)
    out = []
    if h.rms >= 0:
        if not average_matches(rms, h.rms, magnitude, count):
            out.append(("RMS", f"RMS={h.rms:.7g} in the header, but the data's is {rms:.7g} (more than 1% off)"))
    if not is_complex and h.dmin < h.dmax:
        for name, real, found, what in (("DMIN", dmin, h.dmin, "minimum"), ("DMAX", dmax, h.dmax, "maximum")):
            if not extreme_matches(real, found):
                out.append((name, f"{name}={found:.9g} in the header, but the data's {what} is {real:.9g} "
                                  f"(MRC2014: {name} is the data's {what})"))
    if not is_complex and h.dmean > min(h.dmin, h.dmax) and not average_matches(dmean, h.dmean, magnitude, count):
        out.append(("DMEAN", f"DMEAN={h.dmean:.7g} in the header, but the data's is {dmean:.7g} (more than 1% off)"))
    return out
