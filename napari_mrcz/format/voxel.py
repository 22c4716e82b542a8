"""Voxel size <-> CELLA, at the precision a float32 cell allows. Pure functions; no I/O.

The header stores the cell size CELLA (float32, Å) and the sampling; a voxel size is CELLA / sampling.
Writing rounds voxel size x sampling to float32 once (computed in float64), so the stored cell is the
float32 nearest the true one: a relative error of at most 2^-24 (6e-8). Reading cannot know which of
the voxel sizes that round to the same float32 was written; it returns the exact quotient (the middle
of that range, so again within 2^-24 of the value written), or a shorter decimal from the range where
that costs little: "1.05" rather than "1.0499999523162842".
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

NICE_DIGITS = 3
"""Decimals of up to this many significant digits (1.05, 0.834, 13.6) are returned wherever they fall in
the range of voxel sizes that write the stored cell: at most 2^-23 (1.2e-7) from a value that was not
that decimal but wrote the same cell, and only for the rare values that do."""

MAX_ERROR = 1e-7
"""Longer decimals are returned only when they lie within this relative distance of every voxel size
that writes the stored cell (so within ~1.7 x 2^-24 of the value written); else the exact quotient."""


def cell_from_voxel(voxel_size: float, sampling: int) -> np.float32:
    """CELLA for one axis: ``voxel_size`` (Å) x ``sampling`` computed in float64, rounded once to float32."""
    return np.float32(float(voxel_size) * sampling)


def voxel_from_cell(cell: float, sampling: int) -> float:
    """The voxel size (Å) for one axis from a float32 CELLA and the sampling it was written with.

    The shortest decimal (1 to 17 significant digits) ``d`` for which :func:`cell_from_voxel` gives back
    ``cell`` is returned if it has at most :data:`NICE_DIGITS` digits, or lies within :data:`MAX_ERROR`
    (relative) of every voxel size that gives back ``cell``; otherwise the exact quotient ``cell /
    sampling``. 0 when the cell or the sampling is not positive; a non-finite cell gives inf or 0.
    """
    cell32 = np.float32(cell)
    if not cell32 > 0 or sampling <= 0:
        return 0.0
    exact = float(cell32) / sampling
    if not math.isfinite(exact):
        return exact
    # voxel sizes that round to this cell: half-way to the float32 neighbours (round-to-nearest)
    below = float(np.nextafter(cell32, np.float32(0)))
    above = float(np.nextafter(cell32, np.float32(np.inf)))
    low, high = (below + float(cell32)) / 2 / sampling, (above + float(cell32)) / 2 / sampling
    for digits in range(1, 18):
        decimal = float(f"{exact:.{digits}g}")
        if cell_from_voxel(decimal, sampling) != cell32:
            continue
        worst = max((decimal - low) / low, (high - decimal) / high)
        if digits <= NICE_DIGITS or worst <= MAX_ERROR:
            return decimal
    return exact


def scale_decimal(value: float, power_of_ten: int) -> float:
    """``value`` x 10^``power_of_ten`` as the decimal shift of its shortest repr (1.05 Å -> 0.105 nm, where
    ``1.05 / 10`` gives 0.10500000000000001), correctly rounded."""
    if not math.isfinite(value):
        return value
    return float(Decimal(repr(float(value))).scaleb(power_of_ten))
