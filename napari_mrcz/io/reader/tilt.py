"""Tilt angles of a tilt series: from its extended header or metadata, else from the files beside it.

Looked for in this order, the first that gives one angle per section wins: the extended header (FEI1/FEI2,
SERI; :mod:`napari_mrcz.format.extended`), the JSON metadata's ``"tilt_angles"`` (written by conversions
into MRCZ files), SerialEM's ``<file>.mdoc``, IMOD's ``<stem>.rawtlt`` and
``<stem>.tlt`` (``.tlt`` first for an aligned ``.ali`` stack, whose refined angles it holds). A sidecar
that cannot be read or parsed, or lists another number of angles, is skipped with a warning: tilt
angles never block the pixels.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import MrczWarning
from ...format.extended import extended_tilt_angles, metadata_tilt_angles
from ...format.header import Header
from ...format.names import sidecar_names
from ...format.sidecars import parse_mdoc, parse_tlt
from ..storage.urls import is_url

MAX_SIDECAR_BYTES = 16 * 2**20
"""Sidecars larger than this are not read (an mdoc of a 200-view series is about 200 kB)."""


def sidecar_paths(path: Path) -> list[Path]:
    """Where the sidecars of ``path`` would be, in the order they are tried."""
    return [path.with_name(name) for name in sidecar_names(path.name)]


def _read_text(path: Path) -> str | None:
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            raise ValueError(f"larger than {MAX_SIDECAR_BYTES // 2**20} MiB")
        return path.read_bytes().decode("utf-8-sig", errors="replace")  # a BOM, as Windows editors save
    except (OSError, ValueError) as err:
        warnings.warn(f"{path}: tilt angles ignored: {err}", MrczWarning, stacklevel=4)
        return None


def sidecar_tilt_angles(path: Path, nz: int) -> np.ndarray | None:
    """Angles from the first sidecar of ``path`` that lists ``nz`` of them, or None."""
    for sidecar in sidecar_paths(path):
        text = _read_text(sidecar)
        if text is None:
            continue
        try:
            angles = parse_mdoc(text, nz) if sidecar.suffix == ".mdoc" else parse_tlt(text)
        except ValueError as err:
            warnings.warn(f"{sidecar}: tilt angles ignored: {err}", MrczWarning, stacklevel=3)
            continue
        if len(angles) != nz:
            warnings.warn(
                f"{sidecar}: tilt angles ignored: {len(angles)} angles for {nz} sections", MrczWarning, stacklevel=3
            )
            continue
        return angles
    return None


def tilt_angles(header: Header, extended: bytes, path: Path | str,
                metadata: dict[str, Any] | None = None) -> np.ndarray | None:
    """Tilt angles in degrees, one per z-slice, of the file at ``path`` with ``header``, ``extended``
    header bytes and JSON ``metadata``; None when neither the file nor a sidecar gives them. Remote files (a URL) are not
    searched for sidecars.

    Files stored in another axis order (MAPS not Z) and volume stacks have no per-slice angles.

    Warns
    -----
    MrczWarning
        An extended header or a sidecar that claims tilt angles cannot be used (the reason is given).
    """
    if header.zyx_axes != (0, 1, 2) or header.is_volume_stack:
        return None
    angles = extended_tilt_angles(header, extended, str(path))
    if angles is None and metadata:
        angles = metadata_tilt_angles(metadata, header.nz, str(path))
    if angles is None and not is_url(path):
        angles = sidecar_tilt_angles(Path(path), header.nz)
    return angles
