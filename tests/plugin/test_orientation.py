"""The y-axis setting (napari_mrcz.plugin.orientation) in a headless ViewerModel: y up like IMOD and
ChimeraX by default, from the plugin settings or NAPARI_MRCZ_Y_AXIS, applied once per viewer, never
moving data or coordinates. The real-window screenshots are in test_display_gui.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.errors import MrczError, MrczWarning  # noqa: E402
from napari_mrcz.plugin import orientation as _orientation  # noqa: E402
from checks import PLUGIN  # noqa: E402


@pytest.fixture
def image(tmp_path: Path) -> Path:
    return nm.write(tmp_path / "image.mrc", np.arange(12, dtype=np.float32).reshape(3, 4), voxel_size=2.0,
                    origin=(10.0, 20.0), compressor=None)


def orientation(viewer: Any) -> tuple[str, ...]:
    return tuple(map(str, viewer.scene.camera.orientation))


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_orientation.ENV_Y_AXIS, raising=False)


def test_y_up_by_default_and_coordinates_unchanged(viewer: Any, image: Path) -> None:
    default = orientation(viewer)
    (layer,) = viewer.open(str(image), plugin=PLUGIN)
    assert orientation(viewer) == ("towards", "up", "right") != default
    assert np.allclose(layer.data_to_world((2, 3)), (10 + 2 * 2, 20 + 3 * 2))  # the layer is not flipped
    assert np.allclose(layer.scale, (2, 2)) and np.allclose(layer.translate, (10, 20))


def test_environment_chooses(viewer: Any, image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_orientation.ENV_Y_AXIS, " Down ")
    default = orientation(viewer)
    viewer.open(str(image), plugin=PLUGIN)
    assert orientation(viewer) == default


def test_bad_environment_warns_and_the_file_still_opens(viewer: Any, image: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_orientation.ENV_Y_AXIS, "sideways")
    with pytest.raises(MrczError, match="NAPARI_MRCZ_Y_AXIS='sideways'"):
        _orientation.y_axis_setting()
    default = orientation(viewer)
    with pytest.warns(MrczWarning, match="sideways"):
        (layer,) = viewer.open(str(image), plugin=PLUGIN)
    assert layer.data.shape == (3, 4) and orientation(viewer) == default


def test_once_per_viewer(viewer: Any, image: Path) -> None:
    viewer.open(str(image), plugin=PLUGIN)
    viewer.scene.camera.orientation2d = ("down", "right")
    viewer.open(str(image), plugin=PLUGIN)
    assert orientation(viewer)[1:] == ("down", "right")


def test_plain_npe2_read_touches_no_viewer(viewer: Any, image: Path) -> None:
    default = orientation(viewer)
    npe2.read([str(image)], plugin_name=PLUGIN, stack=False)
    assert orientation(viewer) == default


def test_plugin_setting(plugin_settings: Any, npe2pm: Any) -> None:
    from napari.settings import get_plugin_settings

    npe2pm.register(npe2.PluginManifest.from_distribution(PLUGIN))
    assert _orientation.y_axis_setting() == "up"  # out of the box
    display = get_plugin_settings(PLUGIN).display
    display.y_axis = "down"
    assert _orientation.y_axis_setting() == "down"
    with pytest.raises(ValueError):
        display.y_axis = "left"


def test_manifest_declares_the_setting() -> None:
    manifest = npe2.PluginManifest.from_distribution(PLUGIN)
    prop = manifest.contributions.configurations["display"].properties["y_axis"]
    assert prop.enum == ["up", "down"] and prop.default == "up"
