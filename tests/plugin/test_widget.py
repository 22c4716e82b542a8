"""The "Save as MRCZ" dock widget: the sampling and measuring helpers without a viewer, then the
widget docked in a real napari viewer (estimate updates, suffix follows the codec, save, errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("magicgui")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.plugin import widget as _widget, writer as _writer  # noqa: E402
from napari_mrcz.errors import MrczError  # noqa: E402
from checks import PLUGIN  # noqa: E402


@pytest.fixture(autouse=True)
def _no_env_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_writer.ENV_COMPRESSOR, raising=False)
    monkeypatch.delenv(_writer.ENV_CLEVEL, raising=False)


def test_sample_reads_only_the_middle_of_a_lazy_array() -> None:
    da = pytest.importorskip("dask.array")
    seen: list[int] = []

    def block(x: np.ndarray, block_info: Any = None) -> np.ndarray:
        seen.append(block_info[None]["chunk-location"][0])
        return x

    volume = np.arange(10 * 40 * 50, dtype=np.float64).reshape(10, 40, 50)
    lazy = da.from_array(volume, chunks=(1, 40, 50)).map_blocks(block, dtype=volume.dtype)
    sample = _widget.sample_of(lazy, max_bytes=3 * 40 * 50 * 8)
    assert sample.shape == (3, 40, 50) and sample.dtype == np.float32  # stored as float32
    assert sorted(seen) == [3, 4, 5]
    assert np.array_equal(sample, volume[3:6].astype(np.float32))
    band = _widget.sample_of(volume, max_bytes=10 * 50 * 8)  # less than a slice: rows of the middle one
    assert band.shape == (1, 10, 50) and np.array_equal(band[0], volume[4, 15:25])
    assert _widget.sample_of(np.ones((3, 4), np.uint8)).dtype == np.uint16  # as it would be stored
    four_d = _widget.sample_of(np.ones((2, 3, 4, 5), np.int16))
    assert four_d.shape == (6, 4, 5)


def test_measure() -> None:
    smooth = np.tile(np.arange(256, dtype=np.uint16), (4, 64, 1))
    plain = _widget.measure(smooth, "none", 1)
    assert plain == _widget.Estimate(1.0, None, smooth.nbytes)
    zstd = _widget.measure(smooth, "zstd", 5)
    assert zstd.ratio > 5 and zstd.mb_per_s > 0
    with pytest.raises(MrczError, match="clevel"):
        _widget.measure(smooth, "zstd", 12)


@pytest.mark.slow
def test_widget_estimates_and_saves(make_napari_viewer: Any, testdata: Path, tmp_path: Path, qtbot: Any) -> None:
    viewer = make_napari_viewer()
    (movie,) = viewer.open(str(testdata / "mrcz" / "movie_int8_zstd1.mrcz"), plugin=PLUGIN)
    viewer.add_points(np.zeros((1, 3)))
    viewer.add_image(np.zeros((4, 5, 3), np.uint8), rgb=True, name="rgb")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Save as MRCZ")
    assert [name for name, _ in widget._image_layers()] == ["movie_int8_zstd1"]  # no points, no RGB
    assert widget._layer.value.name == "movie_int8_zstd1"
    assert (widget._compressor.value, widget._clevel.value) == ("zstd", 1)  # the settings' defaults
    assert widget._path.value == Path.cwd() / "movie_int8_zstd1.mrcz"

    zstd1 = widget.estimate
    assert zstd1 is not None and zstd1.ratio > 1.5 and zstd1.mb_per_s > 0
    assert "×" in widget._estimate_label.value and "MB/s" in widget._estimate_label.value
    widget._compressor.value = "lz4"
    assert widget.estimate is not None and widget.estimate.ratio != zstd1.ratio
    widget._clevel.value = 9
    lz4_9 = widget.estimate
    widget._compressor.value = "none"
    assert widget.estimate.ratio == 1.0 and widget.estimate.mb_per_s is None
    assert widget._path.value.suffix == ".mrc" and not widget._clevel.enabled
    widget._compressor.value = "lz4"
    assert widget._path.value.suffix == ".mrcz" and widget._clevel.enabled

    widget._path.value = tmp_path / "movie.mrcz"
    widget._save_button.clicked.emit()
    written = tmp_path / "movie.mrcz"
    assert written.is_file() and "saved movie.mrcz" in widget._status.value
    image = nm.read(written)
    assert np.array_equal(image.data, movie.data) and image.voxel_size == (1.0, 0.65, 0.65)
    assert image.metadata == {"detector": "K3", "dose_e_per_A2": 1.2}
    assert image.header.compressor == "lz4"
    info = nm.open_mrc(written)
    actual = info.nbytes / info.compressed_nbytes  # every slice was sampled: estimate ~ result
    assert abs(np.log(lz4_9.ratio / actual)) < 0.1

    viewer.add_image(np.ones((3, 4), np.float32), name="fresh")
    qtbot.waitUntil(lambda: widget._layer.value is not None and widget._layer.value.name == "fresh", timeout=2000)
    assert widget._path.value == tmp_path / "movie.mrcz"  # a path the user chose is kept

    widget._path.value = tmp_path / "missing" / "x.mrcz"
    assert widget.save() is None and widget._status.value.startswith("not saved:")


@pytest.mark.slow
def test_widget_defaults_from_the_environment(
    make_napari_viewer: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(_writer.ENV_COMPRESSOR, "lz4hc")
    monkeypatch.setenv(_writer.ENV_CLEVEL, "6")
    monkeypatch.chdir(tmp_path)
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Save as MRCZ")
    assert (widget._compressor.value, widget._clevel.value) == ("lz4hc", 6)
    assert widget.estimate is None and widget._estimate_label.value == "no image layer"
    assert widget.save() is None and "choose an image layer" in widget._status.value
    viewer.add_image(np.arange(60, dtype=np.float32).reshape(3, 4, 5), name="ramp", scale=(2, 1, 1), units="nm")
    assert widget._path.value == tmp_path / "ramp.mrcz"
    assert widget.save() == tmp_path / "ramp.mrcz"
    assert nm.read(tmp_path / "ramp.mrcz").voxel_size == (20.0, 10.0, 10.0)
    assert nm.open_mrc(tmp_path / "ramp.mrcz").header.compressor == "lz4hc"
