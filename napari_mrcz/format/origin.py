"""Where a map sits: the position of voxel [0, 0, 0] from the header, as ChimeraX places it.

ChimeraX (``map_data/mrc/mrc_format.py``) reads MRC2000/MRC2014 files (``MAP `` at byte 208) whose
ORIGIN (words 50-52, Å, in x, y, z, *not* permuted by MAPC/MAPR/MAPS) has any non-zero and valid value
as that position. Otherwise the position is N*START (words 5-7, in column, row, section order, so
permuted to x, y, z) times the voxel size, unless some ``|start|`` exceeds 10 x the largest grid size,
which ChimeraX takes as uninitialised (origin 0). Pure functions over a :class:`Header`; no I/O.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import MrczError
from .constants import MAP_ID
from .header import Header
from .metadata import angstrom_per

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _step(voxel: float) -> float:
    # ChimeraX steps by 1 where the file gives no cell size
    return voxel if voxel > 0 and math.isfinite(voxel) else 1.0


def origin_field_valid(header: Header) -> bool:
    """True when ORIGIN is set and usable: an MRC2000+ header (``MAP`` ID), some value non-zero, every
    value finite and small enough that one voxel step changes it in float32 (RELION 2.0 leaves ORIGIN
    uninitialised, with huge values)."""
    if header.map != MAP_ID or not any(header.origin):
        return False
    steps_xyz = [_step(v) for v in header.voxel_size[::-1]]
    for value, step in zip(header.origin, steps_xyz):
        if not math.isfinite(value):
            return False
        if np.float32(value) + np.float32(step) == np.float32(value):
            return False
    return True


def start_xyz(header: Header) -> tuple[int, int, int]:
    """N*START (words 5-7, stored in column, row, section order) permuted to x, y, z."""
    crs = (header.nxstart, header.nystart, header.nzstart)
    return tuple(crs[header.axis_order.index(axis)] for axis in (1, 2, 3))  # type: ignore[return-value]


def start_valid(header: Header) -> bool:
    """False when some ``|N*START|`` exceeds 10 x the largest of MX, MY, MZ, NX, NY, NZ (ChimeraX treats
    such starts as uninitialised)."""
    limit = 10 * max(header.mx, header.my, header.mz, header.nx, header.ny, header.nz)
    return all(abs(s) <= limit for s in start_xyz(header))


def origin_zyx(header: Header) -> tuple[float, float, float]:
    """Position of voxel [0, 0, 0] in Å, (z, y, x), following ChimeraX.

    ORIGIN when :func:`origin_field_valid`, else N*START x voxel size (1 Å where the voxel size is 0)
    when :func:`start_valid`, else (0, 0, 0). Cell angles other than 90° (skewed crystallographic
    cells) are not applied.
    """
    if origin_field_valid(header):
        x, y, z = header.origin
        return (float(z), float(y), float(x))
    if not start_valid(header):
        return (0.0, 0.0, 0.0)
    steps = [_step(v) for v in header.voxel_size]  # z, y, x
    starts = start_xyz(header)[::-1]
    return tuple(float(s * step) for s, step in zip(starts, steps))  # type: ignore[return-value]


def check_origin(origin: Any, units: str, ndim: int = 3) -> tuple[float, float, float]:
    """(z, y, x) origin in Å from a (z, y, x) triple, or a (y, x) pair for 2-D data (z = 0), in ``units``.

    None gives (0, 0, 0).

    Raises
    ------
    MrczError
        Wrong length, a value that is not a finite number, beyond float32, or unknown units.
    """
    factor = angstrom_per(units)
    if origin is None:
        return (0.0, 0.0, 0.0)
    try:
        values = [float(v) for v in np.ravel(np.asarray(origin, dtype=float))]
    except (TypeError, ValueError):
        raise MrczError(f"origin must be numbers (z, y, x), not {origin!r}") from None
    if len(values) == 2 and ndim == 2:
        values = [0.0, *values]
    scaled = [v * factor for v in values]
    if len(values) != 3 or not all(math.isfinite(v) and abs(v) <= _FLOAT32_MAX for v in scaled):
        raise MrczError(f"origin must be 3 finite numbers (z, y, x; (y, x) for 2-D data), not {origin!r}")
    return tuple(scaled)  # type: ignore[return-value]
