"""MrcArray, the array-like napari gets for lazy files: numpy's indexing, views that read nothing, any
stored axis order, 2-D images, 4-D volume stacks and complex amplitude, checked against eager reads."""

from __future__ import annotations

import pickle
import struct
from itertools import permutations
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.io.reader import array
from napari_mrcz.io.reader.array import MrcArray


def _random_key(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[Any, ...]:
    key: list[Any] = []
    arrays = 0
    for n in shape:
        kind = rng.choice(["int", "slice", "slice", "all", "array", "bool"])
        if kind == "int":
            key.append(int(rng.integers(-n, n)))
        elif kind == "slice":
            lo, hi = sorted(int(v) for v in rng.integers(-n - 2, n + 2, 2))
            step = int(rng.choice([1, 1, 2, 3, -1, -2]))
            key.append(slice(lo, hi, step) if step > 0 else slice(hi, lo, step))
        elif kind == "all" or arrays:  # one advanced index at a time keeps numpy's rules simple to read
            key.append(slice(None))
        elif kind == "array":
            arrays += 1
            key.append(rng.integers(-n, n, size=int(rng.integers(1, 4))))
        else:
            arrays += 1
            key.append(rng.random(n) < 0.5)
    if rng.random() < 0.2:
        key.insert(int(rng.integers(0, len(key) + 1)), None)
    if rng.random() < 0.2 and len(key) > 1:
        at = int(rng.integers(0, len(key)))
        key = key[:at] + [Ellipsis] + key[at + 1 :]
    return tuple(key)


def _check_indexing(lazy: Any, truth: np.ndarray, seed: int, cases: int = 150) -> None:
    rng = np.random.default_rng(seed)
    assert lazy.shape == truth.shape and lazy.ndim == truth.ndim and lazy.size == truth.size
    assert np.array_equal(np.asarray(lazy), truth)
    for _ in range(cases):
        key = _random_key(rng, truth.shape)
        want = truth[key]
        got = lazy[key]
        assert np.array_equal(np.asarray(got), want), key
        assert np.asarray(got).dtype == want.dtype
        if isinstance(got, array.LazyArray) and got.size:  # a view: index it again
            again = _random_key(rng, got.shape)
            assert np.array_equal(np.asarray(got[again]), want[again]), (key, again)


def _with_axis_order(path: Path, order: tuple[int, int, int]) -> Path:
    """The file with MAPC/MAPR/MAPS (words 17-19) set to ``order``: same bytes, read as another order."""
    raw = bytearray(path.read_bytes())
    struct.pack_into("<3i", raw, 64, *order)
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("compressor", ["zstd", None])
@pytest.mark.parametrize("order", list(permutations((1, 2, 3))))
def test_any_stored_axis_order(tmp_path: Path, compressor: str | None, order: tuple[int, int, int]) -> None:
    stored = np.random.default_rng(1).normal(size=(5, 7, 9)).astype(np.float32)
    path = _with_axis_order(nm.write(tmp_path / "v.mrcz", stored, compressor=compressor), order)
    truth = nm.read(path).data
    _check_indexing(MrcArray(nm.open_mrc(path)), truth, seed=sum(order), cases=60)


@pytest.mark.parametrize("compressor", ["lz4", None])
def test_volume_stack_image_and_stack(tmp_path: Path, compressor: str | None) -> None:
    rng = np.random.default_rng(2)
    for name, data in {
        "stack4d": rng.integers(0, 500, size=(3, 4, 6, 5)).astype(np.uint16),
        "image": rng.normal(size=(33, 20)).astype(np.float32),
        "volume": rng.integers(-100, 100, size=(6, 40, 12)).astype(np.int8),
    }.items():
        path = nm.write(tmp_path / f"{name}.mrc", data, compressor=compressor)
        lazy = MrcArray(nm.open_mrc(path))
        assert lazy.shape == data.shape and lazy.dtype == data.dtype
        _check_indexing(lazy, data, seed=len(name))


def test_complex_amplitude(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    data = (rng.normal(size=(4, 8, 6)) + 1j * rng.normal(size=(4, 8, 6))).astype(np.complex64)
    path = nm.write(tmp_path / "fft.mrcz", data)
    lazy = MrcArray(nm.open_mrc(path), amplitude=True)
    assert lazy.dtype == np.float32
    _check_indexing(lazy, np.abs(data), seed=4, cases=40)
    _check_indexing(MrcArray(nm.open_mrc(path)), data, seed=5, cases=40)


def test_corpus_file_with_axis_order_312(testdata: Path) -> None:
    path = testdata / "real" / "emd_3001.map.gz"
    truth = nm.read(path).data
    _check_indexing(MrcArray(nm.open_mrc(path)), truth, seed=6, cases=40)


def test_views_read_nothing_and_integers_read_only_their_slices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = np.arange(6 * 10 * 8, dtype=np.float32).reshape(6, 10, 8)
    lazy = MrcArray(nm.open_mrc(nm.write(tmp_path / "v.mrcz", data)))
    reads: list[list[int]] = []
    original = array.read_storage
    monkeypatch.setattr(array, "read_storage", lambda info, s, *a, **k: reads.append(list(s)) or original(info, s, *a, **k))
    tile = lazy[:, 2:9, 1:5]  # what napari does first with a multiscale level
    assert isinstance(tile, MrcArray) and tile.shape == (6, 7, 4) and reads == []
    assert np.array_equal(tile[4], data[4, 2:9, 1:5]) and reads == [[4]]
    assert float(lazy[1, 2, 3]) == data[1, 2, 3] and reads[-1] == [1]
    assert np.array_equal(lazy[[5, 0, 5]], data[[5, 0, 5]]) and sorted(reads[-1]) == [0, 5]  # each once


@pytest.mark.parametrize(
    "key, error",
    [((6,), IndexError), ((0, 0, 0, 0), IndexError), ((..., ...), IndexError), ((1.5,), IndexError),
     ((np.ones(5, bool),), IndexError), (([0, 9],), IndexError)],
)
def test_bad_indices_raise_like_numpy(tmp_path: Path, key: tuple, error: type) -> None:
    lazy = MrcArray(nm.open_mrc(nm.write(tmp_path / "v.mrcz", np.zeros((6, 4, 3), np.float32))))
    with pytest.raises(error):
        lazy[key]
    with pytest.raises(error):
        np.zeros((6, 4, 3))[key]


def test_pickles_small_and_reads_in_another_process_state(tmp_path: Path) -> None:
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    lazy = MrcArray(nm.open_mrc(nm.write(tmp_path / "v.mrcz", data)))[1:3]
    blob = pickle.dumps(lazy)
    assert len(blob) < 4096
    assert np.array_equal(np.asarray(pickle.loads(blob)), data[1:3])
