"""Tilt angles of a tilt series: from its extended header or metadata, else from the files beside it.

Looked for in this order, the first that gives one angle per section wins: the extended header (FEI1/FEI2,
SERI; :mod:`napari_mrcz.format.extended`), the JSON metadata's ``"tilt_angles"`` (written by conversions
into MRCZ files), SerialEM's ``<file>.mdoc``, IMOD's ``<stem>.rawtlt`` and
``<stem>.tlt`` (``.tlt`` first for an aligned ``.ali`` stack, whose refined angles it holds). A sidecar
that cannot be read or parsed, or lists another number of angles, is skipped with a warning: tilt
angles never block the pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import Finding
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


def _read_text(path: Path, findings: list[Finding] | None) -> str | None:
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            raise ValueError(f"larger than {MAX_SIDECAR_BYTES // 2**20} MiB")
        return path.read_bytes().decode("utf-8-sig", errors="replace")  # a BOM, as Windows editors save
    except (OSError, ValueError) as err:
        Finding(str(path), f"tilt angles ignored: {err}").report(findings, stacklevel=4)
        return None


def sidecar_tilt_angles(path: Path, nz: int, findings: list[Finding] | None = None) -> np.ndarray | None:
    """Angles from the first sidecar of ``path`` that lists ``nz`` of them, or None; why others were
    skipped is warned, or appended to ``findings`` when given."""
    for sidecar in sidecar_paths(path):
        text = _read_text(sidecar, findings)
        if text is None:
            continue
        try:
            angles = parse_mdoc(text, nz) if sidecar.suffix == ".mdoc" else parse_tlt(text)
        except ValueError as err:
            Finding(str(sidecar), f"tilt angles ignored: {err}").report(findings, stacklevel=3)
            continue
        if len(angles) != nz:
            Finding(str(sidecar), f"tilt angles ignored: {len(angles)} angles for {nz} sections"
                    ).report(findings, stacklevel=3)
            continue
        return angles
    return None


def tilt_angles(header: Header, extended: bytes, path: Path | str, metadata: dict[str, Any] | None = None,
                findings: list[Finding] | None = None) -> np.ndarray | None:
    """Tilt angles in degrees, one per z-slice, of the file at ``path`` with ``header``, ``extended``
    header bytes and JSON ``metadata``; None when neither the file nor a sidecar gives them. Remote files (a URL) are not
    searched for sidecars. ``findings``: a list to append the warnings below to instead (see
    :meth:`~napari_mrcz.errors.Finding.report`).

    Files stored in another axis order (MAPS not Z) and volume stacks have no per-slice angles.

    Warns
    -----
    MrczWarning
        An extended header or a sidecar that claims tilt angles cannot be used (the reason is given).
    """
    if header.zyx_axes != (0, 1, 2) or header.is_volume_stack:
        return None
    angles = extended_tilt_angles(header, extended, str(path), findings)
    if angles is None and metadata:
        angles = metadata_tilt_angles(metadata, header.nz, str(path), findings)
    if angles is None and not is_url(path):
        angles = sidecar_tilt_angles(Path(path), header.nz, findings)
    return angles


def file_tilt_angles(info: Any, findings: list[Finding] | None = None) -> np.ndarray | None:
    """:func:`tilt_angles` of an opened file (an :class:`~napari_mrcz.io.reader.file.MrcFileInfo`, as its
    ``tilt_angles`` gives them), with ``findings`` as there."""
    return tilt_angles(info.header, info.extended_header, info.path, info.metadata, findings)
