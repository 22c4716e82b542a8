"""The "Save as MRCZ" dock widget: the sampling and measuring helpers without a viewer, then the
widget docked in a real napari viewer (estimate updates, suffix follows the codec, save, errors)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("magicgui")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.plugin import widget as _widget, writer as _writer  # noqa: E402
from napari_mrcz.errors import MrczError, MrczWarning  # noqa: E402
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
    assert sample.shape == (3, 40, 50) and sample.dtype == np.float64  # kept: the estimate measures the cast
    assert sorted(seen) == [3, 4, 5]
    assert np.array_equal(sample, volume[3:6])
    band = _widget.sample_of(volume, max_bytes=10 * 50 * 8)  # less than a slice: rows of the middle one
    assert band.shape == (1, 10, 50) and np.array_equal(band[0], volume[4, 15:25])
    assert _widget.sample_of(np.ones((3, 4), np.uint8)).dtype == np.uint16  # as it would be stored
    four_d = _widget.sample_of(np.ones((2, 3, 4, 5), np.int16))
    assert four_d.shape == (6, 4, 5)


def test_sample_of_a_lazy_file_reads_its_middle_slices(tmp_path: Path) -> None:
    """Our lazy array-like has no reshape (issue 21.5): slices are read by index, only those."""
    from napari_mrcz.io.reader.multiscale import pyramid

    volume = np.random.default_rng(1).normal(size=(9, 30, 40)).astype(np.float32)
    levels = pyramid(nm.open_mrc(nm.write(tmp_path / "v.mrcz", volume)))
    assert np.array_equal(_widget.sample_of(levels[0], max_bytes=3 * 30 * 40 * 4), volume[3:6])


@pytest.mark.parametrize(("text", "ndim", "expected"), [("1.36", 3, (1.36,) * 3), ("2, 1, 1", 3, (2.0, 1.0, 1.0)),
                                                        ("3 4", 2, (3.0, 4.0)), ("5", 4, (5.0,) * 3)])
def test_parse_voxel_size(text: str, ndim: int, expected: tuple) -> None:
    assert _widget.parse_voxel_size(text, ndim) == expected


@pytest.mark.parametrize("text", ["", "0", "-1", "nan", "1, 2", "a", "inf"])
def test_parse_voxel_size_refuses(text: str) -> None:
    with pytest.raises(MrczError, match="voxel size"):
        _widget.parse_voxel_size(text, 3)


def test_elide_keeps_the_file_name() -> None:
    long = "/very/long/folder/" * 10 + "tomogram_bin4.mrcz"
    short = _widget.elide(long)
    assert len(short) == _widget.ELIDE_CHARS and short.endswith("tomogram_bin4.mrcz") and "…" in short
    assert _widget.elide("a.mrcz") == "a.mrcz"


def saved(widget: Any, qtbot: Any) -> Any:
    """Start the widget's save and wait for its worker to finish."""
    worker = widget.save()
    if worker is not None:
        qtbot.waitUntil(lambda: widget.worker is None, timeout=20000)
    return worker


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
    # next to the source file, never over it (nor over any existing file)
    assert widget._path.value == testdata / "mrcz" / "movie_int8_zstd1-2.mrcz"

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
    qtbot.waitUntil(lambda: widget.worker is None, timeout=20000)
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
    saved(widget, qtbot)
    assert widget._status.value.startswith("not saved:")


@pytest.mark.slow
def test_widget_defaults_from_the_environment(
    make_napari_viewer: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, qtbot: Any
) -> None:
    monkeypatch.setenv(_writer.ENV_COMPRESSOR, "lz4hc")
    monkeypatch.setenv(_writer.ENV_CLEVEL, "6")
    monkeypatch.setenv("HOME", str(tmp_path))  # a layer made in napari: proposed in the home folder
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Save as MRCZ")
    assert (widget._compressor.value, widget._clevel.value) == ("lz4hc", 6)
    assert widget.estimate is None and widget._estimate_label.value == "no image layer"
    assert widget.save() is None and "choose an image layer" in widget._status.value
    viewer.add_image(np.arange(60, dtype=np.float32).reshape(3, 4, 5), name="ramp", scale=(2, 1, 1), units="nm")
    assert widget._path.value == tmp_path / "ramp.mrcz"
    saved(widget, qtbot)
    assert nm.read(tmp_path / "ramp.mrcz").voxel_size == (20.0, 10.0, 10.0)
    assert nm.open_mrc(tmp_path / "ramp.mrcz").header.compressor == "lz4hc"


