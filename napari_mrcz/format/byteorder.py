"""The byte order of a header: from the machine stamp, or inferred from words that must be small.

MRC2014 marks the byte order with the machine stamp (bytes 212-213), but old-style files have none, some
writers leave it zero, and some (Amira) write garbage. Like ChimeraX and IMOD, the order is then the one
in which the header makes sense: NX/NY/NZ at least 1 and not absurd, a known MODE, MAPC/MAPR/MAPS a
permutation of 1, 2, 3 (or 0, 0, 0), NSYMBT not negative, and (when the file size is known) the data
fitting the file. A byte-swapped small number is huge (1 becomes 16777216), so at most one order
usually passes. Pure functions over the header bytes; no I/O.
"""

from __future__ import annotations

import math

import numpy as np

from .constants import COMPRESSOR_IDS, HEADER_BYTES, MRC_COMP_RATIO
from .modes import KNOWN_MODES, MODE_TO_DTYPE, byte_order_from_machst

_MAX_SIDE = 2**24  # no instrument or reconstruction comes near 16.7 million voxels along one axis
_SAMPLE_BITS = {3: 32, 101: 4}  # packed modes: bits per voxel (complex int16; 4-bit)


def _words(raw: bytes, order: str) -> dict[str, int]:
    w = np.frombuffer(raw, dtype=order + "i4", count=24)
    return {"nx": int(w[0]), "ny": int(w[1]), "nz": int(w[2]), "mode": int(w[3]),
            "mapc": int(w[16]), "mapr": int(w[17]), "maps": int(w[18]), "nsymbt": int(w[23])}


def implied_size(words: dict[str, int]) -> int | None:
    """Bytes a plain file with these words holds (header, extended header, data); None for MRCZ."""
    comp, mode = divmod(words["mode"], MRC_COMP_RATIO)
    if comp:
        return None
    bits = _SAMPLE_BITS.get(mode) or 8 * np.dtype(MODE_TO_DTYPE[mode]).itemsize
    row = math.ceil(words["nx"] * bits / 8)
    return HEADER_BYTES + words["nsymbt"] + row * words["ny"] * words["nz"]


def plausibility(raw: bytes, order: str, file_size: int | None = None) -> int:
    """How well the header reads in ``order``: 0 impossible (a negative dimension, an unknown mode),
    1 possible, 2 also sane (NX, NY, NZ at least 1 (NX, NY at most 2^24, MAPC/MAPR/MAPS and NSYMBT valid), 3 also the data fits the file
    (or the file size is unknown), 4 the file is exactly as long as a plain file's header says."""
    w = _words(raw, order)
    comp, mode = divmod(w["mode"], MRC_COMP_RATIO)
    if w["mode"] < 0 or mode not in KNOWN_MODES or (comp and comp not in COMPRESSOR_IDS):
        return 0
    if min(w["nx"], w["ny"], w["nz"]) < 0:
        return 0
    axes = (w["mapc"], w["mapr"], w["maps"])
    sane_axes = sorted(axes) == [1, 2, 3] or axes == (0, 0, 0)
    if min(w["nx"], w["ny"], w["nz"]) < 1 or max(w["nx"], w["ny"]) > _MAX_SIDE or not sane_axes or w["nsymbt"] < 0:
        return 1  # read in this order, the checks then name what is wrong
    if file_size is None:
        return 3
    size = implied_size(w)
    if HEADER_BYTES + w["nsymbt"] > file_size or (size is not None and size > file_size):
        return 2
    return 4 if size == file_size else 3


def infer_byte_order(raw: bytes, file_size: int | None = None) -> str | None:
    """'<' or '>' for a 1024-byte header: the order in which it reads best (see :func:`plausibility`);
    the machine stamp decides between equally good orders, little-endian when there is none. None when
    the header reads in neither order."""
    scores = {order: plausibility(raw, order, file_size) for order in ("<", ">")}
    best = max(scores.values())
    if best == 0:
        return None
    stamp = byte_order_from_machst(raw[212:216])
    candidates = [order for order, score in scores.items() if score == best]
    return stamp if stamp in candidates else candidates[0]
