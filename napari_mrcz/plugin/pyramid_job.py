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


def start(info: MrcFileInfo, levels: list[Any], name: str) -> threading.Thread | None:
    """Build ``info``'s levels into the cache on a background thread, when ``levels`` (what the layer
    shows) are computed ones and the cache is on; returns the thread (None: nothing to do)."""
    upgrade = getattr(levels[1], "upgrade", None) if len(levels) > 1 else None
    if upgrade is None or cache_dir() is None or not cacheable(info):
        return None

    def run() -> None:
        try:
            from napari.utils import progress
        except ImportError:  # a script without napari: no bar
            progress = None
        bar = progress(total=info.header.nz, desc=f"pyramid of {name}") if progress is not None else None
        try:
            build_cached(info, progress=None if bar is None else lambda done, _total: bar.update(done - bar.n))
            upgrade.refresh()
        except (MrczError, OSError) as err:  # the layer keeps computing its levels
            warnings.warn(f"{name}: pyramid levels not cached: {err}", MrczWarning, stacklevel=1)
        finally:
            if bar is not None:
                bar.close()

    thread = threading.Thread(target=run, name="napari-mrcz-pyramid", daemon=True)
    thread.start()
    return thread
