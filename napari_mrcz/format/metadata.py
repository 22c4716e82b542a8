"""JSON metadata in the extended header, and length units.

Reading is tolerant: a JSON extended header that does not decode to an object warns and gives ``{}``,
so bad side metadata never costs the user the pixels. Writing is strict: what cannot be encoded raises.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from typing import Any

import numpy as np

from ..errors import Finding, MrczError
from .jsonlimits import MAX_DEPTH, MAX_EXTENDED_BYTES, check_metadata_limits

JSON_EXTTYP = "json"

# Length units accepted for voxel sizes, in Å. mrcz 0.6.0 spells Å '\\AA' and µm '\\mum'.
_ANGSTROM_PER_UNIT = {
    "\u00c5": 1.0, "\u212b": 1.0, "A": 1.0, "angstrom": 1.0, "angstroms": 1.0, "\u00e5ngstr\u00f6m": 1.0,
    "\\AA": 1.0, "AA": 1.0, "\u00e5ngstr\u00f6ms": 1.0,
    "nm": 10.0, "nanometer": 10.0, "nanometers": 10.0, "nanometre": 10.0, "nanometres": 10.0,
    "pm": 0.01, "picometer": 0.01, "picometers": 0.01, "picometre": 0.01, "picometres": 0.01,
    "\u00b5m": 1e4, "\u03bcm": 1e4, "um": 1e4, "\\mum": 1e4, "micron": 1e4, "microns": 1e4, "micrometer": 1e4,
    "micrometre": 1e4, "micrometers": 1e4, "micrometres": 1e4,
    "mm": 1e7, "millimeter": 1e7, "millimeters": 1e7, "millimetre": 1e7, "millimetres": 1e7,
    "m": 1e10, "meter": 1e10, "meters": 1e10, "metre": 1e10, "metres": 1e10,
}


def angstrom_per(units: str) -> float:
    """How many Å one ``units`` is ('Å', 'nm', 'µm', 'pm', their spellings in mrcz and pint).

    Raises
    ------
    MrczError
        For a unit that is not a length this package knows.
    """
    key = str(units).strip()
    factor = _ANGSTROM_PER_UNIT.get(key, _ANGSTROM_PER_UNIT.get(key.lower()))
    if factor is None:
        raise MrczError(f"unknown length unit {units!r} (use one of Å, nm, µm, pm)")
    return factor


def _default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_metadata(metadata: dict[str, Any] | None) -> bytes:
    """UTF-8 JSON for the extended header; empty when there is no metadata.

    Raises
    ------
    MrczError
        ``metadata`` is not a dict, holds values JSON cannot represent, is nested too deeply, or its
        JSON exceeds what the extended header holds (2^31 - 1 bytes; see :mod:`.jsonlimits`).
    """
    if not metadata:
        if metadata is not None and not isinstance(metadata, dict):
            raise MrczError(f"metadata must be a dict, not {type(metadata).__name__}")
        return b""
    if not isinstance(metadata, dict):
        raise MrczError(f"metadata must be a dict, not {type(metadata).__name__}")
    check_metadata_limits(metadata)
    try:
        raw = json.dumps(metadata, default=_default, ensure_ascii=False, allow_nan=True).encode("utf-8")
    except (TypeError, ValueError) as err:  # UnicodeEncodeError (lone surrogates) is a ValueError
        raise MrczError(f"metadata cannot be stored as JSON: {err}") from None
    except RecursionError:  # nesting reached through shared containers, below MAX_DEPTH per path
        raise MrczError(f"metadata is nested more than {MAX_DEPTH} levels deep") from None
    if len(raw) > MAX_EXTENDED_BYTES:
        raise MrczError(
            f"metadata takes {len(raw)} bytes as JSON; the extended header holds at most {MAX_EXTENDED_BYTES}"
        )
    return raw


def decode_metadata(raw: bytes, exttyp: str, source: str = "<bytes>") -> dict[str, Any]:
    """The user's metadata dict from an extended header; ``{}`` unless EXTTYP is 'json'.

    Warns
    -----
    MrczWarning
        The JSON is not valid UTF-8 JSON or not an object; the metadata is then ``{}``.
    """
    metadata, finding = check_metadata(raw, exttyp, source)
    if finding is not None:
        finding.warn(stacklevel=2)
    return metadata


def check_metadata(raw: bytes, exttyp: str, source: str = "<bytes>") -> tuple[dict[str, Any], Finding | None]:
    """:func:`decode_metadata` without warning: the metadata, and why it was ignored (a value)."""
    if exttyp != JSON_EXTTYP or not raw:
        return {}, None
    try:
        value = json.loads(raw.rstrip(b"\0").decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        return {}, Finding(source, f"JSON extended header ignored: {err}")
    if not isinstance(value, dict):
        return {}, Finding(source, f"JSON extended header ignored: it holds a {type(value).__name__}, not an object")
    return value, None


def check_voxel_size(voxel_size: Any, units: str) -> tuple[float, float, float]:
    """(z, y, x) voxel size in Å from a scalar, a (y, x) pair or a (z, y, x) triple in ``units``.

    A (y, x) pair gives z the y size. None gives 1 Å.

    Raises
    ------
    MrczError
        Wrong length, non-finite or negative values, or unknown units.
    """
    factor = angstrom_per(units)
    if voxel_size is None:
        return (1.0, 1.0, 1.0)
    try:
        values = [float(v) for v in np.ravel(np.asarray(voxel_size, dtype=float))]
    except (TypeError, ValueError):
        raise MrczError(f"voxel_size must be numbers, not {voxel_size!r}") from None
    if len(values) == 1:
        values *= 3
    elif len(values) == 2:
        values = [values[0], *values]
    if len(values) != 3 or not all(math.isfinite(v) and v >= 0 for v in values):
        raise MrczError(f"voxel_size must be 1 to 3 finite numbers >= 0 (z, y, x), not {voxel_size!r}")
    return tuple(v * factor for v in values)  # type: ignore[return-value]
