"""Multiscale pyramids of big files: each level halves y and x (and z for volumes), computed on demand.

A level-k plane (one z-slice, or the image of a 2-D file) is the 2×2(×2) mean of the level k-1 planes
it covers, read only when asked for: a plane of level k needs planes 2z and 2z+1 of level k-1 (or
just z, for image stacks whose z is not spatial), and a small region of it needs only the rows below
that region (which :mod:`partial` decodes without the rest of each slice). Whole planes are kept in
a process-wide LRU cache (the ``"multiscale.cache_bytes"`` setting). The values are
:func:`napari_mrcz.values.levels.level_mean`'s, the same as stored and cached levels hold.

Which files get a pyramid in napari, and how deep, is set by module constants (tests patch them).
napari places level-k pixel i at level-0 pixel i × 2^k (its convention for every multiscale image),
so a coarse pixel shows shifted by (2^k − 1)/2 level-0 pixels from the centre of the voxels it
averages: less than half a coarse pixel.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from ... import config
from ...values.levels import level_mean
from .array import LazyArray, MrcArray
from .cache import ArrayCache
from .file import MrcFileInfo
from .pyramid_cache import find_cached
from .stored import StoredLevel, find_stored, halves_z

REGION_FRACTION = 0.25
"""A request for less than this part of a plane computes that region only (not cached)."""

_CACHE = ArrayCache(config.get("multiscale.cache_bytes"))


def halved_axes(info: MrcFileInfo) -> tuple[bool, ...]:
    """Which axes of the data (as read) each level halves: y and x always; z for volumes (ISPG ≠ 0)
    and volume stacks, not for image stacks (movies, tilt series, particle stacks: z is not space);
    never the volume axis of a volume stack."""
    ndim = len(info.shape)
    if ndim == 2:
        return (True, True)
    if ndim == 4:
        return (False, True, True, True)
    return (halves_z(info), True, True)


def level_shapes(shape: tuple[int, ...], halved: tuple[bool, ...], itemsize: int) -> list[tuple[int, ...]]:
    """Shapes of the pyramid's levels, largest first: halve (rounding up) until every halved side is
    at most ``"multiscale.level_side"`` and the level holds at most ``"multiscale.bytes"``
    (:mod:`napari_mrcz.config`)."""
    shapes = [tuple(shape)]
    while True:
        cur = shapes[-1]
        sides = [n for n, h in zip(cur, halved) if h]
        small = (max(sides) <= config.get("multiscale.level_side")
                 and int(np.prod(cur, dtype=np.int64)) * itemsize <= config.get("multiscale.bytes"))
        if small or max(sides) == 1:
            return shapes
        shapes.append(tuple((n + 1) // 2 if h else n for n, h in zip(cur, halved)))


def needs_multiscale(info: MrcFileInfo) -> bool:
    """True for files napari should open as a pyramid (:func:`is_large`)."""
    return is_large(info.shape, info.nbytes)


def is_large(shape: tuple[int, ...], nbytes: int) -> bool:
    """True for data of ``shape`` and ``nbytes`` napari opens as a pyramid: y or x above the
    ``"multiscale.side"`` setting, or more than ``"multiscale.bytes"``."""
    return max(shape[-2:]) > config.get("multiscale.side") or nbytes > config.get("multiscale.bytes")


class LevelArray(LazyArray):
    """One coarser level of a pyramid, computed from ``parent`` (the level below, un-viewed) on
    demand; indexing and views as :class:`~napari_mrcz.io.reader.array.LazyArray`.

    Parameters
    ----------
    parent
        The level below (an :class:`MrcArray` or a :class:`LevelArray`).
    halved
        Which axes this level halves.
    owner
        Identifies the pyramid in the shared cache.
    level
        This level's number (1 for the first coarser level).
    """

    def __init__(self, parent: LazyArray, halved: tuple[bool, ...], owner: str, level: int,
                 upgrade: Upgrade | None = None) -> None:
        shape = tuple((n + 1) // 2 if h else n for n, h in zip(parent.shape, halved))
        super().__init__(shape, parent.dtype)
        self.parent, self.halved, self.owner, self.level = parent, tuple(halved), owner, level
        self.upgrade = upgrade

    def plain(self) -> LevelArray:
        """This level computed, never upgraded (the fallback of its stored twin)."""
        return LevelArray(self.parent, self.halved, self.owner, self.level)

    def _read(self, indices: tuple[np.ndarray, ...]) -> np.ndarray:
        stored = self.upgrade.level(self) if self.upgrade is not None else None
        if stored is not None:
            return stored._read(indices)
        *lead, rows, cols = indices
        ny, nx = self._base_shape[-2:]
        r0, r1, c0, c1 = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
        region = (r1 - r0) * (c1 - c0) < REGION_FRACTION * ny * nx
        out = np.empty(tuple(len(i) for i in indices), dtype=self.dtype)
        for pos in np.ndindex(*(len(i) for i in lead)):
            plane_at = tuple(int(lead[a][p]) for a, p in enumerate(pos))
            key = (self.owner, self.level, plane_at)
            _CACHE.budget = config.get("multiscale.cache_bytes")
            plane = _CACHE.get(key)
            if plane is None and region:
                out[pos] = _crop(self._compute(plane_at, r0, r1, c0, c1), rows - r0, cols - c0)
                continue
            if plane is None:
                plane = self._compute(plane_at, 0, ny, 0, nx)
                _CACHE.put(key, plane)
            out[pos] = _crop(plane, rows, cols)
        return out

    def _compute(self, plane_at: tuple[int, ...], r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """Rows r0:r1, columns c0:c1 of the plane at leading indices ``plane_at``, from the parent."""
        parent_shape = self.parent._base_shape
        wanted = []
        for i, n, h in zip((*plane_at, (r0, r1), (c0, c1)), parent_shape, self.halved):
            lo, hi = (i, i + 1) if isinstance(i, int) else i
            wanted.append(np.arange(2 * lo, min(2 * hi, n)) if h else np.arange(lo, hi))
        block = self.parent._read(tuple(wanted))
        small = level_mean(block, [a for a, h in enumerate(self.halved) if h])
        return small.reshape(r1 - r0, c1 - c0)


def _crop(plane: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if rows.size == plane.shape[0] and np.array_equal(rows, np.arange(rows.size)):
        return plane if cols.size == plane.shape[1] and np.array_equal(cols, np.arange(cols.size)) else plane[:, cols]
    return plane[np.ix_(rows, cols)]


def pyramid(info: MrcFileInfo, *, amplitude: bool = False, n_threads: int | None = None) -> list[LazyArray]:
    """Every level of the file's pyramid as array-likes, level 0 (:class:`MrcArray`, full resolution)
    first, each next one halving :func:`halved_axes`, down to :func:`level_shapes`' last: read from
    the file's stored pyramid where it has a verified one (:mod:`.stored`), else computed."""
    base = MrcArray(info, n_threads, amplitude)
    halved = halved_axes(info)
    owner = uuid.uuid4().hex
    levels: list[LazyArray] = [base]
    stored, source = (None if amplitude else find_stored(info)), None
    if stored is None and not amplitude:
        source, stored = find_cached(info) or (None, None)
    upgrade = None if stored is not None or amplitude else Upgrade(info, owner)
    for level in range(1, len(level_shapes(base.shape, halved, base.dtype.itemsize))):
        computed = LevelArray(levels[-1], halved, owner, level, upgrade)
        if stored is not None and level <= len(stored.levels):
            levels.append(StoredLevel(info, stored, level, computed, owner, source))
        else:
            levels.append(computed)
    return levels


