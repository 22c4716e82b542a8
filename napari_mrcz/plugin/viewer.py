"""What napari-mrcz sets on napari layers and viewers, through napari's public API only.

The reader returns finished Layer objects (napari >= 0.9 adds them as they are): :func:`make_layer` sets
what ``add_image`` arguments cannot say, the contrast slider's range (``contrast_limits_range``, which
``add_image`` sets to the initial limits). The tilt angle of the slice on screen (:mod:`.tilt_overlay`)
needs a viewer: the plugin's dock widget attaches the viewer napari gives it, the reader attaches
``napari.current_viewer()`` as a best effort when a file has tilt angles, and scripts call
:func:`attach`. Which way y points is napari's own setting (:mod:`.orientation`); nothing here turns a
camera. Files the reader refuses are reported by :func:`refused`.
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any

from . import layer as _layer
from . import tilt_overlay as _tilt_overlay
from ..errors import MrczWarning

_attached: weakref.WeakSet[Any] = weakref.WeakSet()
LAYER_OBJECTS_FROM = (0, 9)
"""napari adds Layer objects returned by readers from this version on (``_add_layers_with_plugins``)."""


def _napari_version() -> tuple[int, ...]:
    import napari

    parts = []
    for part in napari.__version__.split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def make_layer(data: Any, kwargs: dict[str, Any], kind: str) -> Any:
    """A finished napari Layer for one layer data tuple of the reader (napari >= 0.9); the tuple itself
    for older napari, whose readers must return tuples (then :func:`attach` finishes the layers)."""
    try:
        if _napari_version() < LAYER_OBJECTS_FROM:
            return data, kwargs, kind
        from napari.layers import Layer
    except ImportError:  # npe2 without napari
        return data, kwargs, kind
    layer = Layer.create(data, kwargs, kind)
    finish_layer(layer)
    return layer


def attach(viewer: Any) -> None:
    """Keep ``viewer``'s tilt-angle overlay current, and finish napari-mrcz layers that scripts add
    from layer data tuples (and those already there). For scripts and the plugin's dock widget; the
    reader never needs it. Idempotent: a viewer is attached once.
    """
    if viewer in _attached:
        return
    _attached.add(viewer)
    viewer.layers.events.inserted.connect(lambda event: finish_layer(event.value))
    for layer in list(viewer.layers):
        finish_layer(layer)
    _tilt_overlay.attach(viewer)


def show_tilt_in_current_viewer() -> None:
    """Best effort for files with tilt angles: :func:`attach` ``napari.current_viewer()`` (the window
    the user last used), if there is one."""
    try:
        import napari
    except ImportError:
        return
    viewer = napari.current_viewer()
    if viewer is not None:
        attach(viewer)


def refused(path: str, err: BaseException) -> None:
    """Report a file the reader cannot open, before napari says that no reader could open it: in
    napari's window (a Qt viewer exists) as a warning notification, shown every time; elsewhere
    (scripts, ``npe2.read``, a bare ``ViewerModel``) as an :class:`MrczWarning` carrying the reason."""
    message = f"napari-mrcz cannot open {path}: {err}"
    try:
        import napari
        from napari.utils.notifications import show_warning
    except ImportError:
        napari = None
    if napari is not None and napari.current_viewer() is not None:
        show_warning(message)
    else:
        warnings.warn(message, MrczWarning, stacklevel=3)


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
    if full and isinstance(layer, Image):  # not a Labels layer
        low, high = layer.contrast_limits
        layer.contrast_limits_range = (min(float(full[0]), low), max(float(full[1]), high))
