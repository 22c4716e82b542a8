"""The current slice's tilt angle, shown in a text overlay on the canvas while a tilt series is sliced.

The angles are the reader's ``layer.metadata['mrcz']['tilt_angles']`` (degrees, one per z-slice). The
overlay names the layer it speaks for: the selected layer when it is a visible tilt series, else the
top visible one. It is hidden in 3-D, when no tilt series is visible, and when the z axis is shown on
screen (a transposed view has no single tilt). It follows the dims slider, layer selection,
visibility, names and the layer list.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import layer as _layer

OVERLAY_KEY = "napari_mrcz_tilt"
"""Our text overlay in ``viewer.canvas.overlays``."""


def tilt_angles(layer: Any) -> np.ndarray | None:
    """The tilt angles the reader stored for ``layer``, or None."""
    notes = getattr(layer, "metadata", {}).get(_layer.KEY)
    angles = notes.get("tilt_angles") if isinstance(notes, dict) else None
    return np.asarray(angles, dtype=float) if angles else None


def current_tilt(viewer: Any, layer: Any) -> tuple[int, float] | None:
    """(slice index, angle) ``layer`` shows at the viewer's current point, or None when it shows no
    single tilt (3-D view, z on screen, the point outside the stack, not a tilt series)."""
    angles = tilt_angles(layer)
    if angles is None or not layer.visible or viewer.dims.ndisplay != 2 or layer.ndim < 3:
        return None
    z_axis = viewer.dims.ndim - layer.ndim  # the layer's axes are the last world axes
    if z_axis < 0 or z_axis in viewer.dims.displayed:
        return None
    index = int(np.round(layer.world_to_data(viewer.dims.point)[0]))
    if not 0 <= index < len(angles):
        return None
    return index, float(angles[index])


def overlay_text(viewer: Any) -> str:
    """The overlay's text; empty when no tilt series shows a single tilt."""
    active = viewer.layers.selection.active
    candidates = [active] if active is not None else []
    candidates += [layer for layer in reversed(viewer.layers) if layer is not active]
    for layer in candidates:
        current = current_tilt(viewer, layer)
        if current is not None:
            index, angle = current
            count = len(tilt_angles(layer))  # type: ignore[arg-type]
            return f"{layer.name}: tilt {angle:+.2f}°  (slice {index + 1}/{count})"
    return ""


def _overlay(viewer: Any) -> Any:
    canvas = getattr(viewer, "canvas", None)
    if canvas is None:  # napari < 0.9: one text overlay
        return viewer.text_overlay
    if OVERLAY_KEY not in canvas.overlays:
        from napari.components.overlays import TextOverlay

        canvas.overlays[OVERLAY_KEY] = TextOverlay(position="top_left", font_size=12, visible=False)
    return canvas.overlays[OVERLAY_KEY]


def update(viewer: Any) -> None:
    """Show the current tilt angle, or hide the overlay."""
    text = overlay_text(viewer)
    if not text and OVERLAY_KEY not in getattr(getattr(viewer, "canvas", None), "overlays", {}):
        return  # nothing to show and no overlay made yet: leave the canvas alone
    overlay = _overlay(viewer)
    overlay.text = text
    overlay.visible = bool(text)


def attach(viewer: Any) -> None:
    """Keep the overlay of ``viewer`` current (called once per viewer by :func:`viewer.attach`)."""

    def refresh(event: Any = None) -> None:
        update(viewer)

    def watch(layer: Any) -> None:
        if tilt_angles(layer) is not None:
            layer.events.visible.connect(refresh)
            layer.events.name.connect(refresh)

    def inserted(event: Any) -> None:
        watch(event.value)
        refresh()

    for emitter in (viewer.dims.events.current_step, viewer.dims.events.ndisplay, viewer.dims.events.order,
                    viewer.layers.events.removed, viewer.layers.events.moved, viewer.layers.selection.events.active):
        emitter.connect(refresh)
    viewer.layers.events.inserted.connect(inserted)
    for layer in viewer.layers:
        watch(layer)
    refresh()