class Upgrade:
    """Shared by the computed levels of one pyramid: once :meth:`refresh` finds the levels in the
    per-user cache (built in the background), every level reads them instead of computing."""

    def __init__(self, info: MrcFileInfo, owner: str) -> None:
        self.info, self.owner = info, owner
        self.found: tuple[Any, Any] | None = None
        self.stored: dict[int, StoredLevel] = {}

    def refresh(self) -> bool:
        """Look for the cache entry again; True when the levels now read from it."""
        self.found = self.found or find_cached(self.info)
        return self.found is not None

    def level(self, computed: LevelArray) -> LazyArray | None:
        """The stored twin of ``computed`` once the entry exists, else None."""
        if self.found is None or computed.level > len(self.found[1].levels):
            return None
        if computed.level not in self.stored:
            source, index = self.found
            self.stored[computed.level] = StoredLevel(self.info, index, computed.level, computed.plain(), self.owner, source)
        return self.stored[computed.level]


def display_levels(info: MrcFileInfo, *, amplitude: bool = False, multiscale: bool = True) -> list[LazyArray]:
    """What napari gets for a lazily opened file: its :func:`pyramid` when ``multiscale`` and
    :func:`needs_multiscale`, else the one full-resolution array-like."""
    if multiscale and needs_multiscale(info):
        return pyramid(info, amplitude=amplitude)
    return [MrcArray(info, amplitude=amplitude)]


def dask_levels(info: MrcFileInfo, level0: Any, n_threads: int | None = None) -> list[Any]:
    """The pyramid as dask arrays for scripting: ``level0`` (the file's dask array), then one array
    per coarser level with one chunk per plane."""
    import dask.array as da

    from .lazy import dask_name

    levels = pyramid(info, n_threads=n_threads)
    out = [level0]
    for k, level in enumerate(levels[1:], 1):
        chunks = (1,) * (level.ndim - 2) + level.shape[-2:]
        out.append(da.from_array(level, chunks=chunks, name=dask_name(info, "level", k), asarray=True,
                                 meta=np.empty((0,) * level.ndim, dtype=level.dtype)))
    return out


def numpy_levels(info: MrcFileInfo, data: np.ndarray) -> list[np.ndarray]:
    """The pyramid of data already in memory (an eager read), computed at once."""
    halved = halved_axes(info)
    axes = [a for a, h in enumerate(halved) if h]
    levels = [data]
    for _ in level_shapes(data.shape, halved, data.dtype.itemsize)[1:]:
        levels.append(level_mean(levels[-1], axes))
    return levels
