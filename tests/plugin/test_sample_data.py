"""The sample tomogram: deterministic, written once as MRCZ, opened lazily with physical scale; and the
screenshot of it in a real viewer with the scale bar on (saved to test-artifacts/viewer.png)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.plugin import sample_data as _sample_data  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sample")


@pytest.fixture(autouse=True)
def _sample_in_tmp(monkeypatch: pytest.MonkeyPatch, sample_dir: Path) -> None:
    monkeypatch.setenv("NAPARI_MRCZ_SAMPLE_DIR", str(sample_dir))


def test_generation_is_deterministic() -> None:
    a = _sample_data.make_tomogram((8, 32, 32))
    b = _sample_data.make_tomogram((8, 32, 32))
    assert a.dtype == np.float32 and np.array_equal(a, b)
    assert not np.array_equal(a, _sample_data.make_tomogram((8, 32, 32), seed=1))


@pytest.mark.slow
def test_sample_file_is_written_once(sample_dir: Path) -> None:
    path = _sample_data.write_sample()
    assert path == sample_dir / _sample_data.FILE_NAME
    first = (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    assert _sample_data.write_sample() == path
    assert (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()) == first
    info = nm.open_mrc(path)
    assert info.shape == _sample_data.SHAPE and info.header.compressor == "zstd"
    assert info.voxel_size == (13.6, 13.6, 13.6) and info.header.voltage == 300.0
    assert info.compressed_nbytes < info.nbytes / 2  # it compresses
    other = _sample_data.write_sample(sample_dir / "again.mrcz")  # same bytes from the same seed
    assert other.read_bytes()[1024:] == path.read_bytes()[1024:]


@pytest.mark.slow
def test_open_sample_in_a_viewer_model() -> None:
    from napari.components import ViewerModel

    npe2.PluginManager.instance().discover()
    viewer = ViewerModel()
    (layer,) = viewer.open_sample(plugin="napari-mrcz", sample="tomogram")
    assert type(layer.data).__name__ == "MrcArray" and not layer.multiscale
    assert layer.data.shape == _sample_data.SHAPE
    assert np.allclose(layer.scale, 1.36) and [str(u) for u in layer.units] == ["nanometer"] * 3
    assert layer.metadata["mrcz"]["lazy"] is True
    assert layer.metadata["mrcz"]["metadata"]["seed"] == _sample_data.SEED
    low, high = layer.contrast_limits
    middle = np.asarray(layer.data[_sample_data.SHAPE[0] // 2])
    assert middle.min() <= low < high <= middle.max()


def _scale_bar(viewer: Any) -> Any:
    canvas = getattr(viewer, "canvas", None)  # napari >= 0.9; older: viewer.scale_bar
    return canvas.overlays["scale_bar"] if canvas is not None else viewer.scale_bar


@pytest.mark.slow
def test_screenshot_with_scale_bar(make_napari_viewer: Any, qtbot: Any) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1280, 800)
    (layer,) = viewer.open_sample("napari-mrcz", "tomogram")
    _, widget = viewer.window.add_plugin_dock_widget("napari-mrcz", "Save as MRCZ")
    bar = _scale_bar(viewer)
    bar.visible, bar.ticks, bar.font_size = True, True, 14
    viewer.dims.set_point(0, (_sample_data.SHAPE[0] // 2) * layer.scale[0])
    qtbot.wait(200)  # let the dock widget take its room before fitting the view
    viewer.reset_view()
    qtbot.wait(200)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = viewer.screenshot(str(ARTIFACTS / "viewer.png"), canvas_only=False)
    assert (ARTIFACTS / "viewer.png").stat().st_size > 10_000
    assert shot.shape[0] >= 600 and shot.shape[1] >= 1000
    assert shot[..., :3].std() > 20  # a picture, not a blank window
    assert bar.visible and [str(u) for u in layer.units] == ["nanometer"] * 3
    assert widget.estimate is not None and widget.estimate.ratio > 1.5
    canvas = viewer.screenshot(canvas_only=True)
    assert canvas[..., :3].std() > 20


def test_cache_folder_is_the_users_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No fixed shared temp folder: the user's cache (XDG_CACHE_HOME honoured), made private; a folder
    others may write in, or that belongs to someone else, is refused with the way out named."""
    import os
    import stat

    from napari_mrcz.errors import MrczError

    monkeypatch.delenv("NAPARI_MRCZ_SAMPLE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = _sample_data.sample_path()
    assert path.is_relative_to(tmp_path / "cache" / "napari-mrcz") and not path.parent.exists()
    assert _sample_data.private_folder(path.parent) == path.parent
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(MrczError, match="NAPARI_MRCZ_SAMPLE_DIR"):
        _sample_data.private_folder(shared)
    if os.getuid() == 0:  # root can give a folder away: one made by another user first
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o755)
        os.chown(theirs, 12345, 12345)
        with pytest.raises(MrczError, match="another user"):
            _sample_data.private_folder(theirs)
