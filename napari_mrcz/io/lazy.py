"""Lazy access: an array-like over the stored z-slices, and the dask array built on it.

``SliceArray`` reads (and for MRCZ decompresses) only the z-slices an index touches, straight into
the result. It holds a path and a chunk index, not data, so dask graphs built on it pickle small and
run on ``dask.distributed`` workers, each of which reopens the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .opener import MrcFileInfo


class SliceArray:
    """Numpy-style read-only indexing over a file's stored slices, shape (NZ, NY, NX).

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

    def __init__(self, info: MrcFileInfo, n_threads: int | None = None) -> None:
        self.info = info
        self.n_threads = n_threads
        h = info.header
        self.shape = (h.nz, h.ny, h.nx)
        self.dtype = info.dtype
        self.ndim = 3

    def _read(self, start: int, stop: int) -> np.ndarray:
        return self.info.read_slices(start, stop, self.n_threads)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        z_key, rest = key[0], key[1:]
        z = np.arange(self.shape[0])[z_key]
        if z.ndim == 0:
            return self._read(int(z), int(z) + 1)[(0, *rest)]
        if z.size and np.array_equal(z, np.arange(z[0], z[0] + z.size)):
            block = self._read(int(z[0]), int(z[0]) + z.size)
        else:
            block = np.stack([self._read(int(i), int(i) + 1)[0] for i in z]) if z.size else (
                np.empty((0, *self.shape[1:]), dtype=self.dtype)
            )
        return block[(slice(None), *rest)]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)


def as_dask(info: MrcFileInfo, n_threads: int | None = None) -> Any:
    """A dask array of the file's data (z, y, x order) with one chunk per stored z-slice.

    gzip/bzip2 files are already in memory; their array is chunked the same way.
    """
    import dask.array as da
    from dask.base import tokenize

    h = info.header
    if isinstance(info.path, Path):
        stat = info.path.stat()
        name = "mrcz-" + tokenize(str(info.path.resolve()), stat.st_mtime_ns, stat.st_size, h.mode)
    else:  # a URL: its size and version (ETag, Last-Modified) as the server reported them
        name = "mrcz-" + tokenize(info.path, getattr(info.source, "identity", None), h.mode)
    stored = da.from_array(
        SliceArray(info, n_threads),
        chunks=(1, h.ny, h.nx),
        name=name,
        asarray=True,
        meta=np.empty((0, 0, 0), dtype=info.dtype),
    )
    return info.to_output(stored)
