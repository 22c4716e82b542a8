"""Header fields a rewrite keeps from the file it came from: ORIGIN, N*START, ISPG, the labels, a typed
extended header and the tilt angles.

A conversion (or ``write(path, image)``) must leave the map where it was (ORIGIN and N*START, see
:mod:`.origin`), keep its space group, its history (the 80-character labels) and its tilt angles
(:func:`extended_to_write`), and add one label of its own. Pure functions; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .constants import (
    ISPG_IMAGE_STACK,
    ISPG_VOLUME,
    ISPG_VOLUME_STACK,
    ISPG_VOLUME_STACK_RANGE,
    MICROSCOPE_DEFAULTS,
    MRCZ_LABEL,
    PINNED_LABEL_PREFIXES,
)
from .extended import TILT_ANGLES_KEY, RawExtended, holds_tilt_angles, seri_tilt_extended
from .header import Header
from .metadata import JSON_EXTTYP
from .origin import origin_field_valid, start_xyz

# EXTTYP values of MRC2014 (mrcfile 1.5.4's list) plus MRCZ's JSON metadata.
KNOWN_EXTTYPS = ("CCP4", "MRCO", "SERI", "AGAR", "FEI1", "FEI2", "HDF5", JSON_EXTTYP)
MAX_LABELS = 10
LABEL_CHARS = 80
MAX_CRYSTAL_SPACE_GROUP = 230


@dataclass(frozen=True)
class KeptFields:
    """What a rewrite writes besides the data, voxel size and metadata.

    Attributes
    ----------
    origin_xyz
        ORIGIN (words 50-52) in Å, x, y, z.
    start_xyz
        N*START in x, y, z (written with MAPC/MAPR/MAPS = 1, 2, 3).
    ispg
        The space group to keep, None for the writer's default (0 for an image, 1 for a volume,
        401 for a volume stack).
    labels
        The labels to keep, oldest first (the writer appends its own).
    tilt_angles
        Tilt angles in degrees, one per section, wherever the source had them; None for none.
    """

    origin_xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    start_xyz: tuple[int, int, int] = (0, 0, 0)
    ispg: int | None = None
    labels: tuple[str, ...] = ()
    tilt_angles: tuple[float, ...] | None = None


def kept_from_header(header: Header, tilt_angles: Sequence[float] | None = None) -> KeptFields:
    """The fields of ``header`` (and the file's ``tilt_angles``, from wherever the reader found them) that
    a rewrite keeps.

    ORIGIN is kept only when ChimeraX would use it (valid and non-zero); otherwise it is written as 0,
    so the map still sits where N*START puts it. The space group of a header mrcz wrote is not kept (it
    is 0, "image stack", for every file): the writer's default makes a 3-D file a volume (ISPG 1), so
    readers that honour ISPG/MZ (gemmi's ``setup()``) keep it 3-D. mrcz's own ``MRCZ…`` label is not kept: the writer
    adds it to compressed files.
    """
    origin = tuple(float(v) for v in header.origin) if origin_field_valid(header) else (0.0, 0.0, 0.0)
    labels = tuple(lab for lab in header.labels if lab.strip() and not lab.startswith("MRCZ"))
    ispg = None if header.written_by_mrcz else header.ispg  # mrcz writes 0 for everything: no information
    angles = None if tilt_angles is None else tuple(float(a) for a in tilt_angles)
    return KeptFields(origin, start_xyz(header), ispg, labels, angles)  # type: ignore[arg-type]


def extended_to_write(kept: KeptFields, metadata: dict[str, Any] | None, extended: RawExtended | None,
                      byte_order: str) -> tuple[dict[str, Any] | None, RawExtended | None]:
    """(JSON metadata to write, extended header to write when there is none): the kept extended header
    (:func:`kept_extended_header`) where no metadata takes its place and its bytes are in the output's
    byte order, and the tilt angles wherever they came from.

    Angles the kept extended header does not hold go into a SERI header of their own where there is no
    metadata (what IMOD reads; ``mrcfile.validate`` passes), else into the metadata as
    ``"tilt_angles"`` (unless it has that key already), which the reader reads next.
    """
    if metadata or (extended is not None and extended.byte_order != byte_order):
        extended = None
    angles = kept.tilt_angles
    if angles is None or (extended is not None and extended.tilt):
        return metadata, extended
    if not metadata:
        seri = seri_tilt_extended(np.array(angles), byte_order)
        if seri is not None:
            return metadata, seri
    if metadata and TILT_ANGLES_KEY in metadata:
        return metadata, None
    return {**(metadata or {}), TILT_ANGLES_KEY: list(angles)}, None


def merged_labels(kept: Sequence[str], ours: Sequence[str], compressed: bool) -> list[str]:
    """The labels to write: mrcz's format label first for compressed files, the kept labels, then ours
    (empty ones skipped, repeats of a kept label that says what the values are dropped).

    At most 10 fit: as IMOD does, the first kept label (usually the program that made the file) stays
    and the oldest after it make room, except the labels that say what the values are
    (:data:`~.constants.PINNED_LABEL_PREFIXES`: the tolerance bound, the segmentation marker), which
    stay however often a file is rewritten. Labels are cut to 80 characters; blank ones are dropped
    (mrcfile.validate refuses blank labels between used ones).
    """
    head = [MRCZ_LABEL] if compressed else []
    body = [lab[:LABEL_CHARS] for lab in kept if lab.strip() and not lab.startswith("MRCZ")]
    tail = [lab[:LABEL_CHARS] for lab in ours if lab and not (lab in body and lab.startswith(PINNED_LABEL_PREFIXES))]
    room = MAX_LABELS - len(head) - len(tail)
    if len(body) > room:
        pinned = [i for i, lab in enumerate(body) if lab.startswith(PINNED_LABEL_PREFIXES)]
        others = [i for i in range(len(body)) if i not in pinned]
        # keep: the pinned, the first label, then the newest others, as far as there is room
        order = pinned + others[:1] + others[:0:-1]
        body = [body[i] for i in sorted(order[: max(room, 0)])]
    return head + body + tail


def ispg_for(ndim: int, nz: int, requested: int | None) -> int:
    """The space group to write for data of ``ndim`` dimensions with ``nz`` sections.

    A kept ISPG is used where it fits the shape: 0 for a 2-D image; 0 (image stack) or 1-230 (volume,
    crystallographic group) for 3-D data of more than one section (a single section with ISPG 0 would
    read back as 2-D); 401-630 for a 4-D volume stack. Otherwise the default: 0, 1 or 401.
    """
    if ndim == 2:
        return ISPG_IMAGE_STACK
    if ndim == 4:
        return requested if requested in ISPG_VOLUME_STACK_RANGE else ISPG_VOLUME_STACK
    if requested is not None and 0 <= requested <= MAX_CRYSTAL_SPACE_GROUP:
        if requested != ISPG_IMAGE_STACK or nz > 1:
            return requested
    return ISPG_VOLUME



def rewrite_arguments(header: Header, voxel_size: Sequence[float], metadata: dict[str, Any],
                      tilt_angles: Sequence[float] | None = None) -> dict[str, Any]:
    """Writer keyword arguments that reproduce a file read with ``header`` (and ``tilt_angles``): voxel
    size (Å), metadata, voltage, C3, gain (non-finite or None values become the writer's defaults) and
    the :class:`KeptFields`."""

    def finite(value: float | None, default: float) -> float:
        return float(value) if value is not None and math.isfinite(value) else default  # None: not recorded

    return {
        "voxel_size": [finite(v, 0.0) for v in voxel_size],
        "units": "Å",
        "metadata": metadata,
        **{name: finite(getattr(header, name), default) for name, default in MICROSCOPE_DEFAULTS.items()},
        "kept": kept_from_header(header, tilt_angles),
    }


def kept_extended_header(header: Header, raw: bytes) -> RawExtended | None:
    """The extended header a rewrite carries over (with its EXTTYP, NINT, NREAL and byte order): one of a
    known non-JSON type (FEI1/FEI2, SERI, CCP4, ...: tilt angles and per-section records other tools
    read). None for none, for JSON (the metadata, written anew or dropped) and for an untyped one, which
    would make the output fail ``mrcfile.validate`` (unknown EXTTYP). See :func:`extended_to_write`."""
    if not header.nsymbt or header.exttyp == JSON_EXTTYP or header.exttyp not in KNOWN_EXTTYPS:
        return None
    return RawExtended(header.exttyp, header.nint, header.nreal, raw, header.byte_order, holds_tilt_angles(header, raw))
