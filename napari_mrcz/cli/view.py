"""``napari-mrcz view``: open a file in napari, through the napari-mrcz plugin when napari knows it.

napari and Qt are imported here only, when the command runs. A window nobody can see must not wait
forever: with no display, or a virtual one (Xvfb under ``xvfb-run``, Qt's offscreen platform), the
canvas is saved to a PNG and the command exits. With no display at all, that screenshot is taken
under ``xvfb-run`` (started here) or, without it, the command says how to get one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import MrczError
from ..io.reader.file import open_mrc
from ..io.storage.urls import file_name

SCREENSHOT_WINDOW = (1100, 800)
"""Window size (pixels) for ``--screenshot``; the canvas is the part left of the dock widgets."""
VIRTUAL_DISPLAY_ENV = "NAPARI_MRCZ_VIRTUAL_DISPLAY"
"""Set (to 1) when the display is known to be virtual: this module sets it for its own xvfb-run."""
XVFB_SCREEN = "-screen 0 1280x1024x24"
HEADLESS_TIMEOUT_S = 300
"""A screenshot under xvfb-run that takes longer than this (napari hung on a broken GL) is stopped."""


def display_kind() -> str:
    """'real' (a desktop, where the window is seen), 'virtual' (Xvfb via xvfb-run, Qt offscreen or
    minimal: nobody sees the window) or 'none' (Linux without DISPLAY/WAYLAND_DISPLAY)."""
    env = os.environ
    if env.get(VIRTUAL_DISPLAY_ENV) or env.get("QT_QPA_PLATFORM") in ("offscreen", "minimal"):
        return "virtual"
    if not sys.platform.startswith("linux") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"):
        return "real"
    if env.get("DISPLAY"):  # xvfb-run keeps its X authority in /tmp/xvfb-run.XXXXXX/
        return "virtual" if "xvfb-run" in env.get("XAUTHORITY", "") else "real"
    return "none"


def default_screenshot(path: str | os.PathLike[str] | None) -> Path:
    """Where a headless ``view`` saves its picture: ``./napari-mrcz-<name>.png`` (``path``: a file or URL)."""
    name = "sample" if path is None else file_name(path).split(".")[0]
    return Path.cwd() / f"napari-mrcz-{name}.png"


def view(file: str | os.PathLike[str] | None, *, sample: bool = False,
         screenshot: str | os.PathLike[str] | None = None) -> Path | None:
    """Open ``file`` (or the sample tomogram) in a napari viewer and run napari's event loop; or,
    where no one can see a window, save the canvas to a PNG instead and return.

    Parameters
    ----------
    file
        The MRC/MRCZ file, or a URL (as :func:`~napari_mrcz.read` takes it); ignored with ``sample``.
    sample
        Open the synthetic sample tomogram (written once to a cache folder).
    screenshot
        Save the canvas to this PNG and close instead of running the event loop. Without a real
        display it defaults to :func:`default_screenshot` (a note on stderr says so).

    Returns
    -------
    Path or None
        The screenshot written, or None once the window was closed.

    Raises
    ------
    MrczError
        The file is not readable MRC/MRCZ, napari is not installed, there is no display and no
        ``xvfb-run``, or napari failed under ``xvfb-run``.
    OSError
        The file cannot be opened.
    """
    path = os.fspath(file) if file is not None and not sample else None  # a URL stays as given
    if path is None and not sample:
        raise MrczError("give a FILE to view, or --sample")
    if path is not None:
        open_mrc(path).close()  # a clear one-line error before napari starts
    kind = display_kind()
    xvfb = shutil.which("xvfb-run") if kind == "none" else None
    if kind == "none" and xvfb is None:
        raise MrczError("no display to open napari on (DISPLAY is not set) and no xvfb-run to draw on: run it "
                        "on a desktop, or install xvfb (apt-get install xvfb) to save a --screenshot")
    if kind != "real" and screenshot is None:
        screenshot = default_screenshot(path)
        why = "no display (DISPLAY is not set)" if kind == "none" else "the display is virtual (nobody sees it)"
        print(f"napari-mrcz: {why}: saving the view to {screenshot} instead of opening a window (on a desktop "
              "napari opens; --screenshot FILE names the picture)", file=sys.stderr, flush=True)
    if xvfb is not None:
        return _screenshot_under_xvfb(xvfb, path, Path(screenshot))  # type: ignore[arg-type]
    return _show(path, screenshot)


def _screenshot_under_xvfb(xvfb: str, path: str | None, screenshot: Path) -> Path:
    """Run this command again under ``xvfb-run`` (a virtual X display) to save the screenshot."""
    target = ["--sample"] if path is None else [str(path)]
    command = [xvfb, "-a", "-s", XVFB_SCREEN, sys.executable, "-m", "napari_mrcz", "view", *target,
               "--screenshot", str(screenshot)]
    env = {**os.environ, VIRTUAL_DISPLAY_ENV: "1"}
    try:
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              timeout=HEADLESS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise MrczError(f"napari did not finish the screenshot under xvfb-run within {HEADLESS_TIMEOUT_S} s") from None
    if done.returncode:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise MrczError(f"napari failed under xvfb-run: {lines[-1] if lines else f'exit status {done.returncode}'}")
    return screenshot


def _show(path: str | None, screenshot: str | os.PathLike[str] | None) -> Path | None:
    try:
        import napari
    except ImportError:
        raise MrczError("napari is not installed: pip install 'napari-mrcz[napari]'") from None
    viewer = napari.Viewer(title=f"napari-mrcz: {file_name(path) if path else 'sample tomogram'}")
    if screenshot:  # shown, not hidden: hidden canvases draw nothing
        viewer.window.resize(*SCREENSHOT_WINDOW)
    if path is None:
        viewer.open_sample("napari-mrcz", "tomogram")
    else:
        viewer.open(path, plugin="napari-mrcz")
    viewer.scale_bar.visible = True
    if screenshot:
        from qtpy.QtWidgets import QApplication

        QApplication.processEvents()
        viewer.reset_view()
        viewer.screenshot(str(screenshot), canvas_only=True)
        viewer.close()
        return Path(screenshot)
    napari.run()
    return None
