"""Read a box of the stored data: some sections (z-slices as stored), some rows, some columns.

The one place that decides how: whole slices (decoded on all threads), only the rows of plain files
(positional reads), or only the blocks holding the rows of compressed files (:mod:`partial`) when
they are a small part of each slice. Large requests go in batches, so a narrow box of a big file
(a y-z slice) never holds more than one batch of whole slices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ... import config
from ...errors import HeaderError
from ..codec import cblosc2
from . import partial
from .file import MrcFileInfo

PARTIAL_MAX_FRACTION = 0.5
"""Decode only the wanted rows' blocks when the rows are at most this part of a slice."""
"""Whole slices decoded at once when a request needs only part of each (bounds memory)."""


def read_storage(
    info: MrcFileInfo,
    sections: Sequence[int] | np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    n_threads: int | None = None,
) -> np.ndarray:
    """Stored sections ``sections`` (indices into NZ), rows ``rows`` and columns ``cols`` (index
    arrays, any order), shape (len(sections), len(rows), len(cols)), native byte order, as
    :meth:`MrcFileInfo.read_slices` would return them.

    Raises
    ------
    MrczError
        As :meth:`MrcFileInfo.read_slices`: a corrupt compressed slice (``ChunkError``), data that
        ends early (``HeaderError``).
    """
    h = info.header
    sections = np.asarray(sections, dtype=np.int64).reshape(-1)
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    if sections.size == 0 or rows.size == 0 or cols.size == 0:
        return np.zeros((sections.size, rows.size, cols.size), dtype=info.dtype)
    r0, r1 = int(rows.min()), int(rows.max()) + 1
    all_rows = rows.size == h.ny and np.array_equal(rows, np.arange(h.ny))
    all_cols = cols.size == h.nx and np.array_equal(cols, np.arange(h.nx))
    packed = h.mrc_mode in (3, 101)
    few_rows = r1 - r0 < h.ny and not packed and (
        info.chunk_index is None or ((r1 - r0) <= PARTIAL_MAX_FRACTION * h.ny and cblosc2.available())
    )
    if few_rows:
        step = max(1, config.get("region.batch_bytes") // max(1, (r1 - r0) * h.nx * h.dtype.itemsize))
        out = np.zeros((sections.size, rows.size, cols.size), dtype=info.dtype)
        for i in range(0, sections.size, step):
            part = sections[i : i + step]
            got = _plain_rows(info, part, r0, r1) if info.chunk_index is None else partial.read_rows(
                info, part, r0, r1, n_threads
            )
            out[i : i + part.size] = _crop(got, rows - r0, cols, False, all_cols)
        return out
    runs = _runs(sections, max(1, config.get("region.batch_bytes") // max(1, h.slice_nbytes)))
    if len(runs) == 1 and all_rows and all_cols:  # whole slices in one read: no copy
        return info.read_slices(*runs[0], n_threads)
    out = np.zeros((sections.size, rows.size, cols.size), dtype=info.dtype)
    i = 0
    for start, stop in runs:
        out[i : i + stop - start] = _crop(info.read_slices(start, stop, n_threads), rows, cols, all_rows, all_cols)
        i += stop - start
    return out


def _crop(block: np.ndarray, rows: np.ndarray, cols: np.ndarray, all_rows: bool, all_cols: bool) -> np.ndarray:
    if not all_rows and not (rows.size == block.shape[1] and np.array_equal(rows, np.arange(rows.size))):
        block = block[:, as_slice(rows)]
    return block if all_cols else block[:, :, as_slice(cols)]


def as_slice(index: np.ndarray) -> slice | np.ndarray:
    """``index`` (1-D integers) as a slice when it is a run with a constant step (a view, no gather)."""
    if index.size == 0:
        return index
    step = int(index[1] - index[0]) if index.size > 1 else 1
    if step > 0 and np.array_equal(index, np.arange(int(index[0]), int(index[0]) + step * index.size, step)):
        return slice(int(index[0]), int(index[0]) + step * index.size, step)
    return index


def _runs(sections: np.ndarray, longest: int) -> list[tuple[int, int]]:
    """(start, stop) runs of consecutive section numbers, in order, none longer than ``longest``."""
    runs: list[tuple[int, int]] = []
    for z in sections.tolist():
        if runs and runs[-1][1] == z and runs[-1][1] - runs[-1][0] < longest:
            runs[-1] = (runs[-1][0], z + 1)
        else:
            runs.append((z, z + 1))
    return runs


def _plain_rows(info: MrcFileInfo, sections: np.ndarray, r0: int, r1: int) -> np.ndarray:
    h = info.header
    row_bytes = h.nx * h.dtype.itemsize
    raw = np.zeros((sections.size, r1 - r0, h.nx), dtype=h.dtype)
    for i, z in enumerate(sections.tolist()):
        offset = h.data_offset + z * h.slice_nbytes + r0 * row_bytes
        if info.source.readinto(raw[i], offset) != raw[i].nbytes:
            raise HeaderError(f"{info.path}: truncated: the data ends inside slice {z}")
    return raw.astype(info.dtype, copy=False)
