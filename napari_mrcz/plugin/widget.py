"""napari dock widget: save an image or Labels layer as MRCZ/MRC with chosen codec settings and tolerance,
showing the compression ratio, speed and (lossy) largest error measured on a sample of the layer as the
settings change; correct the layer's voxel size (written on save); set napari's y axis as IMOD shows it.

Saves run off the GUI thread (napari's ``thread_worker``, progress bar per slice) with a Cancel button
that leaves no partial file (:mod:`.saving`). Long paths and messages are elided or wrapped: the dock
keeps its width.

No ``from __future__ import annotations`` here: magicgui and napari's viewer injection evaluate the
annotations of this module at runtime.
"""

import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

import numpy as np
from magicgui.widgets import ComboBox, Container, FileEdit, Label, LineEdit, PushButton, SpinBox

from . import layer as _layer
from . import orientation as _orientation
from . import saving as _saving
from . import viewer as _viewer
from .writer import default_codec, default_tolerance
from ..io.codec.blosc import MrczBlosc, default_threads
from ..format.constants import WRITABLE_COMPRESSORS
from ..format.names import COMPRESSED_SUFFIX, PLAIN_SUFFIXES
from ..errors import MrczError
from ..values.dtypes import storage_dtype
from ..values.noise import resolve_tolerance
from ..values.precision import Precision
from ..values.quantize import parse_tolerance

if TYPE_CHECKING:
    import napari

COMPRESSORS = ("none", *WRITABLE_COMPRESSORS)
SAMPLE_BYTES = 4 * 2**20
"""The estimate compresses at most this much of the layer, around its middle z-slice."""
_TIMING_SECONDS = 0.03
ELIDE_CHARS = 48
"""Paths in the status line are shortened to this many characters (the middle elided)."""


class Estimate(NamedTuple):
    """Compression measured on a sample: ratio (bytes in / bytes out), speed in MB/s (None for no
    compression; rounding included), sample size in bytes, and with a tolerance the largest
    |stored - original| on the sample (None when lossless)."""

    ratio: float
    mb_per_s: Optional[float]
    sample_nbytes: int
    max_error: Optional[float] = None


def _tolerance_text(tolerance: "float | Fraction") -> str:
    return f"auto:{tolerance}" if isinstance(tolerance, Fraction) else f"{tolerance:g}"


