"""What the zarr bridges record about an MRC file: the header fields and JSON metadata as JSON-safe
attributes, axis names and unit names shared by the references and the OME-Zarr writer and reader."""

from __future__ import annotations

import math
from typing import Any

from ...format.header import Header

ANGSTROM = "angstrom"
"""The NGFF / UDUNITS name of the unit of voxel size and origin (MRC's Å)."""
MRC_HEADER_ATTR = "mrc_header"
METADATA_ATTR = "mrc_metadata"
ZYX = ("z", "y", "x")


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats (NaN, inf: not JSON) replaced by their text."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def header_attributes(header: Header) -> dict[str, Any]:
    """The decoded header (every field, plus mode, dtype, voxel size and shape) as JSON-safe values."""
    fields = header.to_dict()
    fields["labels"] = list(header.labels)
    return json_safe(fields)


def dims_for(ndim: int) -> tuple[str, ...]:
    """Axis names of data as :func:`napari_mrcz.read` returns it: (y, x), (z, y, x) or (volume, z, y, x)."""
    return {2: ZYX[1:], 3: ZYX, 4: ("volume", *ZYX)}[ndim]
