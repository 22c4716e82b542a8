"""MRC data modes and byte order: the mode <-> numpy dtype tables (MRC2014 modes 0-4, 6, 12, 101, and
mrcz's 7 int32 and 8 uint32) and the machine stamp. Pure data and functions; no I/O.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError

# Modes whose samples numpy reads directly; 3 (complex int16) and 101 (4-bit) are unpacked on read.
MODE_TO_DTYPE = {0: "i1", 1: "i2", 2: "f4", 4: "c8", 6: "u2", 7: "i4", 8: "u4", 12: "f2"}
DTYPE_TO_MODE = {"i1": 0, "i2": 1, "f4": 2, "c8": 4, "u2": 6, "i4": 7, "u4": 8, "f2": 12}
PACKED_MODES = (3, 101)
KNOWN_MODES = tuple(sorted((*MODE_TO_DTYPE, *PACKED_MODES)))


def mode_from_dtype(dtype: np.dtype) -> int:
    """MRC mode for a numpy dtype that MRC stores as is (any byte order).

    Raises
    ------
    UnsupportedError
        For dtypes without an MRC mode (see ``dtypes.storage_dtype`` for the lossless mappings).
    """
    key = np.dtype(dtype).str[1:]
    if key not in DTYPE_TO_MODE:
        raise UnsupportedError(f"dtype {np.dtype(dtype)} has no MRC mode")
    return DTYPE_TO_MODE[key]


def byte_order_from_machst(machst: bytes) -> str | None:
    """'<' or '>' from the machine stamp (bytes 212-213), None when the stamp says neither."""
    if machst[0] == 0x44 and machst[1] in (0x41, 0x44):
        return "<"
    if machst[0] == 0x11 and machst[1] == 0x11:
        return ">"
    return None
