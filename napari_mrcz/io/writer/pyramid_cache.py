"""Compute a file's pyramid levels into the per-user cache: :func:`build_cached` (the lookup side,
and the cache's layout, are in :mod:`napari_mrcz.io.reader.pyramid_cache`)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ... import config
from ..reader.file import MrcFileInfo
from ..reader.pyramid_cache import SUFFIX, cache_dir, cacheable, data_echo, entry_name, find_cached
from ..reader.stored import halves_z
from .pyramid import PyramidBuilder, feed


def build_cached(info: MrcFileInfo, *, progress: Callable[[int, int], None] | None = None,
                 n_threads: int | None = None) -> Path | None:
    """Compute the levels of ``info``'s data in one streaming pass and keep them in the cache
    folder; returns the entry (also when it existed), or None when the cache is off or the data has
    no levels to keep. Old entries are removed, least recently used first, down to the
    ``"pyramid.cache_bytes"`` setting. ``progress(slices done, slices)`` is called as it reads.

    Raises
    ------
    MrczError, OSError
        Reading the data failed (corrupt, truncated, remote errors) or the folder is not writable.
    """
    folder = cache_dir()
    if folder is None or not cacheable(info):
        return None
    target = folder / entry_name(info)
    found = find_cached(info)
    if found is not None:
        found[0].close()
        return target
    folder.mkdir(parents=True, exist_ok=True)
    h = info.header
    builder = PyramidBuilder((h.ny, h.nx), info.dtype, halves_z(info), folder)
    fd, name = tempfile.mkstemp(prefix=".", suffix=SUFFIX + ".part", dir=folder)
    try:
        feed(info, builder, n_threads, progress)
        with os.fdopen(fd, "wb") as out:
            added = builder.finish(out, start=0, echo=data_echo(info), shape=(h.nz, h.ny, h.nx))
        if not added:
            return None
        os.replace(name, target)
    finally:
        builder.close()
        with contextlib.suppress(OSError):
            os.close(fd)
        Path(name).unlink(missing_ok=True)
    evict(folder, config.get("pyramid.cache_bytes"), keep=target)
    return target


def evict(folder: Path, budget: int, keep: Path | None = None) -> None:
    """Remove cache entries, least recently used first, until they hold at most ``budget`` bytes."""
    entries = []
    for path in folder.glob("*" + SUFFIX):
        with contextlib.suppress(OSError):
            stat = path.stat()
            entries.append((stat.st_mtime_ns, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= budget:
            break
        if path != keep:
            path.unlink(missing_ok=True)
            total -= size
