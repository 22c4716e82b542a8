"""Tilt angles in extended headers: FEI1/FEI2 (Thermo Fisher EPU/Tomo) and SERI (SerialEM, IMOD).

- FEI1/FEI2 (EXTTYP ``FEI1``/``FEI2``; layout as ``mrcfile.dtypes.get_ext_header_dtype``): one record per
  section, each "Metadata size" bytes long (an int32 at its start); "Alpha tilt" is a float64 in
  degrees at byte 100 of a record. Bit 7 of "Bitmask 1" (bytes 8-11, little-endian in either byte
  order, as mrcfile reads it) says whether it is set; writers that fill no bitmask at all (mrcfile)
  leave every bit clear, which is read as "not stated".
- SERI (EXTTYP ``SERI``, or no EXTTYP when the header's flags add up, as IMOD reads it): NINT (int16 at
  byte 128) bytes per section, NREAL (byte 130) flags for what they hold; with flag 1 the first int16
  of each section is the tilt angle x 100 (IMOD ``mrc_format.txt``).

Rewrites keep the angles (:func:`napari_mrcz.format.kept.extended_to_write`): a tilt-angle extended
header is carried byte for byte, or angles from elsewhere written as a SERI header (NINT 2, NREAL 1: the
form IMOD and SerialEM read); a file whose extended header holds JSON metadata carries them as the
metadata's ``"tilt_angles"`` list (degrees, one per section), which this reader reads next after the
extended header.

Pure functions over the extended header's bytes; a malformed header warns (:class:`MrczWarning`), or
adds a :class:`~napari_mrcz.errors.Finding` to the caller's ``findings`` list, and gives None: it never
costs the pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import Finding
from .header import Header

FEI_TYPES = ("FEI1", "FEI2")
FEI_BITMASK_OFFSET = 8
FEI_ALPHA_TILT_OFFSET = 100
FEI_ALPHA_TILT_BIT = 7
SERI_TILT_FLAG = 1
TILT_ANGLES_KEY = "tilt_angles"
"""The JSON metadata key of tilt angles carried by a rewrite into a file whose extended header is JSON."""
SERI_TILT_BYTES = 2
SERI_FLAG_BYTES = {1: 2, 2: 6, 4: 4, 8: 2, 16: 2, 32: 4, 64: 2, 128: 4, 256: 2, 512: 4, 1024: 2}
"""Bytes each SerialEM flag adds to a section's record (IMOD ``mrc_format.txt``)."""


def _malformed(findings: list[Finding] | None, source: str, what: str) -> None:
    Finding(source, f"tilt angles ignored: {what}").report(findings, stacklevel=3)


def seri_layout(header: Header) -> bool:
    """True when NINT/NREAL describe SerialEM records: the bytes the NREAL flags imply add up to NINT."""
    flags = header.nreal
    if header.nint <= 0 or flags <= 0 or flags & ~sum(SERI_FLAG_BYTES):
        return False
    return sum(size for flag, size in SERI_FLAG_BYTES.items() if flags & flag) == header.nint


def _fei_angles(header: Header, extended: bytes, source: str, findings: list[Finding] | None) -> np.ndarray | None:
    order = header.byte_order
    if len(extended) < FEI_ALPHA_TILT_OFFSET + 8:
        _malformed(findings, source, f"the {header.exttyp} extended header has {len(extended)} bytes, less than one record")
        return None
    size = int(np.frombuffer(extended, order + "i4", count=1)[0])
    if size < FEI_ALPHA_TILT_OFFSET + 8 or size * header.nz > len(extended):
        _malformed(findings, source, f"{header.exttyp} records of {size} bytes do not fit {header.nz} sections "
                                     f"in {len(extended)} bytes")
        return None
    records = np.frombuffer(extended, np.uint8, count=size * header.nz).reshape(header.nz, size)
    # the bitmask is little-endian in either byte order: bit 0 is the first byte's lowest (as mrcfile reads it)
    mask = records[:, FEI_BITMASK_OFFSET : FEI_BITMASK_OFFSET + 4].copy().view("<u4")[:, 0]
    if (mask & (1 << FEI_ALPHA_TILT_BIT) == 0).all() and mask.any():
        return None  # the bitmask is filled in and says there is no alpha tilt: a micrograph, say
    angles = records[:, FEI_ALPHA_TILT_OFFSET : FEI_ALPHA_TILT_OFFSET + 8].copy().view(order + "f8")[:, 0]
    if not (np.isfinite(angles).all() and (np.abs(angles) <= 360).all()):
        bad = angles[~(np.isfinite(angles) & (np.abs(angles) <= 360))][0]
        _malformed(findings, source, f"{header.exttyp} alpha tilt {bad} is not an angle")
        return None
    return angles.astype(np.float64)


