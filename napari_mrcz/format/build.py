"""Encode a 1024-byte MRC2014/MRCZ header for data we write. Pure numpy; no I/O.

Plain files get the fields mrcfile writes (so they pass ``mrcfile.validate``); MRCZ files keep mrcz's
conventions (MZ = 0, CELLA = voxel size x N, the ``MRCZ0.6.0`` first label).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .constants import (
    COMPRESSOR_NAMES,
    ISPG_IMAGE_STACK,
    MACHST_BIG,
    MACHST_LITTLE,
    MAP_ID,
    MRC_COMP_RATIO,
    NVERSION,
    STATS_NOT_DETERMINED,
)
from .header import HEADER_DTYPE
from .kept import KeptFields, ispg_for, merged_labels
from .modes import mode_from_dtype
from .voxel import cell_from_voxel

def signed_bytes_undetermined(stats: tuple[float, float, float, float], mode: int) -> tuple[float, float, float, float]:
    """``stats`` as written for ``mode``: undetermined DMIN/DMAX (DMAX < DMIN) of mode 0 become
    DMIN -1, DMAX -2 (DMEAN below both), still "not determined" under MRC2014.

    Why: IMOD decides whether mode-0 bytes without its stamp are signed from DMIN/DMAX
    (``readBytesSigned`` in libcfshr/b3dutil.c: DMIN < 0 and DMAX < 128 means signed; DMIN >= 0 and
    DMAX < 128 "could be either", read unsigned), so the usual 0/-1 would make it read MRC2014's
    signed bytes as unsigned, -1 as 255. Determined statistics are left as they are.
    """
    dmin, dmax, dmean, rms = stats
    if mode == 0 and dmax < dmin and dmin >= 0:
        return (-1.0, -2.0, min(dmean, -3.0), rms)
    return stats


def build_header(
    *,
    shape: tuple[int, ...],
    dtype: np.dtype,
    byte_order: str,
    voxel_size: tuple[float, float, float],
    compressor: str | None,
    stats: tuple[float, float, float, float] = STATS_NOT_DETERMINED,
    nsymbt: int = 0,
    exttyp: str = "",
    nint: int = 0,
    nreal: int = 0,
    voltage: float = 0.0,
    c3: float = 0.0,
    gain: float = 1.0,
    packed_bytes: int = 0,
    label: str = "",
    extra_labels: Sequence[str] = (),
    kept: KeptFields | None = None,
) -> bytes:
    """Encode a header for data of ``shape`` (z, y, x; 2-D; or 4-D volume stack) and ``dtype``.

    ``byte_order`` ('<' or '>') must match the data's (1-byte dtypes have none of their own). Plain files get MRC2014 sampling and space group as mrcfile writes
    them (2-D: image, ISPG 0, MZ 1; 3-D: volume, ISPG 1, MZ = NZ; 4-D: ISPG 401). MRCZ files keep
    MZ = 0 for 2-D/3-D data, because ``mrcz.readMRC`` returns a list of frames whenever MZ >= 1.
    ``stats`` is (dmin, dmax, dmean, rms); the default marks them as not determined (see
    :func:`signed_bytes_undetermined` for mode 0).
    ``kept`` gives ORIGIN, N*START, the space group and earlier labels; ``label`` and ``extra_labels``
    are appended after them, up to MRC's 10 lines of 80 characters.
    """
    dtype = np.dtype(dtype)
    order = byte_order
    kept = kept or KeptFields()
    if len(shape) == 2:
        nz, ny, nx, mz = 1, shape[0], shape[1], 1
    elif len(shape) == 3:
        (nz, ny, nx), mz = shape, shape[0]
    else:
        nv, mz, ny, nx = shape
        nz = nv * mz
    ispg = ispg_for(len(shape), nz, kept.ispg)
    if len(shape) == 3 and ispg == ISPG_IMAGE_STACK:
        mz = 1  # an image stack, as mrcfile writes it: CELLA z is one section
    if compressor and len(shape) < 4:
        mz = 0
    rec = np.zeros((), dtype=HEADER_DTYPE.newbyteorder(order))
    rec["nx"], rec["ny"], rec["nz"] = nx, ny, nz
    rec["mode"] = mode_from_dtype(dtype) + MRC_COMP_RATIO * (COMPRESSOR_NAMES[compressor] if compressor else 0)
    rec["mx"], rec["my"], rec["mz"] = nx, ny, mz
    vz, vy, vx = voxel_size
    # mrcz: CELLA = size x N; each rounded once to float32, from float64
    rec["cella"] = [cell_from_voxel(v, n) for v, n in ((vx, nx), (vy, ny), (vz, nz if compressor else mz))]
    rec["cellb"] = (90.0, 90.0, 90.0)
    rec["mapc"], rec["mapr"], rec["maps"] = 1, 2, 3
    rec["nxstart"], rec["nystart"], rec["nzstart"] = kept.start_xyz
    rec["origin"] = kept.origin_xyz
    rec["dmin"], rec["dmax"], rec["dmean"], rec["rms"] = signed_bytes_undetermined(stats, rec["mode"] % MRC_COMP_RATIO)
    rec["ispg"] = ispg
    rec["nsymbt"] = nsymbt
    rec["exttyp"] = exttyp.encode("ascii")
    rec["nint"], rec["nreal"] = nint, nreal
    rec["nversion"] = NVERSION
    rec["voltage"], rec["c3"], rec["gain"] = voltage, c3, gain
    rec["packed_bytes"] = packed_bytes
    rec["map"] = MAP_ID
    rec["machst"] = (*MACHST_LITTLE, 0, 0) if order == "<" else (*MACHST_BIG, 0, 0)
    labels = merged_labels(kept.labels, [label, *extra_labels], bool(compressor))
    rec["nlabl"] = len(labels)
    rec["label"][: len(labels)] = [lab.encode("latin-1", "replace") for lab in labels]
    return rec.tobytes()
