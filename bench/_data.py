"""Deterministic cryo-EM-like test data, generated slice by slice on the fly (no downloads).

Every slice depends only on (kind, z, slice shape), so the eager array, a dask array of the same kind
and a rerun on another machine hold the same values.

- movie: int8 counting-camera movie frames, Poisson noise with λ = 1 e⁻/pixel/frame (sparse counts).
- tomo: float32 tomogram, a smooth random density (trilinear upsampling of a coarse grid, features of
  ~16 voxels) plus Gaussian noise; full float mantissas, so it compresses little, as real ones do.
- counts: uint16 counting stack (summed frames), Poisson noise with λ = 20 (dense counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SEED = 20240601
TOMO_NOISE = 0.7  # sigma of the tomogram's Gaussian noise (the tolerance rows are fractions of it)


@dataclass(frozen=True)
class Kind:
    name: str
    dtype: str
    full: tuple[int, int, int]
    small: tuple[int, int, int]
    stream_nz: tuple[int, int]  # slices of the streamed dask array (full, small): ~1 GiB / ~24 MiB
    description: str


KINDS = {
    "movie": Kind("movie", "int8", (40, 2048, 2048), (6, 1024, 1024), (256, 24),
                  "int8 movie, Poisson λ=1 counts/px/frame"),
    "tomo": Kind("tomo", "float32", (256, 512, 512), (24, 256, 256), (1024, 96),
                 "float32 tomogram, smooth density + Gaussian noise"),
    "counts": Kind("counts", "uint16", (20, 2048, 2048), (4, 1024, 1024), (128, 12),
                   "uint16 counting stack, Poisson λ=20 counts/px"),
}
_LAMBDA = {"movie": 1.0, "counts": 20.0}


@lru_cache(maxsize=None)
def _poisson_table(lam: float, dtype: str) -> np.ndarray:
    """Inverse CDF of Poisson(lam) on a 16-bit grid: table[u] is the count for uniform u/65536."""
    kmax = int(lam + 12 * math.sqrt(lam) + 12)
    pmf = np.empty(kmax + 1)
    pmf[0] = math.exp(-lam)
    for k in range(1, kmax + 1):
        pmf[k] = pmf[k - 1] * lam / k
    cdf = np.cumsum(pmf)
    return np.searchsorted(cdf, (np.arange(65536) + 0.5) / 65536, side="right").astype(dtype)


@lru_cache(maxsize=8)
def _tomo_grid(ny: int, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear-interpolation matrices from a coarse grid (one node per 16 voxels) to (ny, nx)."""

    def weights(n: int) -> np.ndarray:
        nodes = n // 16 + 2
        pos = np.arange(n) / 16.0
        i0 = np.floor(pos).astype(int)
        frac = pos - i0
        w = np.zeros((n, nodes), dtype=np.float32)
        w[np.arange(n), i0] = 1 - frac
        w[np.arange(n), i0 + 1] = frac
        return w

    return weights(ny), weights(nx)


def _tomo_plane(k: int, ny: int, nx: int) -> np.ndarray:
    rng = np.random.default_rng([SEED, 2, ny, nx, k])
    return rng.standard_normal((ny // 16 + 2, nx // 16 + 2), dtype=np.float32)


def make_slice(kind: str, z: int, ny: int, nx: int) -> np.ndarray:
    """Slice ``z`` of a data set of ``kind`` with slices (ny, nx)."""
    rng = np.random.default_rng([SEED, 1, ny, nx, z])
    if kind in _LAMBDA:  # row pieces of <= 1 Mi values: little scratch memory beside the slice
        table = _poisson_table(_LAMBDA[kind], KINDS[kind].dtype)
        out = np.empty((ny, nx), dtype=KINDS[kind].dtype)
        rows = max(1, 2**20 // nx)
        for y in range(0, ny, rows):
            np.take(table, rng.integers(0, 65536, (min(rows, ny - y), nx), dtype=np.uint16), out=out[y : y + rows])
        return out
    if kind == "tomo":
        wy, wx = _tomo_grid(ny, nx)
        k, frac = divmod(z, 16)
        coarse = (1 - frac / 16) * _tomo_plane(k, ny, nx) + (frac / 16) * _tomo_plane(k + 1, ny, nx)
        out = wy @ coarse.astype(np.float32) @ wx.T
        out += rng.standard_normal((ny, nx), dtype=np.float32) * np.float32(TOMO_NOISE)
        return out
    raise ValueError(f"unknown kind {kind!r}")


def make_array(kind: str, shape: tuple[int, int, int]) -> np.ndarray:
    """The whole data set as a numpy array."""
    nz, ny, nx = shape
    out = np.empty(shape, dtype=KINDS[kind].dtype)
    for z in range(nz):
        out[z] = make_slice(kind, z, ny, nx)
    return out


def make_dask(kind: str, shape: tuple[int, int, int]):
    """The data set as a lazy dask array, one chunk per slice; nothing exists until computed."""
    import dask.array as da

    nz, ny, nx = shape

    def block(block_info=None):
        z0, z1 = block_info[None]["array-location"][0]
        return np.stack([make_slice(kind, z, ny, nx) for z in range(z0, z1)])

    dtype = np.dtype(KINDS[kind].dtype)
    return da.map_blocks(block, chunks=((1,) * nz, (ny,), (nx,)), dtype=dtype,
                         meta=np.empty((0, 0, 0), dtype=dtype))
