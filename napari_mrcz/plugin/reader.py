"""napari reader hook: MRC/MRCZ files (and folders or lists of them) as image layers with physical scale.

Only the header is read to decide (``open_mrc``); voxels are read by the returned reader, eagerly for
files up to the ``"reader.lazy_bytes"`` setting (:mod:`napari_mrcz.config`) and as a dask array (one chunk per z-slice) above. No bytes are
parsed here: everything goes through the core.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import contrast as _contrast
from . import layer as _layer
from . import maps as _maps
from . import placement as _placement
from . import viewer as _viewer
from .. import config
from ..errors import MrczError, MrczWarning
from ..io.reader.multiscale import display_levels, needs_multiscale
from ..io.reader.file import MrcFileInfo, open_mrc
from ..io.reader.read import read
from ..io.storage.remote import is_url, url_name
from .labels import LABELS_MARKER

SUFFIXES = (".mrcz", ".mrc", ".mrcs", ".map", ".st", ".ali", ".rec", ".ccp4", ".msk")
"""Names this reader claims; CCP4 maps and masks (.ccp4, .msk) are MRC2014-compatible, as gemmi,
ChimeraX and mrcfile read them."""
STREAM_SUFFIXES = (".gz", ".bz2")  # of the plain suffixes only (not .mrcz)
"""Files holding more decompressed bytes than this (256 MiB) open as dask arrays."""

LayerData = tuple[Any, dict[str, Any], str]
ReaderFunction = Callable[[Any], list[LayerData]]


def claims(path: str | os.PathLike[str]) -> bool:
    """True when the file name (of a path or URL) has an extension this reader opens (case-insensitive)."""
    name = (url_name(path) if is_url(path) else os.fspath(path)).lower()
    for stream in STREAM_SUFFIXES:
        if name.endswith(stream):
            return name[: -len(stream)].endswith(SUFFIXES[1:])
    return name.endswith(SUFFIXES)


def _files(path: Any) -> list[str]:
    """The claimed files behind a path, a folder (not recursive) or a list; [] when any is not ours."""
    if isinstance(path, (list, tuple)):
        paths = [os.fspath(p) for p in path]
        return paths if paths and all(claims(p) and (is_url(p) or os.path.isfile(p)) for p in paths) else []
    path = os.fspath(path)
    if is_url(path):  # http(s), s3, gs, ... with one of our suffixes; opened lazily with range requests
        return [path] if claims(path) else []
    if os.path.isdir(path):
        return sorted(str(p) for p in Path(path).iterdir() if p.is_file() and claims(p))
    return [path] if claims(path) and os.path.isfile(path) else []


def _sniff(path: str) -> MrcFileInfo | None:
    try:
        info = open_mrc(path)
    except (MrczError, OSError) as err:
        # napari then reports that no reader could open the file; this warning (shown as a
        # notification) says why
        warnings.warn(f"napari-mrcz cannot open this file: {err}", MrczWarning, stacklevel=3)
        return None
    info.close()  # releases the descriptor only; reads reopen it
    return info


def get_reader(path: str | os.PathLike[str] | Sequence[str]) -> ReaderFunction | None:
    """The reader for ``path`` (a file, a folder or a list of files), or None; never raises.

    Every file is sniffed with :func:`napari_mrcz.open_mrc` (header, extended header and chunk
    index: no voxels). A file that fails is skipped with a :class:`MrczWarning` naming the problem;
    None when no file is left.
    """
    try:
        infos = [info for info in map(_sniff, _files(path)) if info is not None]
    except (OSError, TypeError, ValueError):  # an unlistable folder, a path that is not a path
        return None
    if not infos:
        return None

    def reader(_path: Any) -> list[LayerData]:
        layers = [layer_data(info) for info in infos]
        _viewer.attach_calling_viewer()  # finishes the layers as napari inserts them
        return layers

    return reader


def layer_data(info: MrcFileInfo, lazy: bool | None = None) -> LayerData:
    """One layer for an opened file: (data, add_image kwargs, 'image'), or (data, add_labels kwargs,
    'labels') for integer files we wrote from a Labels layer (:data:`labels.LABELS_MARKER`).

    ``lazy=None`` decides by size: lazy above the ``"reader.lazy_bytes"`` setting, and for files big enough
    for a multiscale pyramid (:func:`napari_mrcz.io.reader.multiscale.needs_multiscale`: y or x above 2048
    px, or over 1 GiB), which only lazy image layers get; remote files are always lazy. Lazy layers
    are array-likes over the file (no dask: a slider step reads one slice). Complex files (napari
    cannot show complex numbers) open as their amplitude, float32, noted in
    ``metadata['mrcz']['complex']``.

    Raises
    ------
    MrczError
        A compressed slice is corrupt (eager reads; lazy reads raise when the slice is shown).
    """
    if lazy is None:
        lazy = info.nbytes > config.get("reader.lazy_bytes") or is_url(info.path) or needs_multiscale(info)
    notes: dict[str, Any] = {}
    complex_data = np.issubdtype(info.dtype, np.complexfloating)
    labels = LABELS_MARKER in info.header.labels and info.dtype.kind in "iu"
    if complex_data:
        notes["complex"] = "amplitude"
    if lazy:  # no pyramid of label ids: their means are not labels
        levels = display_levels(info, amplitude=complex_data, multiscale=not labels)
        data: Any = levels if len(levels) > 1 else levels[0]
        if len(levels) > 1:
            notes["multiscale"] = [list(level.shape) for level in levels]
    else:
        data = read(info).data
        if complex_data:
            data = np.abs(data).astype(np.float32)
    level0 = data[0] if isinstance(data, list) else data
    scale, units = _layer.display_scale(info.voxel_size, level0.ndim)
    name = url_name(info.path) if is_url(info.path) else Path(info.path).name
    for suffix in (*STREAM_SUFFIXES, *SUFFIXES):
        name = name[: -len(suffix)] if name.lower().endswith(suffix) else name
    kwargs = {
        "name": name,
        "scale": scale,
        "translate": _placement.layer_translate(info.origin, units),
        "units": units,
        "axis_labels": _layer.axis_labels(level0.ndim),
        "multiscale": isinstance(data, list),
    }
    if labels:
        kwargs["metadata"] = _layer.reader_metadata(info.metadata, info.header.to_dict(), str(info.path), lazy)
        return data, kwargs, "labels"
    contrast = _contrast.file_contrast(info, level0, lazy)
    notes["contrast_range"] = list(contrast.range)  # applied to the layer by plugin.viewer
    if info.tilt_angles is not None and level0.ndim == 3:
        notes["tilt_angles"] = [float(a) for a in info.tilt_angles]  # shown by plugin.tilt_overlay
    if _maps.is_density_map(info):
        kwargs.update(rendering="iso", iso_threshold=contrast.iso_level)  # used once the view is 3-D
    kwargs.update(
        contrast_limits=list(contrast.limits),
        rgb=False,
        metadata=_layer.reader_metadata(info.metadata, info.header.to_dict(), str(info.path), lazy, **notes),
    )
    return data, kwargs, "image"
