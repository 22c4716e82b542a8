"""Write MRC2014 and MRCZ files in one call: :func:`write`, or :func:`write_async` in the background.

Both stream the data slice by slice through :class:`streaming.MrczWriter`, so numpy, dask and other
lazy array-likes are written with bounded memory and atomically.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import Finding, MrczError
from ...values.dtypes import storage_dtype
from ...format.names import BY_NAME
from ...values.precision import INT, PrecisionSettings, integer_dtype_for
from ...format.kept import KeptFields, rewrite_arguments
from ...format.metadata import angstrom_per
from .header_fields import HeaderFields
from ..codec.settings import CodecSettings
from .slabs import iter_blocks
from ..storage.paths import Overwrite, PathLike
from ..reader.read import MrcImage
from .mrcz_writer import MrczWriter, Progress
from .pyramid import auto_for, check_setting

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def write(
    path: PathLike,
    data: Any,
    *,
    voxel_size: Any = None,
    units: str = "Å",
    metadata: dict[str, Any] | None = None,
    compressor: str | None = BY_NAME,
    clevel: int = 1,
    shuffle: str = "auto",
    n_threads: int | None = None,
    endianness: str = "<",
    voltage: float | None = None,
    c3: float | None = None,
    gain: float | None = None,
    lossy_cast: bool = False,
    overwrite: Overwrite = True,
    progress: Progress | None = None,
    tolerance: float | None = None,
    dtype: Any = None,
    origin: Any = None,
    labels: Sequence[str] = (),
    stats: bool | str = "auto",
    pyramid: bool | str = "auto",
    codec: CodecSettings | None = None,
    header: HeaderFields | None = None,
    precision: PrecisionSettings | None = None,
    findings: list[Finding] | None = None,
    scheduler: str | None = None,
) -> Path:
    """Write ``data`` to an MRC2014 or MRCZ file, the format chosen by the file name unless given.

    Parameters
    ----------
    path
        Target file (str, bytes or os.PathLike); written to a temporary file beside it and renamed
        into place when complete.
    data
        2-D image, 3-D stack/volume (z, y, x) or 4-D volume stack; numpy, dask or any array-like with
        ``shape``, ``dtype`` and slicing. dask and other lazy arrays are streamed slice by slice.
        An :class:`MrcImage` from :func:`read` writes its data with its voxel size, origin, metadata,
        voltage, C3 and gain, and keeps its file's ORIGIN, N*START, space group and labels (one label
        is added); arguments given here replace the image's.
    voxel_size
        Scalar, (y, x) or (z, y, x) in ``units``; None for 1 Å (or the image's).
    units
        Length unit of ``voxel_size`` and ``origin``: 'Å', 'nm', 'µm', 'pm' (and common spellings).
    metadata
        JSON-serialisable dict stored in the extended header (EXTTYP 'json').
    origin
        Position of voxel [0, 0, 0], (z, y, x) ((y, x) for 2-D data) in ``units``, written as ORIGIN
        (x, y, z) as ChimeraX reads it; None for 0 (or the image's).
    labels
        Text for the header's 80-character labels, after any the image keeps and before the
        ``napari-mrcz <version>`` label every file gets (at most 10 labels in all; see
        :func:`napari_mrcz.format.kept.merged_labels`).
    compressor
        'zstd', 'lz4', 'lz4hc', 'zlib', 'blosclz', or None for plain MRC. Not given: plain MRC for
        the plain suffixes (.mrc .mrcs .map .ccp4 .msk .st .preali .ali .rec, any case: :data:`~napari_mrcz.format.names.PLAIN_SUFFIXES`), which mrcfile, IMOD
        and RELION read; zstd for .mrcz and any other name. A compressor given with a plain suffix
        writes MRCZ and warns (only mrcz-aware readers open it).
    clevel
        Compression level 0-9.
    shuffle
        'auto' (the smaller of bit- and byte-shuffle on a sample, per file), 'bit', 'byte' or 'none'.
    n_threads
        blosc threads (None: all cores, at most 8).
    endianness
        '<' (little, default) or '>' (big).
    voltage, c3, gain
        Microscope kV, spherical aberration in mm, detector gain (mrcz's header words, bytes
        132-143); None: the image's, else mrcz's defaults (0, 0 and 1).
    lossy_cast
        Allow rounding float64/complex128 to float32/complex64 (MRC holds no wider float); an
        :class:`MrczWarning` then states the largest rounding error. Without it, such data is stored
        only when every value is exact in float32. The one rule for float64: napari's Save Layer and
        the "Save as MRCZ" widget save with ``lossy_cast=True`` (and so warn the same way).
    overwrite
        True (default): replace an existing file, unless it is read-only (as ``open(path, "wb")``
        refuses it); "force": replace it even then (like ``cp -f``); False: refuse any existing file.
    progress
        Called after each slice with (slices done, bytes in, bytes written).
    tolerance
        Lossy by your choice: float data is rounded so that every voxel is within ``tolerance`` (in
        the data's units) of its value: to multiples of the largest power of two <= 2 x tolerance,
        which leaves low mantissa bits zero for the codec (about 3-5x smaller; see
        :func:`napari_mrcz.suggest_tolerance` for a value from the data's noise). The file stays an
        ordinary float32 MRC/MRCZ; an MRC label records the tolerance (``read(...).tolerance``).
        NaN and ±inf are kept; complex data is bounded in modulus; integer data is always stored
        exactly (a given tolerance is ignored with a :class:`MrczWarning`). Plain MRC output is
        quantized too (it then compresses well with gzip). None or 0: lossless (the default).
    dtype
        Integer decimation: ``"int"`` stores data whose values are all integers (e.g. gain-normalised
        counts written as float) in the smallest of int8, int16, uint16 that holds them; or name one
        (int8, int16, uint16; int32/uint32 are mrcz's non-standard modes 7/8). Every value is
        checked: the write fails rather than change one. Readers then see integers. For numpy data
        ``"int"`` looks at all values; for dask and other lazy data at the first block of slices.
        Applied after ``tolerance`` (so ``tolerance=0.5, dtype="int"`` rounds to integers first).
    stats
        Header statistics (DMIN, DMAX, DMEAN, RMS): True computes them exactly over all the data
        (about 0.2-0.5 ns per voxel on the compression threads); False marks them "not determined"
        as MRC2014 allows (DMAX < DMIN, DMEAN below both, RMS < 0); "auto" (default) computes them
        for plain MRC, which IMOD and RELION use, and not for MRCZ, where they cost 15-40% of a
        write and no reader relies on them (``napari-mrcz info --stats`` computes them on demand).
    pyramid
        Store downsampled levels (2×2×2 means; y and x only for image stacks) after the data, built
        in the same pass, so napari shows any zoom, x-z views and 3-D without reading the full
        resolution (:mod:`napari_mrcz.format.pyramid`; other readers ignore them). "auto" (default):
        for MRCZ files napari opens as a pyramid (y or x above the ``"multiscale.side"`` setting, or
        more than ``"multiscale.bytes"``); True: for any MRCZ image, stack or volume (MrczError for
        plain MRC, complex data and volume stacks); False: never.
    codec, header, precision
        The same options as values, for code that passes them on: a
        :class:`~napari_mrcz.io.codec.settings.CodecSettings` instead of ``compressor``, ``clevel``,
        ``shuffle`` and ``n_threads``; a :class:`~napari_mrcz.io.writer.header_fields.HeaderFields`
        instead of ``voxel_size``, ``units``, ``origin``, ``metadata``, ``endianness``, ``voltage``,
        ``c3``, ``gain`` and ``labels`` (and of an image's own fields); a
        :class:`~napari_mrcz.values.precision.PrecisionSettings` instead of ``tolerance``, ``dtype``
        and ``lossy_cast``. Giving a value and one of its keywords raises :class:`MrczError`.
    findings
        A list to append this write's findings to (:class:`~napari_mrcz.errors.Finding`: float64
        rounded, a tolerance ignored, a compressor with a plain name) instead of warning with them:
        for code on worker threads, where the warnings machinery (process-wide) cannot tell calls apart.
    scheduler
        The dask scheduler that computes dask ``data`` ("threads", "synchronous", ...); None: dask's
        default (a dask.distributed client when one is active).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    MrczError
        Invalid arguments, ``data`` that is not an array (a list, a scalar: the message names its
        type), unsupported dtype or shape, a dask array with unknown chunk sizes, values that cannot
        be stored losslessly or (with ``dtype``) are not integers or do not fit, metadata nested too
        deeply or too large for the extended header, a .gz/.bz2 name; the target is left as it was.
    ReadOnlyTargetError
        ``path`` is a read-only file and ``overwrite`` is not "force" (an MrczError and a PermissionError).
    OSError
        The file cannot be written (permissions, disk full); the target is left as it was.

    Warns
    -----
    MrczWarning
        Each finding, unless ``findings`` collects them.
    """
    kept = KeptFields()
    if isinstance(data, MrcImage):  # its fields, unless given here
        image = rewrite_arguments(data.header, data.voxel_size, data.metadata, tilt_angles=data.tilt_angles)
        if voxel_size is None:
            voxel_size = [v / angstrom_per(units) for v in image["voxel_size"]]
        metadata = image["metadata"] if metadata is None else metadata
        voltage = image["voltage"] if voltage is None else voltage
        c3 = image["c3"] if c3 is None else c3
        gain = image["gain"] if gain is None else gain
        kept = image["kept"]
        data = data.data
    if labels:
        kept = dataclasses.replace(kept, labels=(*kept.labels, *labels))
    if not (hasattr(data, "shape") and hasattr(data, "dtype")):
        raise MrczError(
            f"data must be an array with a shape and a dtype (numpy, dask, zarr, ...), not a "
            f"{type(data).__name__}; convert it with numpy.asarray(...)"
        )
    shape = tuple(data.shape)
    if any(isinstance(n, float) and math.isnan(n) for n in shape):
        raise MrczError(
            f"data has unknown chunk sizes (shape {shape}); call data.compute_chunk_sizes() first "
            "(dask arrays made by boolean indexing or filtering do not know their length)"
        )
    if not 2 <= len(shape) <= 4 or 0 in shape:
        raise MrczError(f"data must be 2-D, 3-D or 4-D with no empty axis, not shape {shape}")
    if any(n > 2**31 - 1 for n in (shape[-1], shape[-2], int(np.prod(shape[:-2])))):
        raise MrczError(f"shape {shape} does not fit the MRC header's 32-bit dimensions")
    if codec is None:
        codec = CodecSettings(compressor, clevel, shuffle, threads=n_threads)
    else:
        _not_both("codec", compressor=(compressor, BY_NAME), clevel=(clevel, 1), shuffle=(shuffle, "auto"),
                  n_threads=(n_threads, None))
    if precision is None:
        precision = PrecisionSettings(tolerance, dtype, lossy_cast)
    else:
        _not_both("precision", tolerance=(tolerance, None), dtype=(dtype, None), lossy_cast=(lossy_cast, False))
    if header is None:
        header = HeaderFields.from_arguments(voxel_size=voxel_size, units=units, metadata=metadata,
                                             endianness=endianness, voltage=voltage, c3=c3, gain=gain,
                                             origin=origin, kept=kept, ndim=len(shape))
    else:
        _not_both("header", voxel_size=(voxel_size, None), units=(units, "Å"), origin=(origin, None),
                  metadata=(metadata, None), voltage=(voltage, None), c3=(c3, None), gain=(gain, None),
                  labels=(tuple(labels), ()), endianness=(endianness, "<"))
    stored = storage_dtype(data.dtype, precision.lossy_cast)[0]
    check_setting(pyramid)
    if pyramid == "auto":
        pyramid = auto_for(shape, int(np.prod(shape, dtype=np.int64)) * stored.itemsize)
    if precision.dtype == INT and isinstance(data, np.ndarray) and data.dtype.kind in "fiu":
        # all the values are at hand: choose the integer mode from them, not from the first slice
        precision = dataclasses.replace(precision, dtype=integer_dtype_for(data, precision.tolerance))
    writer = MrczWriter.from_options(
        path,
        codec=codec,
        fields=header,
        precision=precision,
        overwrite=overwrite,
        progress=progress,
        stats=stats,
        ndim=len(shape),
        slices_per_volume=shape[1] if len(shape) == 4 else None,
        pyramid=pyramid,
        findings=findings,
    )
    with writer:
        for block in iter_blocks(data, scheduler):
            writer.submit(block)  # the blocks are ours (views of data, or computed): no need to wait
    return writer.path


def _not_both(value: str, **keywords: tuple[Any, Any]) -> None:
    """Refuse keyword arguments given beside the option value ``value`` that replaces them."""
    given = [name for name, (found, default) in keywords.items() if found is not default
             and not (isinstance(found, (str, int, float, tuple)) and type(found) is type(default) and found == default)]
    if given:
        raise MrczError(f"pass {value}= or {', '.join(given)}, not both")


def write_async(*args: Any, **kwargs: Any) -> Future[Path]:
    """:func:`write` in a background thread; ``.result()`` returns the path or raises the error."""
    global _executor
    with _executor_lock:  # two first calls at once must not each start an executor
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="napari-mrcz-write")
    return _executor.submit(write, *args, **kwargs)
