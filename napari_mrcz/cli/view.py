"""``napari-mrcz view``: open a file in napari, through the napari-mrcz plugin when napari knows it.

napari and Qt are imported here only, when the command runs. Without a display it refuses with one
line (Qt would abort the process) and says to use ``xvfb-run``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from ..errors import MrczError
from ..io.opener import open_mrc

SCREENSHOT_WINDOW = (1100, 800)
"""Window size (pixels) for ``--screenshot``; the canvas is the part left of the dock widgets."""


def _check_display() -> None:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise MrczError("no display to open napari on (DISPLAY is not set); run it under xvfb-run -a")


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
    path = Path(file) if file is not None and not sample else None
    if path is None and not sample:
        raise MrczError("give a FILE to view, or --sample")
    if path is not None:
        open_mrc(path).close()  # a clear one-line error before napari starts
    _check_display()
    try:
        import napari
    except ImportError:
        raise MrczError("napari is not installed: pip install 'napari-mrcz[napari]'") from None
    viewer = napari.Viewer(title=f"napari-mrcz: {path.name if path else 'sample tomogram'}")
    if screenshot:  # shown, not hidden: hidden canvases draw nothing
        viewer.window.resize(*SCREENSHOT_WINDOW)
    if path is None:
        viewer.open_sample("napari-mrcz", "tomogram")
    else:
        viewer.open(str(path), plugin="napari-mrcz")
    viewer.scale_bar.visible = True
    if screenshot:
        from qtpy.QtWidgets import QApplication

        QApplication.processEvents()
        viewer.reset_view()
        viewer.screenshot(str(screenshot), canvas_only=True)
        viewer.close()
        return
    napari.run()