def _seri_angles(header: Header, extended: bytes, source: str, findings: list[Finding] | None) -> np.ndarray | None:
    declared = header.exttyp == "SERI"  # without EXTTYP, NINT/NREAL may be anything: no warnings
    if not seri_layout(header):
        if declared:
            _malformed(findings, source, f"SERI header with NINT={header.nint} and flags NREAL={header.nreal} that do not agree")
        return None
    if not header.nreal & SERI_TILT_FLAG:
        return None
    if header.nint * header.nz > len(extended):
        if declared:
            _malformed(findings, source, f"{header.nz} SerialEM records of {header.nint} bytes need more than the "
                                         f"{len(extended)} bytes of the extended header")
        return None
    records = np.frombuffer(extended, np.uint8, count=header.nint * header.nz).reshape(header.nz, header.nint)
    hundredths = records[:, :2].copy().view(header.byte_order + "i2")[:, 0]
    return hundredths.astype(np.float64) / 100.0


def extended_tilt_angles(header: Header, extended: bytes, source: str = "<bytes>",
                         findings: list[Finding] | None = None) -> np.ndarray | None:
    """Tilt angles in degrees, one per stored section, from an FEI1/FEI2 or SerialEM extended header;
    None when the header holds none. ``findings``: a list for the warnings instead.

    Warns
    -----
    MrczWarning
        The extended header says it holds tilt angles but its records do not fit or hold no angles.
    """
    if header.exttyp in FEI_TYPES:
        return _fei_angles(header, extended, source, findings)
    if header.exttyp in ("SERI", ""):
        return _seri_angles(header, extended, source, findings)
    return None


def metadata_tilt_angles(metadata: dict[str, Any], nz: int, source: str = "<bytes>",
                         findings: list[Finding] | None = None) -> np.ndarray | None:
    """The ``"tilt_angles"`` of JSON metadata (see the module notes), or None when absent.
    ``findings``: a list for the warning instead.

    Warns
    -----
    MrczWarning
        The list is not ``nz`` finite angles.
    """
    values = metadata.get(TILT_ANGLES_KEY)
    if values is None:
        return None
    ok = isinstance(values, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not ok or len(values) != nz or not all(math.isfinite(v) and abs(v) <= 360 for v in values):
        what = f"{len(values)} angles for {nz} sections" if ok and len(values) != nz else f"not {nz} finite angles in degrees"
        _malformed(findings, source, f"the metadata's {TILT_ANGLES_KEY!r}: {what}")
        return None
    return np.array(values, dtype=np.float64)


@dataclass(frozen=True)
class RawExtended:
    """An extended header written byte for byte: EXTTYP, NINT, NREAL, its bytes, their byte order, and
    whether it holds the tilt angles."""

    exttyp: str
    nint: int
    nreal: int
    data: bytes
    byte_order: str
    tilt: bool = False


def holds_tilt_angles(header: Header, extended: bytes) -> bool:
    """Whether ``extended`` is a tilt-angle header (FEI1/FEI2, SERI with the tilt flag) whose records fit
    the sections (no warnings: the reader gave them)."""
    if header.exttyp in FEI_TYPES:
        size = int(np.frombuffer(extended, header.byte_order + "i4", count=1)[0]) if len(extended) >= 4 else 0
        return FEI_ALPHA_TILT_OFFSET + 8 <= size and size * header.nz <= len(extended)
    seri = header.exttyp in ("SERI", "") and seri_layout(header) and bool(header.nreal & SERI_TILT_FLAG)
    return seri and header.nint * header.nz <= len(extended)


def seri_tilt_extended(angles: np.ndarray | Any, byte_order: str) -> RawExtended | None:
    """A SERI extended header holding only ``angles`` (hundredths of a degree, as int16: IMOD's
    ``mrc_format.txt``); None when an angle does not fit (beyond ±327.67°)."""
    hundredths = np.round(np.asarray(angles, dtype=np.float64) * 100)
    if not (np.abs(hundredths) <= np.iinfo(np.int16).max).all():
        return None
    data = hundredths.astype(byte_order + "i2").tobytes()
    return RawExtended("SERI", SERI_TILT_BYTES, SERI_TILT_FLAG, data, byte_order, tilt=True)
