"""Convert one MRC/MRCZ file into another, streaming: :func:`convert_file`.

The input is read in blocks of about 32 MiB of z-slices (decompressed on the fly) and written through
:class:`streaming.MrczWriter`, so memory stays bounded and the output appears atomically, complete or
not at all. Voxel size, JSON metadata, voltage, C3 and gain (where the input's writer stored them,
else mrcz's defaults), ORIGIN, N*START, the space group, the labels and any other extended header
(FEI, SERI: the tilt angles, where no JSON metadata takes its place) are carried over (one label is
added). The CLI's ``convert`` and batch conversion are built on this.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ... import config
from ...errors import Finding, MrczError
from ...format.identity import Strictness
from ...format.metadata import JSON_EXTTYP
from ...format.names import BY_NAME
from ...values.noise import resolve_tolerance
from ...format.kept import kept_extended_header, rewrite_arguments
from ...values.precision import PrecisionSettings
from ..codec.settings import CodecSettings
from .header_fields import HeaderFields
from .slabs import iter_blocks
from ..codec.blosc import load_blosc1, load_blosc2
from ..reader.lazy import SliceArray
from ..reader.file import MrcFileInfo, open_mrc
from ..reader.tilt import file_tilt_angles
from ..storage.paths import Overwrite, PathLike, as_path
from .mrcz_writer import MrczWriter, Progress
from .pyramid import auto_for


def iter_file_blocks(info: MrcFileInfo, n_threads: int | None = None) -> Iterator[Any]:
    """The data of an opened file as (k, NY, NX) blocks in z, y, x order, of about the
    ``"convert.block_bytes"`` setting (:mod:`napari_mrcz.config`; 32 MiB)."""
    h = info.header
    if h.zyx_axes != (0, 1, 2):  # stored in another axis order: let dask reorder it
        from ..reader.lazy import as_dask

        # on this process's threads, where the blocks are used: on a dask.distributed worker the default
        # scheduler would send the reads back to the cluster as sub-tasks
        yield from iter_blocks(as_dask(info, n_threads), "threads")
        return
    step = max(1, config.get("convert.block_bytes") // max(h.slice_nbytes, 1))
    for z in range(0, h.nz, step):
        yield info.read_slices(z, min(z + step, h.nz), n_threads)


def import_codecs(info: MrcFileInfo, compressor: str | None) -> None:
    """Import what converting ``info`` will need (blosc2 to decode MRCZ input, blosc to encode, dask
    to reorder a non-standard axis order), so that a caller timing :func:`convert_file` (the CLI's
    MB/s) times the conversion, not a few hundred milliseconds of imports."""
    if info.chunk_index is not None:
        load_blosc2()
    if compressor is not None:
        load_blosc1()
    if info.header.zyx_axes != (0, 1, 2):
        import dask.array  # noqa: F401


def file_tolerance(info: MrcFileInfo, tolerance: float | str | None) -> float | None:
    """``tolerance`` for converting ``info`` as a number (see
    :func:`~napari_mrcz.values.noise.resolve_tolerance`; ``"auto"`` estimates the noise on up to 8 of
    the file's slices).

    Raises
    ------
    MrczError
        An unreadable tolerance text, or the noise cannot be estimated.
    """
    return resolve_tolerance(SliceArray(info), tolerance)


def convert_file(
    src: PathLike | MrcFileInfo,
    dst: PathLike,
    *,
    compressor: str | None = BY_NAME,
    clevel: int = 1,
    shuffle: str = "auto",
    n_threads: int | None = None,
    keep_metadata: bool = True,
    overwrite: Overwrite = False,
    progress: Progress | None = None,
    strict: Strictness = "auto",
    tolerance: float | str | None = None,
    dtype: Any = None,
    stats: bool | str = "auto",
    codec: CodecSettings | None = None,
    findings: list[Finding] | None = None,
) -> Path:
    """Copy ``src`` (any readable MRC/MRCZ, also ``.gz``/``.bz2``) to ``dst`` with another codec.

    Parameters
    ----------
    src
        The input file (str, bytes or os.PathLike), or a file already opened with :func:`open_mrc`
        (closed when done).
    dst
        The output file; written to a temporary file beside it and renamed into place when complete.
    compressor, clevel, shuffle, n_threads
        As for :func:`napari_mrcz.write`: by default ``dst``'s suffix decides (plain MRC2014 for
        :data:`~napari_mrcz.format.names.PLAIN_SUFFIXES`, zstd otherwise); ``compressor=None`` writes plain MRC2014.
    keep_metadata
        Carry the JSON metadata over (False: plain files that pass ``mrcfile.validate``).
    overwrite
        False (default) raises :class:`MrczError` if ``dst`` exists; True replaces it unless it is
        read-only; "force" replaces it even then.
    progress
        Called after each slice with (slices done, bytes in, bytes written).
    strict
        Inputs without the MAP ID and machine stamp (old-style MRC): True refuses them, "auto"
        (default) converts them with a warning where the header agrees exactly with the file, False
        whenever the data can be read; see :func:`napari_mrcz.open_mrc`.
    tolerance
        As for :func:`napari_mrcz.write` (lossy by your choice); or ``"auto"`` / ``"auto:F"``: F
        (default 1/16) times the noise that :func:`napari_mrcz.suggest_tolerance` estimates on up to
        8 slices of ``src``. See :func:`file_tolerance`.
    dtype
        Integer decimation, as for :func:`napari_mrcz.write` (``"int"`` decides from the first block).
    stats
        As for :func:`napari_mrcz.write`: "auto" (default) computes DMIN/DMAX/DMEAN/RMS for plain
        outputs and marks them "not determined" in MRCZ ones; False (CLI: ``--no-stats``) marks them
        "not determined" everywhere, so ``convert --no-metadata --no-stats x.mrcz x.mrc`` writes the
        very bytes ``napari-mrcz mount`` shows as ``x.mrc``.
    codec
        The codec as one value (:class:`~napari_mrcz.io.codec.settings.CodecSettings`), instead of
        ``compressor``, ``clevel``, ``shuffle`` and ``n_threads``.
    findings
        A list to append this conversion's findings to (:class:`~napari_mrcz.errors.Finding`: those
        of ``src`` when opened here, tilt angles ignored, an extended header not carried over, and
        the writer's, as for :func:`napari_mrcz.write`) instead of warning with them.

    Returns
    -------
    Path
        ``dst``.

    Raises
    ------
    MrczError
        ``src`` is not readable MRC/MRCZ, ``dst`` exists (without ``overwrite``) or its folder is missing,
        or ``tolerance``/``dtype`` are invalid or do not fit the data.
    OSError
        A file cannot be read or written; ``dst`` is left as it was.

    Warns
    -----
    MrczWarning
        Each finding, unless ``findings`` collects them.
    """
    dst = as_path(dst)
    if codec is None:
        codec = CodecSettings(compressor, clevel, shuffle, threads=n_threads)
    elif (compressor, clevel, shuffle, n_threads) != (BY_NAME, 1, "auto", None):
        raise MrczError("pass codec= or compressor, clevel, shuffle and n_threads, not both")
    if overwrite is False and dst.exists():
        raise MrczError(f"{dst} exists; pass overwrite=True (CLI: --force) to replace it")
    if not dst.absolute().parent.is_dir():
        raise MrczError(f"{dst}: the folder {dst.absolute().parent} does not exist")
    if isinstance(src, MrcFileInfo):
        info = src
    else:
        info = open_mrc(src, strict=strict, warn=findings is None)
        if findings is not None:
            findings.extend(info.findings)
    try:
        tolerance = file_tolerance(info, tolerance)
    except BaseException:
        info.close()
        raise
    h, shape = info.header, info.shape
    kept_extended = kept_extended_header(h, info.extended_header)
    angles = file_tilt_angles(info, findings)
    arguments = rewrite_arguments(h, info.voxel_size, info.metadata if keep_metadata else {}, angles)
    with info:
        fields = HeaderFields.from_arguments(**arguments, ndim=len(shape), extended_header=kept_extended)
        writer = MrczWriter.from_options(
            dst,
            codec=codec,
            fields=fields,
            precision=PrecisionSettings(tolerance, dtype),
            overwrite=overwrite,
            progress=progress,
            ndim=len(shape),
            slices_per_volume=shape[1] if len(shape) == 4 else None,
            stats=stats,
            pyramid=auto_for(shape, info.nbytes),
            findings=findings,
        )
        with writer:
            carried = writer.fields.exttyp == h.exttyp and writer.fields.extended == info.extended_header
            if h.nsymbt and h.exttyp != JSON_EXTTYP and not carried:  # JSON metadata, or another byte order
                kept = "; its tilt angles are kept" if arguments["kept"].tilt_angles is not None else ""
                Finding(str(info.path), f"the {h.exttyp or 'untyped'} extended header ({h.nsymbt} bytes) is not "
                        f"carried over{kept}").report(findings)
            for block in iter_file_blocks(info, codec.threads):
                writer.write(block)
    return dst
