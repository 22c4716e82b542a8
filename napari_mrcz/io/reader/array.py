"""Array-likes over a file's data for napari and scripts: numpy indexing that reads only what it needs.

:class:`LazyArray` implements numpy's indexing once (integers, slices, integer and boolean index
arrays, ``...``, ``None``) on top of one hook, ``_read``, which returns the outer product of one
index array per axis. Indexing with slices alone returns a view (nothing is read: napari narrows
multiscale levels to the visible tile that way before it picks a slice); any integer or array index,
or ``np.asarray``, reads. :class:`MrcArray` is the file's data as :func:`napari_mrcz.read` returns it
(z, y, x order, 2-D images, 4-D volume stacks, any stored axis order; the amplitude of complex data
on request), read through :func:`region.read_storage`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .file import MrcFileInfo
from .region import read_storage


class LazyArray:
    """Read-only numpy-style indexing over data read on demand; subclasses implement ``_read``.

    Attributes
    ----------
    shape, dtype, ndim, size
        As numpy's, of this view.
    """

    _views = True  # slices alone give a view; False: every index reads (what dask's getter expects)

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self._base_shape = tuple(int(n) for n in shape)
        self._sel: tuple[int | np.ndarray, ...] = tuple(np.arange(n) for n in self._base_shape)
        self.dtype = np.dtype(dtype)

    def _read(self, indices: tuple[np.ndarray, ...]) -> np.ndarray:
        """The data at the outer product of ``indices`` (one index array per axis of the full
        array, any order), shape ``tuple(len(i) for i in indices)``."""
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(s) for s in self._sel if isinstance(s, np.ndarray))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} shape={self.shape} dtype={self.dtype}>"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self._materialize((slice(None),) * self.ndim)
        return out if dtype is None else out.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> Any:
        key = _expand(key, self.ndim)
        if self._views and all(isinstance(k, slice) for k in key):
            return self._view(key)
        return self._materialize(key)

    def _kept(self) -> list[int]:
        return [b for b, s in enumerate(self._sel) if isinstance(s, np.ndarray)]

    def _view(self, key: tuple[slice, ...]) -> LazyArray:
        sel = list(self._sel)
        for b, k in zip(self._kept(), key):
            sel[b] = sel[b][k]  # type: ignore[index]
        view = copy.copy(self)
        view._sel = tuple(sel)
        return view

    def _materialize(self, key: tuple[Any, ...]) -> Any:
        box: list[np.ndarray] = [np.array([s]) if not isinstance(s, np.ndarray) else s for s in self._sel]
        rel: list[Any] = []
        kept = iter(self._kept())
        for k in key:
            if k is None:
                rel.append(None)
                continue
            b = next(kept)
            sel = box[b]
            if isinstance(k, slice):
                box[b] = sel[k]
                rel.append(slice(None))
            elif isinstance(k, (int, np.integer)):
                i = _check_int(int(k), len(sel), b)
                box[b] = sel[i : i + 1]
                rel.append(0)
            else:
                wanted = _index_array(k, len(sel), b)
                unique = np.unique(wanted)
                box[b] = sel[unique]
                rel.append(np.searchsorted(unique, wanted))
        data = self._read(tuple(box))
        dropped = tuple(slice(None) if isinstance(s, np.ndarray) else 0 for s in self._sel)
        return data[dropped][tuple(rel)]


def _expand(key: Any, ndim: int) -> tuple[Any, ...]:
    key = key if isinstance(key, tuple) else (key,)
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if used > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but {used} were indexed")
    fill = (slice(None),) * (ndim - used)
    if any(k is Ellipsis for k in key):
        at = next(i for i, k in enumerate(key) if k is Ellipsis)
        return key[:at] + fill + key[at + 1 :]
    return key + fill


def _check_int(i: int, n: int, axis: int) -> int:
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n}")
    return i % n


def _index_array(k: Any, n: int, axis: int) -> np.ndarray:
    arr = np.asarray(k)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise IndexError(f"boolean index of shape {arr.shape} does not match axis {axis} of size {n}")
        return np.flatnonzero(arr)
    if arr.dtype.kind not in "iu":
        raise IndexError(f"only integers, slices, ellipsis, None and integer or boolean arrays are valid indices, not {k!r}")
    if arr.size and (arr.min() < -n or arr.max() >= n):
        raise IndexError(f"index out of bounds for axis {axis} with size {n}")
    return arr.astype(np.int64) % max(n, 1)


class MrcArray(LazyArray):
    """A file's data in z, y, x order (as :func:`napari_mrcz.read` returns it: 2-D for single images,
    4-D (volume, z, y, x) for volume stacks, any stored MAPC/MAPR/MAPS order reordered), read on demand.

    ``data[z]`` decodes one z-slice; ``data[:, y, :]`` (x-z) reads only the blocks of each slice that
    hold row y; ``data[a:b, c:d]`` is a view that reads nothing until indexed with an integer or
    passed to ``np.asarray``. With a stored order other than (x, y, z) columns, rows, sections, an
    output z-slice may cross every stored slice and then decodes the whole file.

    Parameters
    ----------
    info
        The opened file (its descriptor is reopened on demand; instances pickle small).
    n_threads
        Threads for decompression (None: all cores, at most 8).
    amplitude
        Return ``abs(data)`` as float32 (complex files in napari, which cannot show complex values).
    """

    def __init__(self, info: MrcFileInfo, n_threads: int | None = None, amplitude: bool = False) -> None:
        super().__init__(info.shape, np.dtype(np.float32) if amplitude else info.dtype)
        self.info = info
        self.n_threads = n_threads
        self.amplitude = amplitude

    def _read(self, indices: tuple[np.ndarray, ...]) -> np.ndarray:
        h = self.info.header
        lead = len(h.file_shape) - 3
        zyx = list(indices[lead:])
        if len(zyx) == 2:  # a single image: z is the one stored slice
            zyx.insert(0, np.zeros(1, dtype=np.int64))
        stored: list[np.ndarray] = [np.empty(0)] * 3
        for j, axis in enumerate(h.zyx_axes):
            stored[axis] = zyx[j]
        sections = stored[0]
        volumes = indices[0] if lead else np.zeros(1, dtype=np.int64)
        if lead:
            sections = (volumes[:, None] * h.mz + sections[None, :]).reshape(-1)
        block = read_storage(self.info, sections, stored[1], stored[2], self.n_threads)
        block = block.reshape(len(volumes), len(stored[0]), len(stored[1]), len(stored[2]))
        block = block.transpose(0, *(1 + a for a in h.zyx_axes))
        block = block.reshape(tuple(len(i) for i in indices))
        return np.abs(block).astype(np.float32, copy=False) if self.amplitude else block
