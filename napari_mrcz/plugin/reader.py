"""napari reader hook: MRC/MRCZ files (and folders or lists of them) as image layers with physical scale.

Only the header is read to decide (``open_mrc``); voxels are read by the returned reader, eagerly for
files up to the ``"reader.lazy_bytes"`` setting (:mod:`napari_mrcz.config`) and as array-likes over the
file (one z-slice per read) above. The reader returns napari Layer objects (napari >= 0.9; layer data
tuples before), finished with everything napari-mrcz sets (:func:`viewer.make_layer`): napari applies
``viewer.open(..., layer_type=..., **kwargs)`` overrides to layer data tuples only, so scripts that want
another layer type use :func:`file_layers` (``layer_type="labels"``). No bytes are parsed here:
everything goes through the core.
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
from . import pyramid_job as _pyramid_job
from . import viewer as _viewer
from .. import config
from ..errors import MrczError, MrczWarning
from ..format import names
from ..io.reader.array import LazyArray
from ..io.reader.multiscale import display_levels, needs_multiscale
from ..io.reader.file import MrcFileInfo, open_mrc
from ..io.reader.read import read
from ..io.storage.remote import is_url, url_name
from .labels import LABELS_MARKER

PHASE_COLORMAP = "twilight"
"""A cyclic colormap: phases of -π and π look the same, as they are."""

LayerData = tuple[Any, dict[str, Any], str]
ReaderFunction = Callable[[Any], list[Any]]


def claims(path: str | os.PathLike[str]) -> bool:
    """True when the file name (of a path or URL) has an extension this reader opens (case-insensitive;
    :func:`napari_mrcz.format.names.is_mrc_name`: .gz/.bz2 of the plain ones too)."""
    return names.is_mrc_name(url_name(path) if is_url(path) else os.path.basename(os.fspath(path)))


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
        _viewer.refused(path, err)
        return None
    info.close()  # releases the descriptor only; reads reopen it
    return info


def get_reader(path: str | os.PathLike[str] | Sequence[str]) -> ReaderFunction | None:
    """The reader for ``path`` (a file, a folder or a list of files), or None; never raises.

    Every file is sniffed with :func:`napari_mrcz.open_mrc` (header, extended header and chunk
    index: no voxels). A file that fails is skipped with a :class:`MrczWarning` naming the problem
    (and, in napari's window, a notification); None when no file is left.
    """
    try:
        infos = [info for info in map(_sniff, _files(path)) if info is not None]
    except (OSError, TypeError, ValueError):  # an unlistable folder, a path that is not a path
        return None
    if not infos:
        return None

    def reader(_path: Any) -> list[Any]:
        layers = [_viewer.make_layer(*item) for info in infos for item in file_layers(info)]
        if any(info.tilt_angles is not None for info in infos):
            _viewer.show_tilt_in_current_viewer()
        return layers

    return reader


class _Phase(LazyArray):
    """The phase (radians, float32) of a complex array-like, read on demand."""

    def __init__(self, base: Any) -> None:
        super().__init__(base.shape, np.dtype(np.float32))
        self.base = base

    def _read(self, indices: tuple[np.ndarray, ...]) -> np.ndarray:
        return np.angle(self.base._read(indices)).astype(np.float32)


def _name(info: MrcFileInfo) -> str:
    return names.split_name(url_name(info.path) if is_url(info.path) else Path(info.path).name)[0]


def file_layers(info: MrcFileInfo, lazy: bool | None = None, layer_type: str | None = None) -> list[LayerData]:
    """The layers for an opened file, as napari layer data tuples ``(data, add_<kind> kwargs, kind)``:
    one image layer; or a Labels layer for integer files we wrote from a Labels layer
    (:data:`labels.LABELS_MARKER`) or with ``layer_type="labels"``; complex files (napari cannot show
    complex numbers) as two image layers, amplitude then phase (radians, cyclic colormap).

    ``lazy=None`` decides by size: lazy above the ``"reader.lazy_bytes"`` setting, and for files big enough
    for a multiscale pyramid (:func:`napari_mrcz.io.reader.multiscale.needs_multiscale`: y or x above the
    ``"multiscale.side"`` setting, or over ``"multiscale.bytes"``), which only lazy image layers get; remote
    files are always lazy. Lazy layers are array-likes over the file (no dask: a slider step reads one
    slice). Contrast and the isosurface level come from the level napari draws first
    (:func:`contrast.file_contrast`); 3-D rendering from :func:`maps.volume_kind`.

    Raises
    ------
    MrczError
        A compressed slice is corrupt (eager reads; lazy reads raise when the slice is shown), or
        ``layer_type="labels"`` for data that is not integer.
    """
    if lazy is None:
        lazy = info.nbytes > config.get("reader.lazy_bytes") or is_url(info.path) or needs_multiscale(info)
    complex_data = np.issubdtype(info.dtype, np.complexfloating)
    labels = (LABELS_MARKER in info.header.labels and info.dtype.kind in "iu") or layer_type == "labels"
    if labels and info.dtype.kind not in "iu":
        raise MrczError(f"{_name(info)} holds {info.dtype} values; Labels layers hold integers")
    if lazy:  # no pyramid of label ids: their means are not labels
        levels: list[Any] = list(display_levels(info, multiscale=not labels))
        _pyramid_job.start(info, levels, _name(info))  # computed levels: into the per-user cache
    else:
        levels = [read(info).data]
    scale, units = _layer.display_scale(info.voxel_size, levels[0].ndim)
    kwargs: dict[str, Any] = {
        "name": _name(info),
        "scale": scale,
        "translate": _placement.layer_translate(info.origin, units),
        "units": units,
        "axis_labels": _layer.axis_labels(levels[0].ndim),
        "multiscale": len(levels) > 1,
    }
    notes: dict[str, Any] = {}
    if len(levels) > 1:
        notes["multiscale"] = [list(level.shape) for level in levels]
    if labels:
        kwargs["metadata"] = _layer.reader_metadata(info.metadata, info.header.to_dict(), str(info.path), lazy, **notes)
        return [(levels if len(levels) > 1 else levels[0], kwargs, "labels")]
    if info.tilt_angles is not None and levels[0].ndim == 3:
        notes["tilt_angles"] = [float(a) for a in info.tilt_angles]  # shown by plugin.tilt_overlay
    if not complex_data:
        return [_image(info, levels, lazy, kwargs, notes)]
    if lazy:  # amplitudes averaged for the coarser levels (not the amplitude of averaged complex values)
        amplitude = list(display_levels(info, amplitude=True))
        phase: list[Any] = [_Phase(level) for level in levels]
    else:
        amplitude, phase = [np.abs(levels[0]).astype(np.float32)], [np.angle(levels[0]).astype(np.float32)]
    return [
        _image(info, amplitude, lazy, kwargs, {**notes, "complex": "amplitude"}),
        _image(info, phase, lazy, {**kwargs, "name": f"{kwargs['name']} (phase)", "colormap": PHASE_COLORMAP},
               {**notes, "complex": "phase"}, fixed=(-np.pi, np.pi)),
    ]


def _image(info: MrcFileInfo, levels: list[Any], lazy: bool, kwargs: dict[str, Any], notes: dict[str, Any],
           fixed: tuple[float, float] | None = None) -> LayerData:
    """An image layer of ``levels`` with contrast, 3-D rendering and our notes."""
    kwargs = dict(kwargs)
    if fixed is not None:
        limits, full = fixed, fixed
    else:
        contrast = _contrast.file_contrast(info, levels, lazy)
        limits, full = contrast.limits, contrast.range
        kind = _maps.volume_kind(info)
        if kind == _maps.MAP:
            kwargs.update(rendering="iso", iso_threshold=contrast.iso_level)  # used once the view is 3-D
        elif kind == _maps.TOMOGRAM:
            kwargs.update(rendering=contrast.projection)
    notes["contrast_range"] = [float(full[0]), float(full[1])]  # applied by plugin.viewer.make_layer
    kwargs.update(
        contrast_limits=[float(limits[0]), float(limits[1])],
        rgb=False,
        metadata=_layer.reader_metadata(info.metadata, info.header.to_dict(), str(info.path), lazy, **notes),
    )
    return (levels if len(levels) > 1 else levels[0], kwargs, "image")
