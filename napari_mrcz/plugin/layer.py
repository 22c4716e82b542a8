"""napari layer arguments <-> voxel size, units and metadata: the conversions shared by the reader,
the writers and the widget.

Pure functions over plain values and pint units; no napari or Qt import, no file access.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import Finding, MrczError
from ..format.constants import TOLERANCE_LABEL_PREFIX
from ..format.metadata import angstrom_per, encode_metadata

KEY = "mrcz"
"""Our entry in ``layer.metadata``: {"metadata": user JSON, "header": header fields, "path", "lazy"}."""
NM_FROM_A = 10.0
"""Voxel sizes of at least this many Å (every axis) are shown in nm, smaller ones in Å."""
_AXIS_NAMES = ("volume", "z", "y", "x")
_EXTRAS = ("voltage", "c3", "gain")


def display_scale(voxel_size_zyx: Sequence[float], ndim: int) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """Layer ``scale`` and ``units`` for data of ``ndim`` dimensions from a (z, y, x) voxel size in Å.

    nm when every spatial voxel size is >= 10 Å, else Å. Axes whose size the file does not give
    (0) take the largest size given; a file that gives none opens in pixels (scale 1). A leading
    volume axis (4-D volume stacks) is counted in pixels.
    """
    spatial = [float(v) for v in voxel_size_zyx][-min(ndim, 3) :]
    known = [v for v in spatial if v > 0 and np.isfinite(v)]
    lead = ndim - len(spatial)
    if not known:
        return (1.0,) * ndim, ("pixel",) * ndim
    spatial = [v if v > 0 and np.isfinite(v) else max(known) for v in spatial]
    unit, factor = ("nm", NM_FROM_A) if min(spatial) >= NM_FROM_A else ("angstrom", 1.0)
    scale = (1.0,) * lead + tuple(float(f"{v / factor:.7g}") for v in spatial)
    return scale, ("pixel",) * lead + (unit,) * len(spatial)


def axis_labels(ndim: int) -> tuple[str, ...]:
    """('z', 'y', 'x') for volumes and stacks, ('y', 'x') for images, 'volume' first for 4-D."""
    return _AXIS_NAMES[-ndim:]


def angstrom_factor(unit: Any) -> float | None:
    """Å per ``unit`` (a string or a pint unit, as napari layers hold them); None when the unit is not
    a length (napari's default 'pixel', time, ...)."""
    try:
        return angstrom_per(str(unit))  # the core's names: angstrom, nanometer, micrometer, micron, ...
    except MrczError:
        pass
    if isinstance(unit, str):
        return None
    try:  # any other pint length napari accepts ('centimeter', 'inch', 'fermi', ...)
        return float((1 * unit).to("angstrom").magnitude)
    except (TypeError, ValueError, AttributeError):  # pint's DimensionalityError is a TypeError
        return None


def voxel_size_from_layer(scale: Sequence[float] | None, units: Any, ndim: int, source: str = "layer",
                          findings: list[Finding] | None = None) -> tuple[float, float, float]:
    """(z, y, x) voxel size in Å from a layer's ``scale`` and ``units`` (one unit or one per axis).

    Axes without a length unit (napari's default 'pixel') take their scale as Å, as MRC files
    without a pixel size are read as 1 Å. A 2-D layer gives z the y size.

    Warns
    -----
    MrczWarning
        An axis of ``source`` (the layer's name) has a unit that is not a length (other than 'pixel');
        appended to ``findings`` instead when that is a list.
    """
    scale = [1.0] * ndim if scale is None else [float(s) for s in scale]
    if units is None or isinstance(units, str) or not isinstance(units, Sequence):
        units = [units] * ndim
    sizes = []
    for axis, (value, unit) in enumerate(zip(scale[-3:], list(units)[-3:])):
        factor = angstrom_factor(unit) if unit is not None else None
        if factor is None:
            if unit is not None and str(unit) != "pixel":
                Finding(source, f"axis {axis_labels(min(ndim, 3))[axis]!r} is in {unit!s}, not a length; "
                        "its scale is written as Å").report(findings)
            factor = 1.0
        sizes.append(abs(value) * factor)
    if len(sizes) == 2:
        sizes.insert(0, sizes[0])
    return tuple(float(f"{v:.9g}") for v in sizes)  # type: ignore[return-value]


def reader_metadata(user: dict[str, Any], header: dict[str, Any], path: str, lazy: bool, **notes: Any) -> dict:
    """``layer.metadata`` for a file we opened; the user's JSON is kept apart from header fields."""
    return {KEY: {"metadata": user, "header": header, "path": path, "lazy": lazy, **notes}}


def user_metadata(layer_metadata: dict[str, Any] | None, source: str = "layer",
                  findings: list[Finding] | None = None) -> dict[str, Any]:
    """The JSON to write for a layer: the user's metadata our reader kept under ``metadata['mrcz']``,
    updated with any other top-level keys that JSON can hold (others are skipped with a warning).

    Warns
    -----
    MrczWarning
        A top-level metadata key of ``source`` (the layer's name) cannot be stored as JSON; it is left
        out. Appended to ``findings`` instead when that is a list.
    """
    meta = dict(layer_metadata or {})
    ours = meta.pop(KEY, None)
    out: dict[str, Any] = {}
    if isinstance(ours, dict) and isinstance(ours.get("metadata"), dict):
        out.update(ours["metadata"])
    elif ours is not None:
        meta[KEY] = ours  # someone else's 'mrcz' key: keep it as user data
    skipped = []
    for key, value in meta.items():
        try:
            encode_metadata({str(key): value})
        except MrczError:
            skipped.append(str(key))
            continue
        out[str(key)] = value
    if skipped:
        Finding(source, f"layer metadata {', '.join(map(repr, skipped))} cannot be stored as JSON and is not "
                "written").report(findings)
    return out


def header_extras(layer_metadata: dict[str, Any] | None) -> dict[str, float]:
    """voltage (kV), c3 (mm) and gain from the header fields our reader kept, for the writer."""
    ours = (layer_metadata or {}).get(KEY)
    header = ours.get("header") if isinstance(ours, dict) else None
    if not isinstance(header, dict):
        return {}
    out = {}
    for name in _EXTRAS:
        value = header.get(name)
        if isinstance(value, (int, float)) and np.isfinite(value):
            out[name] = float(value)
    return out


def recorded_tolerance(layer_metadata: dict[str, Any] | None) -> tuple[str, ...]:
    """The tolerance label lines of the file a layer was read from: a layer saved again carries them
    forward, so the file still records how far its values may be from the original."""
    ours = (layer_metadata or {}).get(KEY)
    header = ours.get("header") if isinstance(ours, dict) else None
    labels = header.get("labels") if isinstance(header, dict) else None
    if not isinstance(labels, (list, tuple)):
        return ()
    return tuple(lab for lab in labels if isinstance(lab, str) and lab.startswith(TOLERANCE_LABEL_PREFIX))


def write_arguments(attributes: dict[str, Any], ndim: int, findings: list[Finding] | None = None) -> dict[str, Any]:
    """Keyword arguments of :func:`napari_mrcz.write` (voxel size in Å, metadata, voltage, c3, gain)
    from a layer's attributes (``layer.as_layer_data_tuple()[1]``); what they cannot hold is warned,
    or appended to ``findings`` when that is a list."""
    meta, name = attributes.get("metadata"), str(attributes.get("name") or "layer")
    return {
        "voxel_size": voxel_size_from_layer(attributes.get("scale"), attributes.get("units"), ndim, name, findings),
        "units": "Å",
        "metadata": user_metadata(meta, name, findings),
        **header_extras(meta),
    }
