"""``napari-mrcz view``: open a file in napari, through the napari-mrcz plugin when napari knows it.

napari and Qt are imported here only, when the command runs. Without a display it refuses with one
line (Qt would abort the process) and says to use ``xvfb-run``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .errors import MrczError
from .reader import open_mrc, read

SCREENSHOT_WINDOW = (1100, 800)
"""Window size (pixels) for ``--screenshot``; the canvas is the part left of the dock widgets."""


def _check_display() -> None:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise MrczError("no display to open napari on (DISPLAY is not set); run it under xvfb-run -a")


def _open_in(viewer: Any, path: Path) -> None:
    """Through the plugin when napari has its manifest, else straight from the core."""
    try:
        from npe2 import PluginManager

        PluginManager.instance().get_manifest("napari-mrcz")
    except (ImportError, KeyError):
        image = read(path, lazy=True)
        spatial = image.voxel_size[-min(image.data.ndim, 3):]
        scale = (1.0,) * (image.data.ndim - len(spatial)) + tuple(v if v > 0 else 1.0 for v in spatial)
        viewer.add_image(image.data, name=path.name, scale=scale, metadata={"mrcz": image.metadata})
        return
    viewer.open(str(path), plugin="napari-mrcz")


def view(file: str | os.PathLike[str] | None, *, sample: bool = False, screenshot: str | None = None) -> None:
    """Open ``file`` (or the sample tomogram) in a napari viewer and run napari's event loop.

    Parameters
    ----------
    file
        The MRC/MRCZ file; ignored with ``sample``.
    sample
        Open the synthetic sample tomogram (written once to a cache folder).
    screenshot
        Save the canvas to this PNG and close instead of running the event loop.

    Raises
    ------
    MrczError
        The file is not readable MRC/MRCZ, napari is not installed, or there is no display.
    OSError
        The file cannot be opened.
    """
    if sample:
        from ._sample_data import write_sample

        path = write_sample()
    else:
        path = Path(file)  # type: ignore[arg-type]
    open_mrc(path).close()  # a clear one-line error before napari starts
    _check_display()
    try:
        import napari
    except ImportError:
        raise MrczError("napari is not installed: pip install 'napari-mrcz[napari]'") from None
    viewer = napari.Viewer(title=f"napari-mrcz: {path.name}")  # shown: hidden canvases draw nothing
    if screenshot:
        viewer.window.resize(*SCREENSHOT_WINDOW)
    _open_in(viewer, path)
    if screenshot:
        from qtpy.QtWidgets import QApplication

        QApplication.processEvents()
        viewer.reset_view()
        viewer.screenshot(str(screenshot), canvas_only=True)
        viewer.close()
        return
    napari.run()
