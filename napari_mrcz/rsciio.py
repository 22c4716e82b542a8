"""A drop-in for RosettaSciIO's ``rsciio.mrcz``: ``file_reader`` and ``file_writer`` over the core codec.

Same call shapes and signal dictionaries as RosettaSciIO 0.15, without its defects: every axis keeps its
own units, 2-D data, files without JSON metadata, mrcfile-written stacks and plain MRC all work, lazy
reads are lazy for compressed files too, and ``do_async`` returns a Future. HyperSpy itself is not needed.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from .errors import MrczError, MrczWarning
from .format.metadata import angstrom_per
from .format.voxel import scale_decimal
from .values.precision import PrecisionSettings
from .io.codec.settings import CodecSettings
from .io.reader.read import read
from .io.writer.header_fields import HeaderFields
from .io.writer.write import write, write_async

PathLike = str | os.PathLike[str]

# Shared parameter text (written once, as rsciio/_docstrings.py does).
FILENAME_DOC = """filename : str or os.PathLike
        The MRC/MRCZ file (also ``.gz``/``.bz2`` of one)."""
LAZY_DOC = """lazy : bool, default=False
        Return a dask array with one chunk per z-slice instead of a numpy array. Nothing is read or
        decompressed until computed, for compressed MRCZ files as well as for plain MRC."""
ENDIANNESS_DOC = """endianness : str, default="<"
        ``"<"`` (little) or ``">"`` (big). Also accepted as ``endianess`` (RosettaSciIO's older
        spelling). Reading takes the byte order from the file's machine stamp; the value is only
        checked."""
SIGNAL_DOC = """signal : dict
        ``{"data": array, "axes": [{"name", "units", "scale", ...}, ...], "metadata": {...}}``,
        axes in array order (z, y, x; or y, x for 2-D data). numpy, dask or any array-like data."""
RETURNS_DOC = """list of dict
        One dictionary with ``data``, ``axes`` (z, y, x, each with name, units, index_in_array, size,
        offset, scale, navigate), ``metadata`` (the file's JSON metadata, exactly as stored),
        ``original_metadata`` (``{"mrcz_header": Header.to_dict()}``) and ``mapping``."""

_UNDEFINED_UNITS = {"", "<undefined>", "undefined", "none", "<none>"}
_BEAM_ENERGY = ("Acquisition_instrument", "TEM", "beam_energy")
_GAIN = ("Signal", "Noise_properties", "Variance_linear_model", "gain_factor")
_READER_OPTIONS = ("n_threads", "strict")


def _kv_or_none(value: Any) -> float | None:
    """Header voltage (kV) for HyperSpy's beam energy; 0 means not recorded."""
    return float(value) if value else None


mapping: dict[str, tuple[str, Any]] = {
    "mrcz_header.voltage": (".".join(_BEAM_ENERGY), _kv_or_none),
    "mrcz_header.gain": (".".join(_GAIN), None),
}


def _endianness(endianness: str, endianess: str | None) -> str:
    """The byte order from either spelling ('endianess' wins over the default of 'endianness')."""
    if endianess is not None and endianess != endianness and endianness != "<":
        raise MrczError(f"endianness={endianness!r} and endianess={endianess!r} disagree; pass one")
    value = endianess if endianess is not None else endianness
    if value not in ("<", ">", "little", "big"):
        raise MrczError(f"endianness must be '<' or '>', not {value!r}")
    return value


def file_reader(
    filename: PathLike,
    lazy: bool = False,
    mmap_mode: str | None = "c",
    endianness: str = "<",
    *,
    endianess: str | None = None,
    **kwds: Any,
) -> list[dict[str, Any]]:
    """Read an MRC or MRCZ file into a RosettaSciIO signal dictionary.

    Parameters
    ----------
    %(filename)s
    %(lazy)s
    mmap_mode : {"c", "r", None}, default="c"
        Accepted for compatibility: data is always returned read-only (lazy) or as a private copy.
        ``"r+"`` and ``"w+"`` (writing through a memory map) are refused.
    %(endianness)s
    **kwds
        ``n_threads`` (blosc threads) and ``strict`` (see :func:`napari_mrcz.open_mrc`).

    Returns
    -------
    %(returns)s

    Raises
    ------
    MrczError
        The file is not readable MRC/MRCZ (a ``ValueError``; the message says why), or an argument is
        invalid.
    OSError
        The file cannot be opened.
    TypeError
        An unknown keyword argument.

    Examples
    --------
    >>> from napari_mrcz.rsciio import file_reader
    >>> signal = file_reader("tomogram.mrcz", lazy=True)[0]
    >>> [(ax["name"], ax["scale"], ax["units"]) for ax in signal["axes"]]
    [('z', 0.54, 'nm'), ('y', 0.54, 'nm'), ('x', 0.54, 'nm')]
    """
    _endianness(endianness, endianess)
    if mmap_mode not in ("c", "r", None):
        raise MrczError(f"mmap_mode={mmap_mode!r} is not supported: data read from MRC/MRCZ is read-only")
    unknown = sorted(set(kwds) - set(_READER_OPTIONS))
    if unknown:
        raise TypeError(f"file_reader() got unexpected keyword argument(s): {', '.join(unknown)}")
    image = read(filename, lazy=lazy, **kwds)
    data = image.data
    names = image.axis_labels
    scales_nm = [scale_decimal(size, -1) for size in image.voxel_size]  # (z, y, x) Å -> nm, as rsciio
    spatial = dict(zip(("z", "y", "x"), scales_nm))
    n_nav = data.ndim - 2
    axes = []
    for index, (name, size) in enumerate(zip(names, data.shape)):
        scale = spatial.get(name, 0.0)
        calibrated = scale > 0  # a cell size of 0 (or a volume-stack axis): no length known
        axes.append(
            {
                "name": name,
                "units": "nm" if calibrated else "",
                "index_in_array": index,
                "size": int(size),
                "offset": 0.0,
                "scale": float(scale) if calibrated else 1.0,
                "navigate": index < n_nav,
            }
        )
    return [
        {
            "data": data,
            "axes": axes,
            "metadata": image.metadata,
            "original_metadata": {"mrcz_header": image.header.to_dict()},
            "mapping": dict(mapping),
        }
    ]


def _axis_order(axes: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Axes in array order: by ``index_in_array`` when every axis has a distinct one, else as listed."""
    indices = [ax.get("index_in_array") for ax in axes]
    if all(isinstance(i, int) for i in indices) and len(set(indices)) == len(indices):
        return [ax for _, ax in sorted(zip(indices, axes), key=lambda pair: pair[0])]
    return list(axes)


def _axis_angstrom(axis: Mapping[str, Any], position: int) -> float:
    """One axis's sample spacing in Å, from its own scale and units."""
    scale = axis.get("scale")
    values = axis.get("axis")
    if scale is None and values is not None and len(values) > 1:
        scale = float(values[1]) - float(values[0])  # a non-uniform axis: its first step
    try:
        scale = abs(float(scale if scale is not None else 1.0))
    except (TypeError, ValueError):
        raise MrczError(f"axis {position} ({axis.get('name')!r}): scale {scale!r} is not a number") from None
    if not math.isfinite(scale):
        raise MrczError(f"axis {position} ({axis.get('name')!r}): scale {scale!r} is not finite")
    units = axis.get("units")
    text = "" if units is None else str(units).strip()
    if text.lower() in _UNDEFINED_UNITS:
        return scale * 10.0  # RosettaSciIO's convention: axes without units are in nm
    try:
        return scale * angstrom_per(text)
    except MrczError:
        warnings.warn(
            f"axis {position} ({axis.get('name')!r}) has units {text!r}, not a length; "
            "its scale is stored as nm",
            MrczWarning,
            stacklevel=3,
        )
        return scale * 10.0


def _nested(tree: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = tree
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MrczError(f"metadata {name} must be a number, not {value!r}") from None


def _plain_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if hasattr(metadata, "as_dictionary"):  # HyperSpy DictionaryTreeBrowser
        metadata = metadata.as_dictionary()
    if not isinstance(metadata, Mapping):
        raise MrczError(f"signal['metadata'] must be a dict, not {type(metadata).__name__}")
    return dict(metadata)


def file_writer(
    filename: PathLike,
    signal: Mapping[str, Any],
    endianness: str = "<",
    do_async: bool = False,
    compressor: str | None = None,
    clevel: int = 1,
    n_threads: int | None = None,
    *,
    endianess: str | None = None,
) -> Future[Path] | None:
    """Write a RosettaSciIO signal dictionary to MRCZ (or plain MRC2014 with ``compressor=None``).

    Parameters
    ----------
    %(filename)s
    %(signal)s
    %(endianness)s
    do_async : bool, default=False
        Write in a background thread and return a :class:`concurrent.futures.Future`; its
        ``result()`` returns the path written or raises the write's error.
    compressor : {None, "zstd", "lz4", "lz4hc", "zlib", "blosclz"}, default=None
        The blosc codec of each z-slice; None writes plain MRC2014.
    clevel : int, default=1
        Compression level 0-9.
    n_threads : int, optional
        blosc threads (default: all cores, at most 8).

    Returns
    -------
    concurrent.futures.Future or None
        The Future when ``do_async`` is True, else None.

    Raises
    ------
    MrczError
        Invalid signal or arguments, or data that cannot be stored (a ``ValueError``).
    OSError
        The file cannot be written. With ``do_async`` both are raised by ``Future.result()`` instead
        when they come from writing.

    Warns
    -----
    MrczWarning
        An axis has units that are not a length (its scale is stored as nm).

    Notes
    -----
    Each axis's scale is converted to Å with its own units ('Å', 'nm', 'µm', 'pm', ...); axes without
    units are taken as nm, RosettaSciIO's convention, so the scale reads back unchanged. float64 and
    complex128 data are rounded to float32/complex64 as RosettaSciIO does; int64, uint64, uint8 and
    bool are converted only when no value changes. ``metadata`` is stored whole as JSON; its
    ``Acquisition_instrument.TEM.beam_energy`` (kV) and
    ``Signal.Noise_properties.Variance_linear_model.gain_factor`` also fill the header's voltage and
    gain words. Axis offsets are not stored.

    Examples
    --------
    >>> from napari_mrcz.rsciio import file_writer
    >>> file_writer("out.mrcz", signal, compressor="zstd", clevel=1)
    >>> future = file_writer("out.mrcz", signal, compressor="zstd", do_async=True)
    >>> future.result()  # raises here if the write failed
    """
    order = _endianness(endianness, endianess)
    if not isinstance(signal, Mapping) or "data" not in signal:
        raise MrczError("signal must be a dict with 'data', 'axes' and 'metadata'")
    data = signal["data"]
    ndim = len(getattr(data, "shape", ()))
    if ndim not in (2, 3, 4):
        raise MrczError(f"MRC holds 2-D, 3-D or 4-D data, not {ndim}-D")
    axes = _axis_order(list(signal.get("axes") or []))
    if axes and len(axes) != ndim:
        raise MrczError(f"signal has {len(axes)} axes for {ndim}-D data")
    spacing = [_axis_angstrom(ax, i) for i, ax in enumerate(axes)] if axes else [1.0] * ndim
    voxel_size = spacing[-3:] if ndim >= 3 else spacing
    metadata = _plain_metadata(signal.get("metadata"))
    voltage = _number(_nested(metadata, _BEAM_ENERGY), "beam_energy")  # None: mrcz's default
    gain = _number(_nested(metadata, _GAIN), "gain_factor")
    options: dict[str, Any] = dict(
        codec=CodecSettings(compressor, clevel, threads=n_threads),
        header=HeaderFields.from_arguments(voxel_size=voxel_size, metadata=metadata, voltage=voltage, gain=gain,
                                           endianness=order, ndim=ndim),
        precision=PrecisionSettings(lossy_cast=True),  # as RosettaSciIO: float64 stored as float32
    )
    if do_async:
        return write_async(filename, data, **options)
    write(filename, data, **options)
    return None


_DOCS = {
    "filename": FILENAME_DOC,
    "lazy": LAZY_DOC,
    "endianness": ENDIANNESS_DOC,
    "signal": SIGNAL_DOC,
    "returns": RETURNS_DOC,
}
file_reader.__doc__ = (file_reader.__doc__ or "") % _DOCS
file_writer.__doc__ = (file_writer.__doc__ or "") % _DOCS
