"""Compute the pyramid of a file without a stored one into the per-user cache, in the background,
while napari shows it: napari's progress bar, then the layer's computed levels read the cache.

Nothing here parses bytes: :func:`napari_mrcz.io.writer.pyramid_cache.build_cached` does the work.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

from ..errors import MrczError, MrczWarning
from ..io.reader.file import MrcFileInfo
from ..io.reader.pyramid_cache import cache_dir, cacheable
from ..io.writer.pyramid_cache import build_cached


def start(info: MrcFileInfo, levels: list[Any], name: str) -> Any:
    """Build ``info``'s levels into the cache in the background, when ``levels`` (what the layer shows)
    are computed ones and the cache is on.

    In a napari window the build is a napari worker (``create_worker``) with an indeterminate progress
    bar, which napari creates, updates and closes on the GUI thread (Qt widgets must not be touched from
    another thread); elsewhere (scripts, a bare ``ViewerModel``) a plain daemon thread. Returns the
    worker or thread (None: nothing to do).
    """
    upgrade = getattr(levels[1], "upgrade", None) if len(levels) > 1 else None
    if upgrade is None or cache_dir() is None or not cacheable(info):
        return None

    def run() -> None:
        try:
            build_cached(info)
            upgrade.refresh()
        except (MrczError, OSError) as err:  # the layer keeps computing its levels
            warnings.warn(f"{name}: pyramid levels not cached: {err}", MrczWarning, stacklevel=1)

    if _in_napari_window():
        from napari.qt.threading import create_worker

        worker = create_worker(run, _progress={"total": 0, "desc": f"pyramid of {name}"})
        worker.start()
        return worker
    thread = threading.Thread(target=run, name="napari-mrcz-pyramid", daemon=True)
    thread.start()
    return thread


def _in_napari_window() -> bool:
    """True when a napari window (Qt) is open in this process."""
    try:
        import napari
    except ImportError:
        return False
    return napari.current_viewer() is not None
