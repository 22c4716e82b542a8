"""The per-user cache of computed pyramid levels: built in one pass, found again on the next open
(also by arrays already handed out), keyed by the file's identity, bounded, honouring XDG_CACHE_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.io.reader.multiscale import LevelArray, pyramid
from napari_mrcz.io.reader.pyramid_cache import SUFFIX, cache_dir, find_cached
from napari_mrcz.io.reader.stored import StoredLevel
from napari_mrcz.io.writer.pyramid_cache import build_cached

RNG = np.random.default_rng(2)


@pytest.fixture(autouse=True)
def small_levels(settings, tmp_path: Path) -> Path:
    settings("multiscale.level_side", 32)
    settings("pyramid.cache_dir", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _plain(path: Path, shape=(11, 130, 90), dtype="int16") -> np.ndarray:
    data = RNG.integers(-500, 500, size=shape).astype(dtype)
    nm.write(path, data)
    return data


@pytest.mark.parametrize("name", ["plain.mrc", "nopyr.mrcz"])
def test_second_open_reads_the_cache(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    data = _plain(path) if name.endswith(".mrc") else None
    if data is None:
        nm.write(path, RNG.normal(size=(9, 100, 120)).astype("float32"), pyramid=False)
    levels = pyramid(nm.open_mrc(path))
    truth = [np.asarray(level) for level in levels]
    assert all(isinstance(level, LevelArray) for level in levels[1:])
    steps = []
    entry = build_cached(nm.open_mrc(path), progress=lambda done, total: steps.append((done, total)))
    assert entry is not None and entry.parent == cache_dir() and steps[-1][0] == steps[-1][1]
    assert levels[1].upgrade.refresh()  # the arrays napari already holds switch to the cache
    for level, want in zip(levels, truth):
        assert np.array_equal(np.asarray(level), want)
    again = pyramid(nm.open_mrc(path))
    assert all(isinstance(level, StoredLevel) for level in again[1:])
    for level, want in zip(again, truth):
        assert np.array_equal(np.asarray(level), want)
        assert np.array_equal(level[..., -1], want[..., -1])


def test_changed_file_is_not_served_from_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "a.mrc"
    _plain(path)
    build_cached(nm.open_mrc(path))
    new = _plain(path)  # same shape and size, new values and time
    levels = pyramid(nm.open_mrc(path))
    assert isinstance(levels[1], LevelArray) and find_cached(nm.open_mrc(path)) is None
    assert np.array_equal(np.asarray(levels[0]), new)


def test_damaged_entry_is_removed(tmp_path: Path, small_levels: Path) -> None:
    path = tmp_path / "a.mrc"
    _plain(path)
    entry = build_cached(nm.open_mrc(path))
    raw = bytearray(entry.read_bytes())
    raw[20] ^= 0xFF
    entry.write_bytes(bytes(raw))
    assert find_cached(nm.open_mrc(path)) is None and not entry.exists()


def test_least_recently_used_go_first(tmp_path: Path, settings, small_levels: Path) -> None:
    entries = []
    for i in range(3):
        _plain(tmp_path / f"{i}.mrc")
        entries.append(build_cached(nm.open_mrc(tmp_path / f"{i}.mrc")))
        os.utime(entries[-1], ns=(i * 10**9, i * 10**9))
    find_cached(nm.open_mrc(tmp_path / "0.mrc"))  # used now: newest
    settings("pyramid.cache_bytes", entries[0].stat().st_size * 2 + entries[1].stat().st_size // 2)
    _plain(tmp_path / "3.mrc")
    build_cached(nm.open_mrc(tmp_path / "3.mrc"))
    left = sorted(p.name for p in small_levels.glob("*" + SUFFIX))
    assert entries[0].name in left and entries[1].name not in left and entries[2].name not in left


def test_cache_off_and_xdg(tmp_path: Path, settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _plain(tmp_path / "a.mrc")
    settings("pyramid.cache_dir", None)
    assert build_cached(nm.open_mrc(tmp_path / "a.mrc")) is None
    settings("pyramid.cache_dir", "auto")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and not hasattr(os, "uname") or os.uname().sysname == "Linux":
        assert cache_dir() == tmp_path / "xdg" / "napari-mrcz" / "pyramids"
