"""Saving one layer from the dock widget as a desktop application does: a safe default file name next to
the layer's source file, every layer kind (numpy, lazy, multiscale: level 0 streamed; Labels), and the
save as a generator for napari's ``thread_worker`` (progress per slice, off the GUI thread) with a cancel
that leaves no partial file (the core writes to a temporary file and removes it when the write stops).

No ``from __future__ import annotations`` needed here (no magicgui signatures); no Qt import.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, NamedTuple

from . import viewer as _viewer
from .labels import save_labels
from ..format.names import safe_stem
from .writer import save_image
from ..errors import Finding, MrczError
from ..io.storage.remote import is_url

POLL_SECONDS = 0.05


class SaveCancelled(Exception):
    """The user cancelled a save; the core removed the partial file."""


class SaveOutcome(NamedTuple):
    """What a save ended with: the path written, or the error that stopped it (an :class:`MrczError`,
    an ``OSError`` or :class:`SaveCancelled`), and what the save found (``source: message`` each, as
    :class:`~napari_mrcz.errors.Finding` reads). Returned, not raised: napari's workers report raised
    errors as crashes."""

    path: Path | None
    error: BaseException | None = None
    warnings: tuple[str, ...] = ()


def source_path(layer: Any) -> Path | None:
    """The local file a layer was opened from (napari's ``layer.source.path``, else our reader's note),
    or None (made in napari, or opened from a URL)."""
    source = getattr(getattr(layer, "source", None), "path", None)
    if not source:
        notes = _viewer.ours(layer) or {}
        source = notes.get("path")
    if not source or is_url(str(source)):
        return None
    return Path(source)


def default_path(layer: Any, suffix: str) -> Path:
    """A file name to propose for saving ``layer``: ``<layer name><suffix>`` (made file-safe) in the
    folder of its source file, else in the home folder; never an existing file (``-2``, ``-3``, ...
    added)."""
    source = source_path(layer)
    folder = source.parent if source is not None and source.parent.is_dir() else Path.home()
    stem = safe_stem(str(layer.name))
    candidate, n = folder / f"{stem}{suffix}", 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{stem}-{n}{suffix}"
    return candidate


def level0(layer: Any) -> Any:
    """The full-resolution data of a layer (level 0 of a multiscale one), as napari holds it."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


def slice_count(layer: Any) -> int:
    """Slices the save writes (the progress bar's total): 1 for a 2-D image."""
    return math.prod(tuple(level0(layer).shape)[:-2])


def save_layer(layer: Any, path: Path, **options: Any) -> Path:
    """Write an Image or Labels layer (``options``: compressor, clevel, shuffle, n_threads, tolerance
    for images, progress, findings) with the napari writers' rules.

    Raises
    ------
    MrczError
        What the layer cannot be stored as (see :func:`writer.save_image`, :func:`labels.save_labels`).
    OSError
        The file cannot be written.
    """
    data, attributes, kind = layer.as_layer_data_tuple()
    if kind == "labels":
        options.pop("tolerance", None)  # labels are always exact
        return Path(save_labels(path, data, attributes, **options))
    return save_image(path, data, attributes, **options)


def save_steps(layer: Any, path: Path, cancel: threading.Event, **options: Any) -> Generator[None, None, SaveOutcome]:
    """:func:`save_layer` in a helper thread, yielding once per slice written (for napari's
    ``thread_worker(progress={"total": slice_count(layer)})``); returns a :class:`SaveOutcome`.

    Setting ``cancel`` stops the save after the slice being written (the outcome's error is then
    :class:`SaveCancelled`); no file is left at ``path`` (an existing one is kept as it was).
    """
    done = [0]
    # the findings (float64 rounded, ...) are handed back with the outcome as values, for the widget to
    # show on the GUI thread: no warnings machinery, which is process-wide, not per thread
    found: list[Finding] = []

    def progress(slices: int, _in: int, _out: int) -> None:
        if cancel.is_set():
            raise SaveCancelled(f"saving {path.name} was cancelled; nothing was written")
        done[0] = slices

    def run() -> Path:
        return save_layer(layer, path, progress=progress, findings=found, **options)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="napari-mrcz-save")
    future = pool.submit(run)
    reported = 0
    try:
        while True:
            try:
                written = future.result(timeout=POLL_SECONDS)
            except FutureTimeout:
                pass
            except (MrczError, OSError, SaveCancelled) as err:
                return SaveOutcome(None, err, tuple(map(str, found)))
            else:
                return SaveOutcome(written, None, tuple(map(str, found)))
            while reported < done[0]:
                reported += 1
                yield
    finally:
        if not future.done():
            cancel.set()  # the generator was closed: stop the save too
        pool.shutdown(wait=False)
