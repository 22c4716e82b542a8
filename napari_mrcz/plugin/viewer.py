"""What napari-mrcz sets on a viewer that opens its files, beyond what a reader's layer arguments can say.

A napari reader returns layer data and ``add_image`` arguments only; it never sees the layer or the
viewer. Some choices need them: the contrast slider's range (``contrast_limits_range``, which
``add_image`` sets to the initial limits), the tilt angle of the slice on screen
(:mod:`.tilt_overlay`) and which way y points (:mod:`.orientation`). So the reader :func:`attach`-es the viewer whose ``open``
is running it (found on the call stack: ``viewer.open``, drag and drop and File > Open all run the
reader inside a ``ViewerModel`` method), once per viewer; layers the plugin made are then finished as
they are inserted. Scripts that add our layer data themselves can call :func:`attach` directly.
"""

from __future__ import annotations

import sys
import weakref
from typing import Any

from . import layer as _layer
from . import orientation as _orientation
from . import tilt_overlay as _tilt_overlay

_attached: weakref.WeakSet[Any] = weakref.WeakSet()


def calling_viewer() -> Any | None:
    """The napari viewer (``ViewerModel``) one of whose methods is on the call stack, or None."""
    try:
        from napari.components import ViewerModel
    except ImportError:
        return None
    frame = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, ViewerModel):
            return candidate
        frame = frame.f_back
    return None


def attach(viewer: Any) -> None:
    """Finish napari-mrcz layers inserted into ``viewer`` from now on (and those already there).

    Idempotent: a viewer is attached once.
    """
    if viewer in _attached:
        return
    _attached.add(viewer)
    viewer.layers.events.inserted.connect(lambda event: finish_layer(event.value))
    for layer in list(viewer.layers):
        finish_layer(layer)
    _tilt_overlay.attach(viewer)
    _orientation.apply(viewer)


def attach_calling_viewer() -> None:
    """:func:`attach` the viewer running the current reader, if any (none under ``npe2.read``)."""
    viewer = calling_viewer()
    if viewer is not None:
        attach(viewer)


def ours(layer: Any) -> dict[str, Any] | None:
    """The reader's notes in ``layer.metadata['mrcz']``, or None for layers we did not make."""
    notes = getattr(layer, "metadata", {}).get(_layer.KEY)
    return notes if isinstance(notes, dict) and "header" in notes else None


def finish_layer(layer: Any) -> None:
    """Apply the reader's notes to a layer it made: the contrast slider covers the data's range."""
    notes = ours(layer)
    if notes is None:
        return
    from napari.layers import Image

    full = notes.get("contrast_range")
    if full and isinstance(layer, Image):  # not a Labels layer opened with layer_type="labels"
        low, high = layer.contrast_limits
        layer.contrast_limits_range = (min(float(full[0]), low), max(float(full[1]), high))
