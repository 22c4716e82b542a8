"""Lazy access: an array-like over the stored z-slices, and the dask array built on it.

``SliceArray`` reads (and for MRCZ decompresses) only the z-slices an index touches, straight into
the result. It holds a path and a chunk index, not data, so dask graphs built on it pickle small and
run on ``dask.distributed`` workers, each of which reopens the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .array import LazyArray
from .file import MrcFileInfo
from .region import read_storage


class SliceArray(LazyArray):
    """Numpy-style read-only indexing over a file's stored slices, shape (NZ, NY, NX); every index
    reads (dask's getter expects arrays). A few rows of each slice (``[:, y]``: what a fused dask
    slice asks for) decode only the blocks holding them (:mod:`region`).

    Plain files are read with ``pread`` through the descriptor opened with the header, not a memory
    map: a map faults with SIGBUS when the file shrinks, and a map of the path would read a replaced
    file at the old file's offsets. A short read raises ``HeaderError`` instead.

    Parameters
    ----------
    info
        The opened file.
    n_threads
        blosc threads per decompressed slice.
    """

    _views = False

    def __init__(self, info: MrcFileInfo, n_threads: int | None = None) -> None:
        h = info.header
        super().__init__((h.nz, h.ny, h.nx), info.dtype)
        self.info = info
        self.n_threads = n_threads

    def _read(self, indices: tuple[np.ndarray, ...]) -> np.ndarray:
        return read_storage(self.info, *indices, n_threads=self.n_threads)


def dask_name(info: MrcFileInfo, *extra: Any) -> str:
    """A dask graph name that changes when the file does (the source's identity: device, inode, size
    and time of a local file; size and validators of a URL, or a token of the open when the server
    gives none), so graphs of a replaced file never share cached results."""
    from dask.base import tokenize

    where = str(info.path.resolve()) if isinstance(info.path, Path) else info.path
    return "mrcz-" + tokenize(where, info.source.identity, info.header.mode, *extra)


def as_dask(info: MrcFileInfo, n_threads: int | None = None) -> Any:
    """A dask array of the file's data (z, y, x order) with one chunk per stored z-slice.

    gzip/bzip2 files are already in memory; their array is chunked the same way.
    """
    import dask.array as da

    h = info.header
    name = dask_name(info)
    stored = da.from_array(
        SliceArray(info, n_threads),
        chunks=(1, h.ny, h.nx),
        name=name,
        asarray=True,
        meta=np.empty((0, 0, 0), dtype=info.dtype),
    )
    return info.to_output(stored)
