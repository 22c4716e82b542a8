"""A multiscale pyramid written chunk by chunk with bounded memory: the level shapes, 2x binning, and
the depth-first walk that reads each level-0 chunk once.

Each chunk of level L covers 2x2x2 (2x2 where z is not binned) chunks of level L-1. The walk builds a
level-L chunk by building its children in turn, writing each to its own level and binning it into the
parent's buffer, so at any time memory holds one chunk buffer per level plus the chunks being
compressed, whatever the size of the volume. Pure numerics and zarr array writes; no MRC knowledge.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

TILE = 256
"""Levels are added until the smallest fits this many pixels in y and in x."""
WRITERS = 2
"""Chunks compressed and stored at once (each also holds its buffer until it is stored)."""

Box = tuple[tuple[int, int], ...]


def level_shapes(shape: Sequence[int], bin_z: bool, tile: int = TILE) -> list[tuple[int, ...]]:
    """Shapes of the pyramid's levels, largest first: y and x (and z where ``bin_z``, for 3-D) halved
    (rounded up) until both y and x are at most ``tile``."""
    shapes = [tuple(int(n) for n in shape)]
    binned = _binned_axes(len(shape), bin_z)
    while shapes[-1][-2] > tile or shapes[-1][-1] > tile:
        shapes.append(tuple(-(-n // 2) if a in binned else n for a, n in enumerate(shapes[-1])))
    return shapes


def _binned_axes(ndim: int, bin_z: bool) -> tuple[int, ...]:
    return tuple(range(ndim - (3 if bin_z and ndim >= 3 else 2), ndim))


def bin2(block: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """Mean of 2-voxel groups along ``axes`` (an odd last voxel is averaged with itself), in the
    block's dtype (integers rounded to nearest)."""
    pad = [(0, block.shape[a] % 2 if a in axes else 0) for a in range(block.ndim)]
    if any(p for _, p in pad):
        block = np.pad(block, pad, mode="edge")
    acc_dtype = np.float64 if block.dtype.itemsize > 4 or block.dtype.kind in "iu" and block.dtype.itemsize == 4 else np.float32
    if block.dtype.kind == "c":
        acc_dtype = np.complex128 if block.dtype.itemsize > 8 else np.complex64
    acc: np.ndarray | None = None
    for offsets in itertools.product(*[(0, 1) if a in axes else (0,) for a in range(block.ndim)]):
        view = block[tuple(slice(o, None, 2) if a in axes else slice(None) for a, o in enumerate(offsets))]
        if acc is None:
            acc = view.astype(acc_dtype)
        else:
            acc += view
    assert acc is not None
    acc /= 2 ** len(axes)
    if block.dtype.kind in "iu":
        info = np.iinfo(block.dtype)
        return np.clip(np.rint(acc), info.min, info.max).astype(block.dtype)
    return acc.astype(block.dtype, copy=False)


class PyramidWriter:
    """Fill the zarr arrays ``levels`` (largest first, chunked alike up to their shapes) from
    ``read(box)``, which returns level 0's data in a box ((start, stop) per axis) as numpy."""

    def __init__(self, levels: Sequence[Any], read: Callable[[Box], np.ndarray], bin_z: bool,
                 progress: Callable[[int], None] | None = None) -> None:
        self.levels = list(levels)
        self.read = read
        self.binned = _binned_axes(len(self.levels[0].shape), bin_z)
        self.progress = progress
        self._pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="napari-mrcz-zarr")
        self._slots = threading.BoundedSemaphore(WRITERS)
        self._pending: list[Future[None]] = []

    def run(self) -> None:
        """Write every chunk of every level; re-raises the first failure of a read or a store."""
        top = len(self.levels) - 1
        try:
            for index in np.ndindex(*self._grid(top)):
                self._build(top, index)
            self._drain()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _grid(self, level: int) -> tuple[int, ...]:
        arr = self.levels[level]
        return tuple(math.ceil(n / c) for n, c in zip(arr.shape, arr.chunks))

    def _box(self, level: int, index: tuple[int, ...]) -> Box:
        arr = self.levels[level]
        return tuple((i * c, min((i + 1) * c, n)) for i, c, n in zip(index, arr.chunks, arr.shape))

    def _build(self, level: int, index: tuple[int, ...]) -> np.ndarray:
        box = self._box(level, index)
        if level == 0:
            block = np.ascontiguousarray(self.read(box))
        else:
            block = np.empty([b - a for a, b in box], dtype=self.levels[level].dtype)
            below = self.levels[level - 1]
            ranges = []
            for axis, ((a, b), c, n) in enumerate(zip(box, below.chunks, below.shape)):
                f = 2 if axis in self.binned else 1
                lo, hi = a * f, min(b * f, n)
                ranges.append(range(lo // c, math.ceil(hi / c)))
            for child_index in itertools.product(*ranges):
                child_box = self._box(level - 1, child_index)
                child = bin2(self._build(level - 1, child_index), self.binned)
                starts = [ca // (2 if axis in self.binned else 1) - a
                          for axis, ((ca, _), (a, _)) in enumerate(zip(child_box, box))]
                block[tuple(slice(s, s + n) for s, n in zip(starts, child.shape))] = child
        self._store(level, box, block)
        return block

    def _store(self, level: int, box: Box, block: np.ndarray) -> None:
        self._slots.acquire()  # at most WRITERS chunks queued or compressing
        self._raise_failures()
        region = tuple(slice(a, b) for a, b in box)

        def store() -> None:
            try:
                self.levels[level][region] = block
                if self.progress is not None and level == 0:
                    self.progress(block.nbytes)
            finally:
                self._slots.release()

        self._pending.append(self._pool.submit(store))

    def _raise_failures(self) -> None:
        still = []
        for future in self._pending:
            if future.done():
                future.result()  # re-raises a failed store
            else:
                still.append(future)
        self._pending = still

    def _drain(self) -> None:
        for future in self._pending:
            future.result()
        self._pending = []
