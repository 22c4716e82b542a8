"""File names: every suffix this package reads or writes, how a name splits into stem and suffixes, the
plain-vs-MRCZ rule every writer shares, and the names of outputs.

Plain MRC2014 suffixes (IMOD, RELION, CCP4 and EMDB use them) get plain MRC that every MRC reader
opens; ``.mrcz`` and any other name get MRCZ with the default codec. ``.gz``/``.bz2`` wrap a plain
file and are read (decompressed into memory), never written. Suffixes match case-insensitively; stems
keep their case. The napari manifest's filename patterns are these tables (a test compares them).
Pure functions; no I/O.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ..errors import Finding, MrczError

# One tuple per kind of file: add a suffix to its kind and every reader, writer, batch run and the
# napari manifest (tests/plugin/test_manifest.py) follow.
MRC_SUFFIXES = (".mrc",)
MAP_SUFFIXES = (".map", ".ccp4")
"""Density maps: EMDB's and CCP4/CCP-EM's names."""
MASK_SUFFIXES = (".msk",)
"""CCP4 masks."""
IMAGE_STACK_SUFFIXES = (".mrcs", ".st", ".preali", ".ali")
"""Stacks of 2-D images: particle stacks (RELION's .mrcs) and tilt series (IMOD/SerialEM: .st raw,
.preali prealigned, .ali aligned)."""
TOMOGRAM_SUFFIXES = (".rec",)
"""Reconstructed tomograms (IMOD). IMOD's model files (such as the fiducial model ``.fid``) are not MRC."""
PLAIN_SUFFIXES = (*MRC_SUFFIXES, *MAP_SUFFIXES, *MASK_SUFFIXES, *IMAGE_STACK_SUFFIXES, *TOMOGRAM_SUFFIXES)
"""Suffixes of plain MRC2014 files; case-insensitive."""
COMPRESSED_SUFFIX = ".mrcz"
READ_SUFFIXES = (COMPRESSED_SUFFIX, *PLAIN_SUFFIXES)
"""Names the readers claim and batch runs pick from folders and globs."""
STREAM_SUFFIXES = (".gz", ".bz2")
"""Wrap a plain suffix (``.map.gz``); read (decompressed into memory), never written."""
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


def _ending(lower: str, suffixes: tuple[str, ...]) -> str:
    """The suffix of ``suffixes`` that ``lower`` ends with after at least one character, or ''."""
    return next((s for s in suffixes if lower.endswith(s) and len(lower) > len(s)), "")


def split_name(name: str) -> tuple[str, str, str]:
    """(stem, MRC suffix, stream suffix) of a file name; the suffixes lower case, '' where absent.

    ``"EMD-1.MAP.gz"`` → ``("EMD-1", ".map", ".gz")``; ``"x.mrcz"`` → ``("x", ".mrcz", "")``;
    ``"frames.tif"`` → ``("frames.tif", "", "")`` (see :func:`stem` for output names).
    """
    stream = _ending(name.lower(), STREAM_SUFFIXES)
    inner = name[: len(name) - len(stream)]
    suffix = _ending(inner.lower(), READ_SUFFIXES)
    return inner[: len(inner) - len(suffix)], suffix, stream


def mrc_suffix(name: str) -> str:
    """The MRC suffix of a file name, lower case, behind any ``.gz``/``.bz2`` ('' for none)."""
    return split_name(name)[1]


def is_mrc_name(name: str) -> bool:
    """Whether a file name is one this package reads: an MRC suffix (:data:`READ_SUFFIXES`), or a plain
    one wrapped in ``.gz``/``.bz2`` (``.map.gz``; compressing an MRCZ file again gains nothing)."""
    _, suffix, stream = split_name(name)
    return suffix in PLAIN_SUFFIXES if stream else bool(suffix)


def stem(name: str) -> str:
    """A file name without ``.gz``/``.bz2`` and its MRC suffix, or its last suffix when it has no MRC
    suffix (``raw.tif`` → ``raw``): what an output named after it keeps."""
    base, suffix, stream = split_name(name)
    if suffix or not base:
        return base
    return base if stream else (os.path.splitext(base)[0] or base)


def output_name(name: str, suffix: str) -> str:
    """The name of the output converted from a file named ``name``: its :func:`stem` plus ``suffix``
    (``EMD-3001.map.gz``, ``.mrcz`` → ``EMD-3001.mrcz``)."""
    return stem(name) + suffix


def with_default_suffix(path: str, suffix: str) -> str:
    """``path`` as given when its name has a suffix, else with ``suffix`` added (napari's save dialog
    may pass a bare name)."""
    return path if os.path.splitext(os.path.basename(path))[1] else path + suffix


def safe_stem(name: str) -> str:
    """A layer name as a file name stem: letters, digits, ``_.- `` kept, anything else ``_``; ``layer``
    for an empty name."""
    return re.sub(r"[^\w.\- ]+", "_", name).strip(" .") or "layer"