@pytest.mark.slow
def test_widget_saves_every_layer_kind_and_cancels_cleanly(make_napari_viewer: Any, tmp_path: Path, qtbot: Any,
                                                           settings: Any) -> None:
    """Multiscale (issue 21.5: level 0 streamed), lazy and Labels layers save; a float64 layer warns with
    its largest rounding error; the voxel size typed is written; Cancel leaves no file; long paths and
    messages do not widen the dock."""
    settings("multiscale.side", 32)
    settings("multiscale.level_side", 16)
    rng = np.random.default_rng(2)
    volume = rng.normal(size=(6, 48, 40)).astype(np.float32)
    source = nm.write(tmp_path / "tomo.mrcz", volume, voxel_size=4.0)
    viewer = make_napari_viewer(show=True)
    (pyramid,) = viewer.open(str(source), plugin=PLUGIN)
    assert pyramid.multiscale
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Save as MRCZ")
    dock_width = widget.native.parentWidget().width()
    assert widget._path.value == tmp_path / "tomo-2.mrcz"  # next to its source, not over it
    assert widget._voxel.value == "4"
    widget._voxel.value = "2, 3, 3"  # a corrected voxel size
    assert np.allclose(pyramid.scale, (2.0, 3.0, 3.0)) and [str(u) for u in pyramid.units] == ["angstrom"] * 3
    saved(widget, qtbot)
    copy = nm.read(tmp_path / "tomo-2.mrcz")
    assert np.array_equal(copy.data, volume) and copy.voxel_size == (2.0, 3.0, 3.0)

    labels = viewer.add_labels((volume > 1).astype(np.int64) * 70000, name="mask")
    assert widget._layer.value.name == "mask"
    widget._path.value = tmp_path / "mask.mrcz"
    saved(widget, qtbot)
    again = nm.open_mrc(tmp_path / "mask.mrcz")
    assert again.header.mrc_mode == 7 and np.array_equal(nm.read(again).data, labels.data)

    viewer.add_image(rng.normal(size=(4, 16, 16)), name="f64", metadata={"obj": object()})  # float64, no JSON
    widget._path.value = tmp_path / ("a-very-long-folder-name" * 8) / "f64.mrcz"
    widget._path.value.parent.mkdir()
    from napari.utils.notifications import notification_manager

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        saved(widget, qtbot)
    # the save thread hands its findings back as values (no warning, which napari would relay) ...
    assert not [w for w in caught if issubclass(w.category, MrczWarning)], [str(w.message) for w in caught]
    shown = [str(n.message) for n in notification_manager.records]  # ... and the widget shows them
    assert any("f64.mrcz: float64 values stored as float32" in m and "largest rounding error" in m for m in shown), shown
    assert "napari-mrcz: f64: layer metadata 'obj' cannot be stored as JSON and is not written" in shown
    assert "saved f64.mrcz" in widget._status.value and "float64 values stored as float32" in widget._status.value
    qtbot.wait(50)
    assert widget.native.parentWidget().width() <= dock_width + 5  # the dock keeps its width

    viewer.add_image(np.zeros((400, 64, 64), np.float32), name="big")
    target = tmp_path / "big.mrcz"
    widget._compressor.value = "zlib"
    widget._clevel.value = 9
    widget._path.value = target
    worker = widget.save()
    assert worker is not None and widget._cancel_button.enabled and not widget._save_button.enabled
    widget.cancel()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=20000)
    assert "cancelled" in widget._status.value and not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".big") or "tmp" in p.name]  # no partial file
