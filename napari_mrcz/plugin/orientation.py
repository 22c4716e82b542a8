"""Which way y points on screen: up like IMOD (3dmod) and ChimeraX, or down like napari's default.

IMOD and ChimeraX draw row 0 of an image at the bottom; napari draws it at the top, so a tomogram
opened in napari looks vertically flipped against them. With the plugin setting ``y_axis = "up"``
(the default; File > Preferences > napari-mrcz, or the environment variable
``NAPARI_MRCZ_Y_AXIS=up|down``), a viewer that opens an MRC/MRCZ file through the plugin gets
``camera.orientation = ("towards", "up", "right")``: row 0 at the bottom, x to the right and, in 3-D,
z toward the viewer, as ChimeraX shows a map. Only the camera turns: data, layer transforms and the
coordinates in the status bar stay the file's. It is applied once per viewer, when the plugin first
opens a file in it, so a user who turns the camera back keeps their choice; ``"down"`` leaves the
camera alone.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from ..errors import MrczError, MrczWarning

PLUGIN = "napari-mrcz"
ENV_Y_AXIS = "NAPARI_MRCZ_Y_AXIS"
Y_AXIS_CHOICES = ("up", "down")
DEFAULT_Y_AXIS = "up"
Y_UP_ORIENTATION = ("towards", "up", "right")
"""napari camera orientation (depth, vertical, horizontal) that shows maps as ChimeraX does."""


def y_axis_setting() -> str:
    """``"up"`` or ``"down"``: ``NAPARI_MRCZ_Y_AXIS`` when set, else the plugin setting (napari >= 0.9),
    else ``"up"``.

    Raises
    ------
    MrczError
        The environment variable holds something else.
    """
    value = DEFAULT_Y_AXIS
    try:
        from napari.settings import get_plugin_settings

        value = str(get_plugin_settings(PLUGIN).display.y_axis)
    except (ImportError, KeyError, AttributeError, ValueError):
        pass  # older napari, or the plugin is not registered with napari's plugin manager
    value = os.environ.get(ENV_Y_AXIS, value).strip().lower()
    if value not in Y_AXIS_CHOICES:
        raise MrczError(f"{ENV_Y_AXIS}={value!r}: must be 'up' (IMOD, ChimeraX) or 'down' (napari)")
    return value


def apply(viewer: Any, y_axis: str | None = None) -> None:
    """Turn ``viewer``'s camera for ``y_axis`` (default: :func:`y_axis_setting`); napari without
    ``camera.orientation`` (< 0.6) is left as it is."""
    if y_axis is None:
        try:
            y_axis = y_axis_setting()
        except MrczError as err:  # a bad setting must not stop a file from opening
            warnings.warn(f"{err}; y points down", MrczWarning, stacklevel=2)
            return
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera  # napari 0.9 moved it
    if y_axis == "up" and hasattr(camera, "orientation"):
        camera.orientation = Y_UP_ORIENTATION
