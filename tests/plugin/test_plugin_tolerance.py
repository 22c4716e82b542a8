"""Tolerance in napari: File > Save stays lossless unless the plugin setting (or NAPARI_MRCZ_TOLERANCE)
says otherwise, plain .mrc saves always stay lossless, and the "Save as MRCZ" widget's tolerance field
shows the ratio, speed and largest error live and saves with the number it showed."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("magicgui")
npe2 = pytest.importorskip("npe2")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.errors import MrczError  # noqa: E402
from napari_mrcz.plugin import writer as _writer  # noqa: E402
from checks import PLUGIN  # noqa: E402


NOISY = (np.linspace(0, 5, 64)[None, None, :] + np.random.default_rng(9).normal(0, 0.7, (4, 48, 64))).astype(np.float32)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (_writer.ENV_COMPRESSOR, _writer.ENV_CLEVEL, _writer.ENV_TOLERANCE):
        monkeypatch.delenv(name, raising=False)


def _error(path: str, original: np.ndarray) -> float:
    return float(np.abs(nm.read(path).data.astype(np.float64) - original).max())


def test_setting_quantizes_mrcz_saves_only(plugin_settings: Any, npe2pm: Any, tmp_path: Path) -> None:
    from napari.settings import get_plugin_settings

    npe2pm.register(npe2.PluginManifest.from_distribution(PLUGIN))
    assert _writer.default_tolerance() == 0.0  # out of the box: lossless
    (lossless,) = _writer.write_mrcz(str(tmp_path / "a"), NOISY, {"name": "a"})
    assert nm.read(lossless).data.tobytes() == NOISY.tobytes() and nm.read(lossless).tolerance is None
    settings = get_plugin_settings(PLUGIN).compression
    settings.tolerance = 0.05
    assert _writer.default_tolerance() == 0.05
    (lossy,) = _writer.write_mrcz(str(tmp_path / "b"), NOISY, {"name": "b"})
    assert nm.read(lossy).tolerance == 0.05 and 0 < _error(lossy, NOISY) <= 0.05
    assert Path(lossy).stat().st_size < Path(lossless).stat().st_size / 2
    (plain,) = _writer.write_mrc(str(tmp_path / "c"), NOISY, {"name": "c"})
    assert nm.read(plain).data.tobytes() == NOISY.tobytes()  # plain MRC: nothing to gain, stays exact
    folder = _writer.write_mrcz_folder(str(tmp_path / "f"), [(NOISY, {"name": "x"}, "image")])
    assert nm.read(folder[0]).tolerance == 0.05
    with pytest.raises(ValueError):
        settings.tolerance = -1


def test_environment_overrides_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(_writer.ENV_TOLERANCE, "0.1")
    assert _writer.default_tolerance() == 0.1
    monkeypatch.setenv(_writer.ENV_TOLERANCE, "auto:1/8")
    assert _writer.default_tolerance() == Fraction(1, 8)
    (written,) = _writer.write_mrcz(str(tmp_path / "auto.mrcz"), NOISY, {"name": "auto"})
    assert 0.08 < nm.read(written).tolerance < 0.096  # 1/8 of the layer's noise (0.7)
    assert _error(written, NOISY) <= nm.read(written).tolerance
    monkeypatch.setenv(_writer.ENV_TOLERANCE, "lots")
    with pytest.raises(MrczError, match="NAPARI_MRCZ_TOLERANCE='lots'"):
        _writer.default_tolerance()


@pytest.mark.slow
def test_widget_tolerance_field(make_napari_viewer: Any, tmp_path: Path, qtbot: Any) -> None:
    viewer = make_napari_viewer()
    viewer.add_image(NOISY, name="noisy")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Save as MRCZ")
    assert widget._tolerance.value == "0" and widget.tolerance is None
    lossless = widget.estimate
    assert lossless.max_error is None and "max error" not in widget._estimate_label.value

    widget._tolerance.value = "0.05"
    lossy = widget.estimate
    assert widget.tolerance == 0.05 and 0 < lossy.max_error <= 0.05
    assert lossy.ratio > 2 * lossless.ratio and lossy.mb_per_s > 0
    label = widget._estimate_label.value
    assert "max error" in label and "≤ 0.05" in label and "MB/s" in label and "×" in label

    widget._tolerance.value = "auto"
    assert 0.04 < widget.tolerance < 0.048 and "(auto)" in widget._estimate_label.value
    shown = widget.tolerance
    widget._path.value = tmp_path / "noisy.mrcz"
    assert widget.save() is not None  # a napari thread_worker
    qtbot.waitUntil(lambda: widget.worker is None, timeout=20000)
    written = tmp_path / "noisy.mrcz"
    assert written.is_file() and nm.read(written).tolerance == shown  # what it showed
    assert _error(str(written), NOISY) <= shown

    widget._tolerance.value = "much"
    assert widget.estimate is None and "cannot estimate" in widget._estimate_label.value
    assert widget.save() is None and "not saved" in widget._status.value and "much" in widget._status.value

    widget._tolerance.value = "0.05"
    widget._compressor.value = "none"  # plain MRC from the widget: rounded as asked
    assert widget.estimate.ratio == 1.0 and widget.estimate.max_error <= 0.05

    viewer.add_image(np.arange(48 * 64, dtype=np.uint16).reshape(48, 64), name="counts")
    widget._layer.value = viewer.layers["counts"]
    assert "integers: stored exactly" in widget._estimate_label.value


def test_the_recorded_bound_survives_napari_saves(tmp_path: Path) -> None:
    """Open a lossy file as a layer and save it again (lossless, then lossy): the file keeps the bound."""
    from napari_mrcz.plugin.reader import get_reader

    nm.write(tmp_path / "0.mrcz", NOISY, tolerance=0.05)
    path = tmp_path / "0.mrcz"
    for i in range(1, 13):
        (layer,) = get_reader(str(path))(str(path))
        data, attributes, kind = _as_tuple(layer)
        assert kind == "image"
        (saved,) = _writer.write_mrcz(str(tmp_path / f"{i}"), data, attributes)
        path = Path(saved)
        assert nm.read(path).tolerance == 0.05, nm.open_mrc(path).header.labels
    (layer,) = get_reader(str(path))(str(path))
    data, attributes, _ = _as_tuple(layer)
    again = _writer.save_image(tmp_path / "lossy.mrcz", data, attributes, compressor="zstd", tolerance=0.02)
    assert nm.read(again).tolerance == pytest.approx(0.07)
    assert _error(str(again), NOISY) <= nm.read(again).tolerance


def _as_tuple(layer: Any) -> tuple[Any, dict[str, Any], str]:
    """What napari hands a writer for a layer (readers return Layer objects in napari >= 0.9)."""
    return layer.as_layer_data_tuple() if hasattr(layer, "as_layer_data_tuple") else layer
