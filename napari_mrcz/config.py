"""Runtime settings (cache budgets, size thresholds, thread counts, network deadlines) in one place.

Code reads a setting where it uses it, with :func:`get`, so a change takes effect on the next call;
nothing copies a value at import. Change settings for a block of code with :func:`set` (a context
manager, as ``zarr.config.set`` and ``dask.config.set`` do), or for a whole process with an environment
variable ``NAPARI_MRCZ_<KEY>`` (the key upper-cased, dots as underscores; e.g.
``NAPARI_MRCZ_REMOTE_TIMEOUT=30``), read when the setting is first used::

    import napari_mrcz
    with napari_mrcz.config.set({"remote.timeout": 10}):
        napari_mrcz.read("https://example.org/map.mrcz")

May import: the standard library only.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    "reader.lazy_bytes": 256 * 2**20,
    # napari opens files larger than this (decompressed) lazily
    "multiscale.side": 2048,
    # files with y or x above this many pixels open as multiscale pyramids ...
    "multiscale.bytes": 2**30,
    # ... and so do files larger than this (decompressed)
    "multiscale.level_side": 1024,
    # pyramids go down until y and x fit this many pixels
    "multiscale.cache_bytes": 256 * 2**20,
    # planes of computed pyramid levels kept in memory (least recently used dropped first)
    "pyramid.cache_dir": "auto",
    # computed pyramid levels of files without a stored pyramid are kept here: "auto" is the
    # platform's per-user cache folder (platformdirs; honours XDG_CACHE_HOME) + napari-mrcz/pyramids,
    # None or "" turns the cache off
    "pyramid.cache_bytes": 10 * 2**30,
    # the cache's size; the least recently used entries are removed beyond it
    "region.batch_bytes": 64 * 2**20,
    # region reads decode at most this many bytes of slices at a time
    "threads": None,
    # codec threads per call; None: the usable cores, at most 8
    "convert.block_bytes": 32 * 2**20,
    # convert reads and writes about this many bytes of z-slices at a time (its memory per file)
    "validate.count_bytes": 2**30,
    # validate counts at most this many trailing bytes after the data inside a .gz/.bz2 stream
    "remote.timeout": 60.0,
    # seconds one remote request may take in all (connect, wait, every byte), then RemoteError
}

_lock = threading.Lock()
_values: dict[str, Any] = {}


def _from_environment(key: str) -> Any:
    raw = os.environ.get("NAPARI_MRCZ_" + key.upper().replace(".", "_"))
    if raw is None:
        return DEFAULTS[key]
    default = DEFAULTS[key]
    try:
        if isinstance(default, bool):
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(default, int) or default is None:  # None: an optional count (threads)
            return int(raw) if raw.strip() else None
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ValueError(f"NAPARI_MRCZ_{key.upper().replace('.', '_')}={raw!r} is not a number") from None
    return raw


def get(key: str) -> Any:
    """The current value of setting ``key`` (see :data:`DEFAULTS` for the keys and their meaning).

    Raises
    ------
    KeyError
        ``key`` is not a setting.
    """
    if key not in DEFAULTS:
        raise KeyError(f"{key!r} is not a napari-mrcz setting; known: {', '.join(sorted(DEFAULTS))}")
    with _lock:
        if key not in _values:
            _values[key] = _from_environment(key)
        return _values[key]


@contextlib.contextmanager
def set(values: Mapping[str, Any] | None = None, **kwargs: Any) -> Iterator[None]:  # noqa: A001
    """Change settings until the ``with`` block ends (then the previous values come back).

    ``set({"multiscale.side": 512})`` or, for keys without dots, ``set(threads=2)``. Settings are
    process-wide: a block changes them for every thread while it runs, as ``dask.config.set`` does.

    Raises
    ------
    KeyError
        A key is not a setting.
    """
    changes = {**(values or {}), **kwargs}
    for key in changes:
        get(key)  # unknown keys raise before anything changes
    with _lock:
        before = {key: _values[key] for key in changes}
        _values.update(changes)
    try:
        yield
    finally:
        with _lock:
            _values.update(before)
