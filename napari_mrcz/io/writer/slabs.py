"""Iterate any array-like (numpy, dask, h5py, zarr, our lazy arrays) as numpy blocks of z-slices."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

_BLOCK_BYTES = 8 * 2**20  # dask chunks are grouped or split into blocks of about this size


def iter_blocks(data: Any, scheduler: str | None = None) -> Iterator[np.ndarray]:
    """(k, NY, NX) numpy blocks of ``data`` (numpy, dask or any array-like), leading axes flattened.

    dask arrays are computed in blocks of about 8 MiB along z (small chunks grouped, large ones split),
    the next block computed while the current one is written, by ``scheduler`` (None: dask's default).
    """
    shape = tuple(data.shape)
    if len(shape) == 2:
        yield np.asarray(data)[np.newaxis]
        return
    if hasattr(data, "dask") and hasattr(data, "chunks"):
        yield from _dask_blocks(data, scheduler)
        return
    for item in range(shape[0]):
        yield np.asarray(data[item]).reshape(-1, *shape[-2:])


def _dask_blocks(data: Any, scheduler: str | None) -> Iterator[np.ndarray]:
    per_item = max(1, int(np.prod(data.shape[1:], dtype=np.int64)) * data.dtype.itemsize)
    step = max(1, _BLOCK_BYTES // per_item)
    bounds: list[tuple[int, int]] = []
    start = group = 0  # small chunks are grouped: one compute per chunk costs milliseconds
    for size in data.chunks[0]:
        if group and group + size > step:
            bounds.append((start, start + group))
            start, group = start + group, 0
        if size > step:
            bounds += [(z, min(z + step, start + size)) for z in range(start, start + size, step)]
            start += size
        else:
            group += size
    if group:
        bounds.append((start, start + group))
    ny_nx = data.shape[-2:]

    def compute(z0: int, z1: int) -> np.ndarray:
        return np.asarray(data[z0:z1].compute(scheduler=scheduler))

    with ThreadPoolExecutor(1) as pool:
        pending: Future | None = None
        for i, (z0, z1) in enumerate(bounds):
            current = pending.result() if pending is not None else compute(z0, z1)
            pending = pool.submit(compute, *bounds[i + 1]) if i + 1 < len(bounds) else None
            yield current.reshape(-1, *ny_nx)
