"""Which way y points on screen: napari's own setting, and one explicit action that sets it as IMOD shows it.

IMOD (3dmod) and ChimeraX draw row 0 of an image at the bottom; napari draws it at the top by default,
so a tomogram opened in napari looks vertically flipped against them. napari owns this choice:
File > Preferences > Application > Vertical axis orientation (``settings.application.
vertical_axis_orientation``), applied to every viewer and kept between sessions. napari-mrcz never
turns a camera; its menu item "y up, like IMOD/ChimeraX" (and the button in its dock widget) sets
that napari setting to ``"up"``, and napari then turns every viewer's camera. Only the view changes:
data, layer transforms and the coordinates in the status bar stay the file's.
"""

from __future__ import annotations

Y_UP = "up"
"""napari's vertical axis orientation that draws row 0 at the bottom, as IMOD and ChimeraX do."""


def y_up() -> None:
    """Set napari's vertical axis orientation to "up" (row 0 at the bottom, as IMOD and ChimeraX show
    it); napari applies it to every viewer and saves it with its other preferences."""
    from napari.settings import get_settings

    get_settings().application.vertical_axis_orientation = Y_UP


def is_y_up() -> bool:
    """True when napari's setting already draws row 0 at the bottom."""
    from napari.settings import get_settings

    return str(get_settings().application.vertical_axis_orientation) == Y_UP