def layer_file_name(layer_name: str, taken: set[str], suffix: str = COMPRESSED_SUFFIX) -> str:
    """A safe file name (:func:`safe_stem`) for a napari layer inside a folder, unique
    (case-insensitively) among ``taken``, which it joins: ``-2``, ``-3`` ... for repeats."""
    base = safe_stem(layer_name)
    candidate, n = f"{base}{suffix}", 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{base}-{n}{suffix}"
    taken.add(candidate.lower())
    return candidate


def sidecar_names(name: str) -> list[str]:
    """The names of the tilt-angle files that may sit beside an image named ``name``, in the order they
    are tried: SerialEM's ``<name>.mdoc`` (without ``.gz``/``.bz2``), IMOD's ``<stem>.rawtlt`` and
    ``<stem>.tlt`` (``.tlt`` first for an aligned ``.ali`` stack, whose refined angles it holds)."""
    base, suffix, stream = split_name(name)
    image = name[: len(name) - len(stream)]
    if not suffix:  # an unknown suffix: IMOD's stem drops it as the MRC suffix would be
        base = os.path.splitext(image)[0]
    tlt = [f"{base}.tlt", f"{base}.rawtlt"] if suffix == ".ali" else [f"{base}.rawtlt", f"{base}.tlt"]
    return [f"{image}.mdoc", *tlt]


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


def compressor_for(path: str | os.PathLike[str], compressor: Any = BY_NAME,
                   findings: list[Finding] | None = None) -> str | None:
    """The compressor to write ``path`` with: the caller's, or by the suffix when it is :data:`BY_NAME`.

    By name: plain suffixes (:data:`PLAIN_SUFFIXES`) give None (plain MRC2014, readable by mrcfile,
    IMOD, RELION), ``.mrcz`` and any other name the default codec (zstd). An explicit compressor is
    kept; None always means plain MRC. ``findings``: a list for the warning below instead (see
    :meth:`~napari_mrcz.errors.Finding.report`).

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
        Finding(name, f"written as MRCZ ({compressor}-compressed) because a compressor was given; only "
                "mrcz-aware readers (napari-mrcz, mrcz, RosettaSciIO) can open it. Name it .mrcz, or pass "
                "compressor=None for plain MRC").report(findings, stacklevel=3)
    return compressor


def plain_name(name: str) -> str | None:
    """The name an MRCZ file's plain MRC view goes by (``x.mrcz`` -> ``x.mrc``, any case of the
    suffix); None for names that are not MRCZ."""
    if suffix_kind(name) != "mrcz":
        return None
    return name[: -len(COMPRESSED_SUFFIX)] + PLAIN_SUFFIXES[0]


def check_output_suffix(suffix: str) -> str:
    """'mrcz' or 'plain': the kind of output a batch ``suffix`` names (the rule of :func:`suffix_kind`).

    Raises
    ------
    MrczError
        ``suffix`` is not one suffix ('.mrcz' or a plain MRC suffix).
    """
    kind = suffix_kind("x" + suffix)
    if not suffix.startswith(".") or os.sep in suffix or kind not in ("mrcz", "plain"):
        raise MrczError(
            f"output suffix {suffix!r} is not an MRC suffix: use {COMPRESSED_SUFFIX} or one of {', '.join(PLAIN_SUFFIXES)}"
        )
    return kind


def output_compressor(name: str | os.PathLike[str], compressor: str | None) -> str | None:
    """The compressor of an output file named ``name`` (or ``*<suffix>`` for many outputs), by its
    suffix, for ``convert``: OME-Zarr names give None (not MRC); ``.mrcz`` is compressed (``compressor``, default :data:`DEFAULT_COMPRESSOR`),
    the plain suffixes (:data:`PLAIN_SUFFIXES`) are plain MRC2014 (``compressor`` must then be None or
    ``"none"``).

    Raises
    ------
    MrczError
        ``"none"`` for a .mrcz output, a compressor for a plain one, or a suffix that is neither.
    """
    shown = os.path.basename(os.fsdecode(name))
    suffix = os.path.splitext(shown)[1].lower()
    kind = suffix_kind(name)
    if is_zarr(name):  # OME-Zarr: written by its own writer, which names its codec
        return None
    if kind == "mrcz":
        if compressor == "none":
            raise MrczError(f"{shown}: a .mrcz output is compressed; name it .mrc for plain MRC (or another plain suffix)")
        return compressor or DEFAULT_COMPRESSOR
    if kind == "plain":
        if compressor not in (None, "none"):
            raise MrczError(f"{shown}: {suffix} output is plain MRC; name it .mrcz to compress it")
        return None
    raise MrczError(
        f"{shown}: {suffix or 'no suffix'!r} is not an MRC suffix, so it cannot tell the output format: use "
        f".mrcz (compressed), {', '.join(PLAIN_SUFFIXES)} (plain MRC) or {ZARR_SUFFIXES[0]} (OME-Zarr)"
    )
