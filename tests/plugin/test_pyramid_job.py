"""napari opens a big file without a stored pyramid: its levels are computed into the cache in the
background, and the layer's levels read the cache from then on; a file with a stored pyramid (or an
entry in the cache) starts nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

import napari_mrcz as nm
from napari_mrcz.io.reader.stored import StoredLevel
from napari_mrcz.plugin.reader import file_layers


def _background() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "napari-mrcz-pyramid"]


def test_background_build_then_cache(tmp_path: Path, settings) -> None:
    settings("multiscale.side", 64)
    settings("multiscale.level_side", 32)
    settings("pyramid.cache_dir", str(tmp_path / "cache"))
    data = np.random.default_rng(0).integers(0, 900, size=(10, 150, 120)).astype(np.uint16)
    nm.write(tmp_path / "plain.mrc", data)
    nm.write(tmp_path / "stored.mrcz", data)
    (levels, _kwargs, _kind), = file_layers(nm.open_mrc(tmp_path / "plain.mrc"))
    for thread in _background():
        thread.join(60)
    assert levels[1].upgrade.found is not None
    assert np.array_equal(np.asarray(levels[0]), data)
    (again, _kwargs, _kind), = file_layers(nm.open_mrc(tmp_path / "plain.mrc"))
    (stored, _kwargs, _kind), = file_layers(nm.open_mrc(tmp_path / "stored.mrcz"))
    assert not _background()
    for a, b, c in zip(levels[1:], again[1:], stored[1:]):
        assert isinstance(b, StoredLevel) and isinstance(c, StoredLevel)
        assert np.array_equal(np.asarray(a), np.asarray(b)) and np.array_equal(np.asarray(b), np.asarray(c))


def test_background_build_in_a_real_window(make_napari_viewer, qtbot, tmp_path: Path, settings) -> None:
    """In a napari window the build runs as a napari worker whose progress bar napari keeps on the GUI
    thread (a bar made on another thread aborts Qt); the layer reads the cache once it is built."""
    settings("multiscale.side", 64)
    settings("multiscale.level_side", 32)
    settings("pyramid.cache_dir", str(tmp_path / "cache"))
    settings("reader.lazy_bytes", 0)
    data = np.random.default_rng(1).integers(0, 900, size=(10, 150, 120)).astype(np.uint16)
    nm.write(tmp_path / "plain.mrc", data)
    viewer = make_napari_viewer(show=True)
    (layer,) = viewer.open(str(tmp_path / "plain.mrc"), plugin="napari-mrcz")
    assert not _background()  # a worker of napari's thread pool, not a thread of ours
    qtbot.waitUntil(lambda: layer.data[1].upgrade.found is not None, timeout=60_000)
    qtbot.wait(200)
    assert np.array_equal(np.asarray(layer.data[1]), np.asarray(nm.read(tmp_path / "plain.mrc", lazy=True,
                                                                          multiscale=True).data[1]))
