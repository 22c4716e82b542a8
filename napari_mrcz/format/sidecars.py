"""Tilt angles in the text files that sit beside a tilt series: IMOD ``.tlt``/``.rawtlt`` (one angle in
degrees per line) and SerialEM ``.mdoc`` (``[ZValue = n]`` sections with ``TiltAngle = a``).

Pure functions over text; reading the files is :mod:`napari_mrcz.io.reader.tilt`'s. Each raises ValueError
with a short reason for text that is not such a file, or does not give one angle per slice. A UTF-8
byte-order mark (as Windows editors save text) and CRLF line ends are accepted.
"""

from __future__ import annotations

import math
import re

import numpy as np

_SECTION = re.compile(r"^\[\s*([A-Za-z]+)\s*=\s*(-?\d+)\s*\]\s*$")
_KEY_VALUE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*)$")
MAX_ANGLE = 360.0
BOM = "\ufeff"


def _angle(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {text.strip()[:40]!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > MAX_ANGLE:
        raise ValueError(f"{where}: {value} is not a tilt angle")
    return value


def parse_tlt(text: str) -> np.ndarray:
    """The angles of an IMOD ``.tlt``/``.rawtlt`` file: one number per non-blank line."""
    lines = text.removeprefix(BOM).splitlines()
    values = [_angle(line.split()[0], f"line {n}") for n, line in enumerate(lines, 1) if line.strip()]
    if not values:
        raise ValueError("no angles")
    return np.array(values, dtype=np.float64)


def parse_mdoc(text: str, nz: int) -> np.ndarray:
    """The ``TiltAngle`` of ``[ZValue = 0]`` .. ``[ZValue = nz - 1]`` in a SerialEM ``.mdoc``.

    Other sections (``[FrameSet = n]``, ``[MontSection = n]``, the global header) are skipped. A file
    with ZValues outside 0 .. nz - 1 (more sections than slices: another stack's mdoc) or a ZValue twice
    gives no angles: which section belongs to which slice is then unknown.
    """
    angles: dict[int, float] = {}
    sections: list[int] = []
    z: int | None = None
    for n, line in enumerate(text.removeprefix(BOM).splitlines(), 1):
        line = line.strip()
        section = _SECTION.match(line)
        if section:
            z = int(section.group(2)) if section.group(1) == "ZValue" else None
            if z is not None and z in sections:
                raise ValueError(f"line {n}: ZValue {z} appears twice")
            if z is not None:
                sections.append(z)
            continue
        pair = _KEY_VALUE.match(line)
        if z is not None and pair and pair.group(1) == "TiltAngle":
            angles[z] = _angle(pair.group(2), f"line {n}")
    if len(sections) > nz:
        raise ValueError(f"{len(sections)} [ZValue] sections for {nz} slices")
    outside = [z for z in sections if not 0 <= z < nz]
    if outside:
        raise ValueError(f"ZValue {outside[0]} is not one of the {nz} slices")
    missing = [z for z in range(nz) if z not in angles]
    if missing:
        raise ValueError(f"no TiltAngle for ZValue {missing[0]} (of {nz} sections)")
    return np.array([angles[z] for z in range(nz)], dtype=np.float64)
