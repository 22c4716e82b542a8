"""Multiscale pyramids: the 2×2(×2) mean, level shapes, lazy levels that read only what they need,
the bounded plane cache, and ``read(..., multiscale=True)`` for scripting."""

from __future__ import annotations

import struct
from itertools import product
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.io.reader import array, multiscale
from napari_mrcz.io.reader.multiscale import LevelArray, level_shapes, pyramid
from napari_mrcz.values.levels import downsample


def _reference(data: np.ndarray, halved: tuple[bool, ...]) -> np.ndarray:
    """The mean of the voxels in each 2-wide window along the halved axes, one voxel at a time."""
    shape = tuple((n + 1) // 2 if h else n for n, h in zip(data.shape, halved))
    out = np.empty(shape, dtype=np.complex128 if data.dtype.kind == "c" else np.float64)
    for index in product(*map(range, shape)):
        window = tuple(slice(2 * i, 2 * i + 2) if h else slice(i, i + 1) for i, h in zip(index, halved))
        out[index] = data[window].astype(out.dtype).mean()
    return out


@pytest.mark.parametrize("shape", [(4, 6, 8), (5, 7, 3), (1, 1, 9), (3, 2, 1)])
@pytest.mark.parametrize("dtype", ["i1", "u2", "i2", "i4", "u4", "f2", "f4", "c8"])
@pytest.mark.parametrize("halved", [(True, True, True), (False, True, True)])
def test_downsample_is_the_window_mean(shape: tuple[int, ...], dtype: str, halved: tuple[bool, ...]) -> None:
    rng = np.random.default_rng(sum(shape))
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    elif dtype == "c8":
        data = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)
    else:
        data = (rng.normal(size=shape) * 100).astype(dtype)
    got = downsample(data, [a for a, h in enumerate(halved) if h])
    want = _reference(data, halved)
    assert got.dtype == data.dtype and got.shape == want.shape
    if data.dtype.kind in "iu":  # the exact mean, rounded half to even: never out of range
        assert np.array_equal(got, np.rint(want).astype(dtype))
    else:
        assert np.allclose(got, want, rtol=2e-3 if dtype == "f2" else 1e-6, atol=0.05 if dtype == "f2" else 1e-5)


def test_downsample_keeps_nan_and_does_not_overflow() -> None:
    big = np.full((2, 2), np.finfo(np.float32).max, np.float32)
    assert downsample(big, [0, 1])[0, 0] == np.finfo(np.float32).max
    assert np.isnan(downsample(np.array([[np.nan, 1.0], [1.0, 1.0]], np.float32), [0, 1])[0, 0])


def test_level_shapes(settings: Callable[[str, Any], None]) -> None:
    assert level_shapes((300, 4096, 4096), (True, True, True), 4) == [(300, 4096, 4096), (150, 2048, 2048),
                                                                      (75, 1024, 1024)]
    assert level_shapes((40, 5000, 3000), (False, True, True), 1) == [(40, 5000, 3000), (40, 2500, 1500),
                                                                      (40, 1250, 750), (40, 625, 375)]
    assert level_shapes((8193, 8193), (True, True), 2)[-1] == (1025 // 2 + 1, 1025 // 2 + 1)
    settings("multiscale.bytes", 2**20)  # the coarsest level also fits the budget
    assert level_shapes((64, 512, 512), (True, True, True), 4)[-1] == (16, 128, 128)


def _volume_file(tmp_path: Path, shape: tuple[int, ...], dtype: str = "f4", image_stack: bool = False) -> Path:
    rng = np.random.default_rng(len(shape))
    data = (rng.normal(size=shape) * 50).astype(dtype)
    path = nm.write(tmp_path / "v.mrcz", data)
    if image_stack:  # ISPG 0 (word 23): an image stack, whose z is not halved
        raw = bytearray(path.read_bytes())
        struct.pack_into("<i", raw, 88, 0)
        path.write_bytes(bytes(raw))
    return path


@pytest.fixture
def small_levels(settings: Callable[[str, Any], None]) -> None:
    settings("multiscale.level_side", 8)
    multiscale._CACHE.clear()


@pytest.mark.usefixtures("small_levels")
@pytest.mark.parametrize(
    "shape, image_stack, halved",
    [((9, 37, 30), False, (True, True, True)), ((9, 37, 30), True, (False, True, True)),
     ((45, 31), False, (True, True)), ((2, 5, 20, 18), False, (False, True, True, True))],
    ids=["volume", "image-stack", "image", "volume-stack"],
)
def test_lazy_levels_equal_the_eager_pyramid(tmp_path: Path, shape: tuple[int, ...], image_stack: bool,
                                             halved: tuple[bool, ...]) -> None:
    path = _volume_file(tmp_path, shape, image_stack=image_stack)
    info = nm.open_mrc(path)
    assert multiscale.halved_axes(info) == halved
    eager = nm.read(path, multiscale=True).data
    lazy = pyramid(info)
    assert [level.shape for level in lazy] == [level.shape for level in eager]
    assert len(lazy) >= 3 and max(lazy[-1].shape[-2:]) <= 8
    for k, (got, want) in enumerate(zip(lazy, eager)):
        assert np.array_equal(np.asarray(got), want), k
        middle = tuple(n // 2 for n in want.shape[:-2])
        assert np.array_equal(got[middle], want[middle])  # one plane
        assert np.array_equal(got[middle + (slice(1, 3), slice(2, 4))], want[middle + (slice(1, 3), slice(2, 4))])
    scripted = nm.read(path, lazy=True, multiscale=True).data
    assert [type(level).__name__ for level in scripted] == ["Array"] * len(eager)
    for got, want in zip(scripted, eager):
        assert np.array_equal(got.compute(), want)


@pytest.mark.usefixtures("small_levels")
def test_a_plane_reads_only_the_planes_below_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _volume_file(tmp_path, (16, 40, 36))
    levels = pyramid(nm.open_mrc(path))
    reads: list[list[int]] = []
    original = array.read_storage
    monkeypatch.setattr(array, "read_storage", lambda info, s, *a, **k: reads.append(list(s)) or original(info, s, *a, **k))
    levels[1][3]  # level 1 plane 3 = mean of level-0 planes 6 and 7
    assert reads == [[6, 7]]
    levels[2][1]  # level 2 plane 1 = level 1 planes 2, 3 (3 is cached) = level 0 planes 4, 5
    assert reads == [[6, 7], [4, 5]]
    levels[2][1]
    assert len(reads) == 2  # cached
    reads.clear()
    tile = levels[1][5, 2:4, 3:5]  # a small region: only the rows below it, not cached
    assert reads == [[10, 11]] and tile.shape == (2, 2)


@pytest.mark.usefixtures("small_levels")
def test_cache_stays_within_its_budget(settings: Callable[[str, Any], None], tmp_path: Path) -> None:
    path = _volume_file(tmp_path, (16, 40, 36))
    plane = 20 * 18 * 4  # a level-1 plane of float32
    settings("multiscale.cache_bytes", 5 * plane)
    levels = pyramid(nm.open_mrc(path))
    for z in range(8):
        levels[1][z]
        assert multiscale._CACHE.nbytes <= 5 * plane
    assert multiscale._CACHE.nbytes > 0