def sample_of(data: Any, max_bytes: int = SAMPLE_BYTES) -> np.ndarray:
    """Up to ``max_bytes`` of ``data`` (numpy, dask or a lazy array-like; level 0 of a multiscale layer)
    around its middle z-slice, as (k, rows, nx) in the dtype it would be stored as (float64 and complex128
    kept, so that the estimate sees the rounding to float32 too): whole slices while they fit, else a
    centred band of rows of the middle slice. Reads only those slices of a lazy layer."""
    lead, (ny, nx) = tuple(data.shape[:-2]), data.shape[-2:]
    n_planes = int(np.prod(lead, dtype=np.int64))
    slice_bytes = ny * nx * data.dtype.itemsize
    count = max(1, min(n_planes, max_bytes // max(1, slice_bytes)))
    first = (n_planes - count) // 2
    rows = max(1, min(ny, max_bytes // max(1, nx * data.dtype.itemsize)))
    top = (ny - rows) // 2
    if count > 1:  # whole slices (rows == ny)
        rows, top = ny, 0
    planes = []  # by integer index: lazy layers (and dask) read only these slices; no reshape needed
    for flat in range(first, first + count):
        at = tuple(int(i) for i in np.unravel_index(flat, lead)) if lead else ()
        planes.append(np.asarray(data[at + (slice(top, top + rows), slice(None))]))
    block = np.stack(planes)
    target, lossy = storage_dtype(block.dtype, lossy_cast=True)
    return np.ascontiguousarray(block if block.dtype.kind in "fc" and not lossy else block.astype(target, copy=False))


def measure(
    sample: np.ndarray, compressor: str, clevel: int, shuffle: str = "auto", n_threads: Optional[int] = None,
    tolerance: Optional[float] = None,
) -> Estimate:
    """Round (with a ``tolerance``) and compress each plane of ``sample`` as the writer would (one chunk
    per z-slice), best of a few runs, and report the ratio, MB/s and largest error.

    Raises
    ------
    MrczError
        Invalid codec settings.
    """
    precision = Precision(tolerance if sample.dtype.kind in "fc" else None, None, lossy_cast=True)
    precision.plan(sample)
    values = precision.apply(sample, 0)  # what the writer stores: rounded to float32, then quantized
    max_error = None
    if precision.bound is not None:
        with np.errstate(invalid="ignore"):  # inf - inf: kept values, no error
            error = np.abs(values.astype(sample.dtype) - sample)
        max_error = float(np.max(error, initial=0.0, where=np.isfinite(error)))
    if compressor == "none":
        return Estimate(1.0, None, values.nbytes, max_error)
    codec = MrczBlosc(compressor, clevel, shuffle, n_threads)
    best, spent, size = float("inf"), 0.0, values.nbytes
    for _ in range(5):
        start = time.perf_counter()
        size = sum(len(codec.encode(precision.apply(plane, 0))) for plane in sample)
        took = time.perf_counter() - start
        best, spent = min(best, took), spent + took
        if spent > _TIMING_SECONDS:
            break
    return Estimate(values.nbytes / max(size, 1), values.nbytes / max(best, 1e-9) / 1e6, values.nbytes, max_error)


def _size(nbytes: float) -> str:
    return f"{nbytes / 1e6:,.1f} MB" if nbytes >= 1e5 else f"{nbytes / 1e3:,.1f} kB"


def elide(text: str, limit: int = ELIDE_CHARS) -> str:
    """``text`` shortened to ``limit`` characters by an ellipsis in the middle (keeps the file name)."""
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep // 3] + "…" + text[-(keep - keep // 3):]


def parse_voxel_size(text: str, ndim: int) -> tuple[float, ...]:
    """(z, y, x) voxel size in Å from ``"1.36"`` (every axis) or ``"z, y, x"`` (``"y, x"`` for 2-D).

    Raises
    ------
    MrczError
        Not one or ``min(ndim, 3)`` positive finite numbers.
    """
    axes = min(ndim, 3)
    try:
        values = [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        values = []
    if len(values) == 1:
        values = values * axes
    if len(values) != axes or not all(np.isfinite(v) and v > 0 for v in values):
        names = ", ".join(_layer.axis_labels(axes))
        raise MrczError(f"voxel size {text!r}: one positive number in Å, or {axes} ({names})")
    return tuple(values)


class SaveMrczWidget(Container):
    """Layer, voxel size, output file, compressor, level, shuffle, threads, tolerance; an estimate line;
    Save and Cancel; the "y up, like IMOD/ChimeraX" button."""

    def __init__(self, viewer: "napari.viewer.Viewer") -> None:
        super().__init__()
        compressor, clevel = default_codec()
        self._viewer = viewer
        self._layer = ComboBox(label="Layer", choices=self._image_layers)
        self._voxel = LineEdit(label="Voxel size (Å)", value="")
        self._voxel.tooltip = "Correct the layer's voxel size: one number, or z, y, x. Written when the layer is saved."
        self._path = FileEdit(label="Output", mode="w", filter=f"MRC files ({' '.join('*' + s for s in (COMPRESSED_SUFFIX, *PLAIN_SUFFIXES))})")
        self._compressor = ComboBox(label="Compressor", choices=COMPRESSORS, value=compressor)
        self._clevel = SpinBox(label="Level", min=1, max=9, value=clevel)
        self._shuffle = ComboBox(label="Shuffle", choices=["auto", "bit", "byte", "none"], value="auto")
        self._threads = SpinBox(label="Threads", min=1, max=256, value=default_threads())
        self._tolerance = LineEdit(label="Tolerance", value=_tolerance_text(default_tolerance()))
        self._tolerance.tooltip = (
            "0: lossless. A number: lossy by your choice, every value within it (in the data's units) of "
            "the original, recorded in the file. auto or auto:1/16: that fraction of the noise estimated "
            "on the sample. Integer layers are always stored exactly."
        )
        self._estimate_label = Label(label="Estimate", value="")
        self._save_button = PushButton(text="Save")
        self._cancel_button = PushButton(text="Cancel", enabled=False)
        self._status = Label(value="")
        self._y_up = PushButton(text="y up, like IMOD/ChimeraX")
        self._y_up.tooltip = ("Sets napari's Preferences > Application > Vertical axis orientation to 'up' "
                              "(every viewer, kept by napari); the data and coordinates do not change.")
        self.extend(
            [
                self._layer, self._voxel, self._path, self._compressor, self._clevel, self._shuffle,
                self._threads, self._tolerance, self._estimate_label, self._save_button, self._cancel_button,
                self._status, self._y_up,
            ]
        )
        from qtpy.QtWidgets import QSizePolicy  # here: npe2 imports this module to validate, without Qt

        for label in (self._estimate_label, self._status):  # long text wraps instead of widening the dock
            label.native.setWordWrap(True)
            label.native.setMinimumWidth(1)
            label.native.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.estimate: Optional[Estimate] = None
        self.tolerance: Optional[float] = None  # the number the estimate used and Save writes with
        self.worker: Any = None  # the running save (napari thread_worker), if any
        self._cancel = threading.Event()
        self._sample: Optional[tuple[tuple[str, int], np.ndarray]] = None
        self._auto_path: Optional[Path] = None
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed, viewer.layers.events.moved):
            event.connect(self._refresh_layers)
        viewer.layers.selection.events.active.connect(self._follow_selection)
        self._layer.changed.connect(self._layer_changed)
        self._voxel.changed.connect(self._voxel_changed)
        self._compressor.changed.connect(self._compressor_changed)
        for widget in (self._clevel, self._shuffle, self._threads, self._tolerance):
            widget.changed.connect(self.update_estimate)
        self._save_button.changed.connect(self.save)
        self._cancel_button.changed.connect(self.cancel)
        self._y_up.changed.connect(self._set_y_up)
        self._y_up.enabled = not _orientation.is_y_up()
        _viewer.attach(viewer)  # the tilt-angle overlay of files opened in this window
        self._refresh_layers()
        self._follow_selection()
        self._layer_changed()

    # layer choice ------------------------------------------------------------------------------
    def _image_layers(self, _widget: Any = None) -> list:
        from napari.layers import Image, Labels

        return [(layer.name, layer) for layer in self._viewer.layers
                if isinstance(layer, Labels) or (isinstance(layer, Image) and not layer.rgb)]

    def _refresh_layers(self, event: Any = None) -> None:
        for layer in self._viewer.layers:
            layer.events.name.connect(self._refresh_layers)  # connecting twice is a no-op
        self._layer.reset_choices()
        self._follow_selection()  # napari may make the new layer active before this runs

    def _follow_selection(self, event: Any = None) -> None:
        active = self._viewer.layers.selection.active
        # by name: napari hands plugins proxies of the viewer and layers, so identity does not hold
        match = [layer for name, layer in self._image_layers() if active is not None and name == active.name]
        if match:
            self._layer.value = match[0]

    def _layer_changed(self, layer: Any = None) -> None:
        self._sample = None
        layer = self._layer.value
        if layer is not None and (self._path.value in (None, Path("."), Path("")) or self._path.value == self._auto_path):
            self._auto_path = _saving.default_path(layer, self._suffix())
            self._path.value = self._auto_path
        self._show_voxel_size()
        self.update_estimate()

    def _show_voxel_size(self) -> None:
        layer = self._layer.value
        if layer is None:
            self._voxel.value = ""
            return
        sizes = _layer.voxel_size_from_layer(layer.scale, layer.units, layer.ndim)[-min(layer.ndim, 3):]
        text = f"{sizes[0]:.6g}" if len(set(sizes)) == 1 else ", ".join(f"{v:.6g}" for v in sizes)
        with self._voxel.changed.blocked():
            self._voxel.value = text

    def _voxel_changed(self, value: Any = None) -> None:
        """Set the layer's scale (in Å along its spatial axes) from the voxel size typed."""
        layer = self._layer.value
        if layer is None:
            return
        try:
            sizes = parse_voxel_size(self._voxel.value, layer.ndim)
        except MrczError as err:
            self._status.value = str(err)
            return
        lead = layer.ndim - len(sizes)
        units = [str(u) for u in layer.units]
        scale = list(layer.scale)
        for axis, size in enumerate(sizes, start=lead):
            factor = _layer.angstrom_factor(units[axis])
            if factor is None:  # pixels: the corrected size is in Å
                units[axis], factor = "angstrom", 1.0
            scale[axis] = size / factor
        layer.units, layer.scale = units, scale
        self._status.value = f"voxel size of {layer.name}: {self._voxel.value} Å (written on save)"

    def _set_y_up(self, *_: Any) -> None:
        _orientation.y_up()
        self._y_up.enabled = False

    def _suffix(self) -> str:
        return ".mrc" if self._compressor.value == "none" else ".mrcz"

    def _compressor_changed(self, value: Any = None) -> None:
        path = self._path.value
        if path and path.suffix.lower() in (".mrc", ".mrcz") and path.suffix.lower() != self._suffix():
            self._path.value = path.with_suffix(self._suffix())
            if self._auto_path == path:
                self._auto_path = self._path.value
        self._clevel.enabled = self._compressor.value != "none"
        self.update_estimate()

    # estimate and save ---------------------------------------------------------------------------
    def update_estimate(self, *_: Any) -> Optional[Estimate]:
        """Re-measure ratio and speed for the current settings on a sample of the chosen layer."""
        layer = self._layer.value
        if layer is None:
            self.estimate, self._estimate_label.value = None, "no image layer"
            return None
        data = _saving.level0(layer)
        try:
            key = (layer.name, id(data))
            if self._sample is None or self._sample[0] != key:
                self._sample = (key, sample_of(data))
            sample = self._sample[1]
            self.tolerance = resolve_tolerance(sample, parse_tolerance(self._tolerance.value or "0"))
            self.estimate = measure(
                sample, self._compressor.value, self._clevel.value, self._shuffle.value, self._threads.value,
                self.tolerance,
            )
        except MrczError as err:
            self.estimate, self.tolerance, self._estimate_label.value = None, None, f"cannot estimate: {err}"
            return None
        total = int(np.prod(data.shape, dtype=np.int64)) * sample.dtype.itemsize / self.estimate.ratio
        speed = "" if self.estimate.mb_per_s is None else f", {self.estimate.mb_per_s:,.0f} MB/s"
        self._estimate_label.value = f"{self.estimate.ratio:.2f}× → ≈ {_size(total)}{speed}{self._error_text()}"
        self._estimate_label.tooltip = (
            f"compression ratio and speed measured on {_size(sample.nbytes)} of the layer around its "
            "middle z-slice; the whole layer is estimated to that ratio"
        )
        return self.estimate

    def _error_text(self) -> str:
        if self.estimate is None or self.estimate.max_error is None:
            return "" if not self.tolerance else " (integers: stored exactly)"
        auto = " (auto)" if self._tolerance.value.strip().lower().startswith("auto") else ""
        error, tolerance = self.estimate.max_error, self.tolerance or 0.0
        if error > tolerance:  # float64 rounded to float32 adds its own error to the tolerance
            return f", max error {error:.3g} (tolerance {tolerance:.3g}{auto} + rounding to float32)"
        return f", max error {error:.3g} ≤ {tolerance:.3g}{auto}"

    def save(self, *_: Any) -> Any:
        """Start saving the chosen layer with the chosen settings in a napari ``thread_worker`` (progress
        bar per slice); returns the worker, or None when nothing was started. The result goes to the
        status line and napari's notifications."""
        from napari.qt.threading import thread_worker

        layer, path = self._layer.value, self._path.value
        if layer is None or not path or path == Path("."):
            self._status.value = "choose an image layer and an output file"
            return None
        if self.worker is not None:
            self._status.value = "a save is running; wait for it or cancel it"
            return None
        compressor = None if self._compressor.value == "none" else self._compressor.value
        try:
            spec = parse_tolerance(self._tolerance.value or "0")
        except MrczError as err:
            return self._failed(layer.name, err)
        # auto: the number the estimate showed (from the sample), else the layer's own estimate
        tolerance = self.tolerance if isinstance(spec, Fraction) and self.tolerance is not None else spec
        self._cancel = threading.Event()
        steps = thread_worker(_saving.save_steps, progress={"total": _saving.slice_count(layer),
                                                            "desc": f"Saving {layer.name}"})
        worker = steps(layer, Path(path), self._cancel, compressor=compressor, clevel=self._clevel.value,
                       shuffle=self._shuffle.value, n_threads=self._threads.value, tolerance=tolerance)
        worker.returned.connect(lambda outcome: self._done(layer.name, outcome))
        worker.finished.connect(self._finished)
        self.worker = worker
        self._save_button.enabled, self._cancel_button.enabled = False, True
        self._status.value = f"saving {elide(str(path))} …"
        worker.start()
        return worker

    def cancel(self, *_: Any) -> None:
        """Stop the running save after the slice being written; no file is left."""
        self._cancel.set()
        self._status.value = "cancelling …"

    def _done(self, name: str, outcome: "_saving.SaveOutcome") -> None:
        from napari.utils.notifications import show_info, show_warning

        for message in outcome.warnings:  # float64 rounded (with the largest error), ...
            show_warning(f"napari-mrcz: {message}")
        if outcome.error is not None:
            self._failed(name, outcome.error)
            return
        written = outcome.path
        self._status.value = f"saved {elide(written.name)} ({_size(written.stat().st_size)})" + "".join(
            f"; {message.split(': ', 1)[-1]}" for message in outcome.warnings)
        self._status.tooltip = str(written)
        show_info(f"napari-mrcz: saved {name} to {written}")

    def _failed(self, name: str, err: BaseException) -> None:
        from napari.utils.notifications import show_error, show_info

        if isinstance(err, _saving.SaveCancelled):
            self._status.value = str(err)
            show_info(f"napari-mrcz: {err}")
            return
        self._status.value = f"not saved: {err}"
        self._status.tooltip = str(err)
        show_error(f"napari-mrcz: {name} not saved: {err}")

    def _finished(self, *_: Any) -> None:
        self.worker = None
        self._save_button.enabled, self._cancel_button.enabled = True, False
