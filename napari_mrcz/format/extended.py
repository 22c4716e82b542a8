"""Tilt angles in extended headers: FEI1/FEI2 (Thermo Fisher EPU/Tomo) and SERI (SerialEM, IMOD).

- FEI1/FEI2 (EXTTYP ``FEI1``/``FEI2``; layout as ``mrcfile.dtypes.get_ext_header_dtype``): one record per
  section, each "Metadata size" bytes long (an int32 at its start); "Alpha tilt" is a float64 in
  degrees at byte 100 of a record. Bit 7 of "Bitmask 1" (bytes 8-11, little-endian in either byte
  order, as mrcfile reads it) says whether it is set; writers that fill no bitmask at all (mrcfile)
  leave every bit clear, which is read as "not stated".
- SERI (EXTTYP ``SERI``, or no EXTTYP when the header's flags add up, as IMOD reads it): NINT (int16 at
  byte 128) bytes per section, NREAL (byte 130) flags for what they hold; with flag 1 the first int16
  of each section is the tilt angle x 100 (IMOD ``mrc_format.txt``).

Pure functions over the extended header's bytes; a malformed header warns (:class:`MrczWarning`) and
gives None, it never costs the pixels.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import MrczWarning
from .header import Header

FEI_TYPES = ("FEI1", "FEI2")
FEI_BITMASK_OFFSET = 8
FEI_ALPHA_TILT_OFFSET = 100
FEI_ALPHA_TILT_BIT = 7
SERI_TILT_FLAG = 1
SERI_FLAG_BYTES = {1: 2, 2: 6, 4: 4, 8: 2, 16: 2, 32: 4, 64: 2, 128: 4, 256: 2, 512: 4, 1024: 2}
"""Bytes each SerialEM flag adds to a section's record (IMOD ``mrc_format.txt``)."""


def _malformed(source: str, what: str) -> None:
    warnings.warn(f"{source}: tilt angles ignored: {what}", MrczWarning, stacklevel=3)


def seri_layout(header: Header) -> bool:
    """True when NINT/NREAL describe SerialEM records: the bytes the NREAL flags imply add up to NINT."""
    flags = header.nreal
    if header.nint <= 0 or flags <= 0 or flags & ~sum(SERI_FLAG_BYTES):
        return False
    return sum(size for flag, size in SERI_FLAG_BYTES.items() if flags & flag) == header.nint


def _fei_angles(header: Header, extended: bytes, source: str) -> np.ndarray | None:
    order = header.byte_order
    if len(extended) < FEI_ALPHA_TILT_OFFSET + 8:
        _malformed(source, f"the {header.exttyp} extended header has {len(extended)} bytes, less than one record")
        return None
    size = int(np.frombuffer(extended, order + "i4", count=1)[0])
    if size < FEI_ALPHA_TILT_OFFSET + 8 or size * header.nz > len(extended):
        _malformed(source, f"{header.exttyp} records of {size} bytes do not fit {header.nz} sections "
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
        _malformed(source, f"{header.exttyp} alpha tilt {bad} is not an angle")
        return None
    return angles.astype(np.float64)


def _seri_angles(header: Header, extended: bytes, source: str) -> np.ndarray | None:
    declared = header.exttyp == "SERI"  # without EXTTYP, NINT/NREAL may be anything: no warnings
    if not seri_layout(header):
        if declared:
            _malformed(source, f"SERI header with NINT={header.nint} and flags NREAL={header.nreal} that do not agree")
        return None
    if not header.nreal & SERI_TILT_FLAG:
        return None
    if header.nint * header.nz > len(extended):
        if declared:
            _malformed(source, f"{header.nz} SerialEM records of {header.nint} bytes need more than the "
                               f"{len(extended)} bytes of the extended header")
        return None
    records = np.frombuffer(extended, np.uint8, count=header.nint * header.nz).reshape(header.nz, header.nint)
    hundredths = records[:, :2].copy().view(header.byte_order + "i2")[:, 0]
    return hundredths.astype(np.float64) / 100.0


def extended_tilt_angles(header: Header, extended: bytes, source: str = "<bytes>") -> np.ndarray | None:
    """Tilt angles in degrees, one per stored section, from an FEI1/FEI2 or SerialEM extended header;
    None when the header holds none.

    Warns
    -----
    MrczWarning
        The extended header says it holds tilt angles but its records do not fit or hold no angles.
    """
    if header.exttyp in FEI_TYPES:
        return _fei_angles(header, extended, source)
    if header.exttyp in ("SERI", ""):
        return _seri_angles(header, extended, source)
    return None
