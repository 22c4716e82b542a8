"""A map's origin <-> a napari layer's ``translate``, in the layer's units.

napari places data voxel ``i`` of a layer at world ``translate + scale * i``; MRC places voxel [0, 0, 0]
at the origin (ChimeraX's reading, :attr:`napari_mrcz.MrcFileInfo.origin`). So ``translate`` is the
origin expressed in the same units as ``scale``, and layers of maps cut from one another overlay where
ChimeraX would put them. Pure functions; no napari import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import layer as _layer


def layer_translate(origin_zyx: Sequence[float], units: Sequence[Any]) -> tuple[float, ...]:
    """``translate`` for a layer with ``units`` (one per axis, as :func:`layer.display_scale` gives)
    from an origin in Å (z, y, x). Leading non-spatial axes (a volume stack's) get 0; axes in pixels
    take the Å value as is (the file has no voxel size to convert it with)."""
    ndim = len(units)
    spatial = [float(v) for v in origin_zyx][-min(ndim, 3) :]
    lead = ndim - len(spatial)
    out = [0.0] * lead
    for value, unit in zip(spatial, list(units)[lead:]):
        factor = _layer.angstrom_factor(unit) or 1.0
        out.append(float(f"{value / factor:.9g}"))
    return tuple(out)


def origin_from_layer(translate: Sequence[float] | None, units: Any, ndim: int) -> tuple[float, ...]:
    """Origin in Å for :func:`napari_mrcz.write` from a layer's ``translate`` and ``units``:
    (z, y, x), or (y, x) for a 2-D layer. Axes without a length unit take their translate as Å, as
    :func:`layer.voxel_size_from_layer` takes their scale."""
    translate = [0.0] * ndim if translate is None else [float(t) for t in translate]
    if units is None or isinstance(units, str) or not isinstance(units, Sequence):
        units = [units] * ndim
    out = []
    for value, unit in zip(translate[-3:], list(units)[-3:]):
        factor = _layer.angstrom_factor(unit) if unit is not None else None
        out.append(float(f"{value * (factor or 1.0):.9g}"))
    return tuple(out)
