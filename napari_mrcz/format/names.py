"""What a file name says about the format to write: the suffix rule every writer shares.

Plain MRC2014 suffixes (IMOD, RELION, CCP4 and EMDB use them) get plain MRC that every MRC reader
opens; ``.mrcz`` and any other name get MRCZ with the default codec. Pure functions; no I/O.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from ..errors import MrczError, MrczWarning

PLAIN_SUFFIXES = (".mrc", ".mrcs", ".map", ".st", ".preali", ".ali", ".rec", ".ccp4", ".msk")
"""Suffixes of plain MRC2014 files (CCP4 maps and masks, IMOD's tilt series and tomograms included);
case-insensitive."""
MAP_SUFFIXES = (".map", ".ccp4")
"""Density maps: EMDB's and CCP4/CCP-EM's names."""
IMAGE_STACK_SUFFIXES = (".mrcs", ".st", ".preali", ".ali")
"""Stacks of 2-D images: particle stacks (RELION's .mrcs) and tilt series (IMOD/SerialEM: .st raw,
.preali prealigned, .ali aligned)."""
TOMOGRAM_SUFFIXES = (".rec",)
"""Reconstructed tomograms (IMOD)."""
COMPRESSED_SUFFIX = ".mrcz"
STREAM_SUFFIXES = (".gz", ".bz2")
"""Read (decompressed into memory), never written."""
DEFAULT_COMPRESSOR = "zstd"
ZARR_SUFFIXES = (".ome.zarr", ".zarr")
"""Folders read and written as OME-Zarr images (with or without a trailing slash); case-insensitive."""


class _ByName:
    """The type of :data:`BY_NAME`."""

    def __repr__(self) -> str:
        return "BY_NAME"

    def __reduce__(self) -> str:
        return "BY_NAME"  # pickles (write_async, dask) as the same object


BY_NAME: Any = _ByName()
"""Default of ``compressor=`` in the writers: decided by the file name (see :func:`compressor_for`)."""


def data_suffix(path: str | os.PathLike[str]) -> str:
    """The lower-case suffix that names the data, under any .gz/.bz2: '.map' for 'emd_1.map.gz', '' for none."""
    name = os.path.basename(os.fsdecode(path)).lower()
    for stream in STREAM_SUFFIXES:
        if name.endswith(stream):
            name = name[: -len(stream)]
    stem, dot, suffix = name.rpartition(".")
    return f".{suffix}" if dot and stem else ""


def suffix_kind(path: str | os.PathLike[str]) -> str:
    """'plain', 'mrcz', 'stream' (.gz/.bz2) or 'other' for a file name (case-insensitive)."""
    name = os.fsdecode(path).lower()
    if name.endswith(STREAM_SUFFIXES):
        return "stream"
    if name.endswith(COMPRESSED_SUFFIX):
        return "mrcz"
    if name.endswith(PLAIN_SUFFIXES):
        return "plain"
    return "other"


def is_zarr(path: object) -> bool:
    """True when ``path`` (a str, bytes, os.PathLike or URL) names an OME-Zarr image by its suffix
    (:data:`ZARR_SUFFIXES`), which napari-mrcz reads and writes as OME-Zarr instead of MRC."""
    try:
        name = os.fsdecode(path)  # type: ignore[arg-type]
    except TypeError:
        return False
    return name.rstrip("/\\").lower().endswith(ZARR_SUFFIXES)


def compressor_for(path: str | os.PathLike[str], compressor: Any = BY_NAME) -> str | None:
    """The compressor to write ``path`` with: the caller's, or by the suffix when it is :data:`BY_NAME`.

    By name: plain suffixes (:data:`PLAIN_SUFFIXES`) give None (plain MRC2014, readable by mrcfile,
    IMOD, RELION), ``.mrcz`` and any other name the default codec (zstd). An explicit compressor is
    kept; None always means plain MRC.

    Raises
    ------
    MrczError
        ``path`` ends in .gz or .bz2, which are read but not written.

    Warns
    -----
    MrczWarning
        A compressor was asked for with a plain suffix: the file is MRCZ, which only mrcz-aware readers
        open.
    """
    kind = suffix_kind(path)
    name = os.path.basename(os.fsdecode(path))
    if kind == "stream":
        raise MrczError(
            f"{name}: gzip/bzip2 files are read but not written; write {name.rsplit('.', 1)[0]} "
            "and compress it afterwards, or write .mrcz"
        )
    if compressor is BY_NAME:
        return None if kind == "plain" else DEFAULT_COMPRESSOR
    if compressor is not None and kind == "plain":
        warnings.warn(
            f"{name}: written as MRCZ ({compressor}-compressed) because a compressor was given; only "
            "mrcz-aware readers (napari-mrcz, mrcz, RosettaSciIO) can open it. Name it .mrcz, or pass "
            "compressor=None for plain MRC",
            MrczWarning,
            stacklevel=3,
        )
    return compressor


def plain_name(name: str) -> str | None:
    """The name an MRCZ file's plain MRC view goes by (``x.mrcz`` -> ``x.mrc``, any case of the
    suffix); None for names that are not MRCZ."""
    if suffix_kind(name) != "mrcz":
        return None
    return name[: -len(COMPRESSED_SUFFIX)] + PLAIN_SUFFIXES[0]
