"""Which way y points is napari's own setting: opening files never turns a camera; the plugin's one
explicit action ("y up, like IMOD/ChimeraX", a menu item and a widget button) sets napari's
``vertical_axis_orientation``, which napari applies to every viewer and saves. The real-window
screenshots are in test_display_gui.py."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.plugin import orientation as _orientation  # noqa: E402
from checks import PLUGIN  # noqa: E402

PACKAGE = Path(nm.__file__).resolve().parent


@pytest.fixture
def image(tmp_path: Path) -> Path:
    return nm.write(tmp_path / "image.mrc", np.arange(12, dtype=np.float32).reshape(3, 4), voxel_size=2.0,
                    origin=(10.0, 20.0), compressor=None)


def orientation(viewer: Any) -> tuple[str, ...]:
    return tuple(map(str, viewer.scene.camera.orientation))


def test_opening_a_file_never_turns_the_camera(napari_settings: Any, image: Path) -> None:
    from napari.components import ViewerModel

    viewer = ViewerModel()
    default = orientation(viewer)
    (layer,) = viewer.open(str(image), plugin=PLUGIN)
    assert orientation(viewer) == default == ("towards", "down", "right")  # napari's own default
    assert np.allclose(layer.data_to_world((2, 3)), (10 + 2 * 2, 20 + 3 * 2))


def test_y_up_sets_napari_setting_for_every_viewer_and_saves_it(napari_settings: Any, image: Path) -> None:
    from napari.components import ViewerModel

    first, second = ViewerModel(), ViewerModel()
    (layer,) = first.open(str(image), plugin=PLUGIN)
    assert not _orientation.is_y_up()
    _orientation.y_up()
    assert _orientation.is_y_up()
    assert orientation(first) == orientation(second) == ("towards", "up", "right")
    assert np.allclose(layer.scale, (2, 2)) and np.allclose(layer.translate, (10, 20))  # data untouched
    assert "vertical_axis_orientation: up" in Path(napari_settings.config_path).read_text()  # napari saved it


def test_manifest_offers_the_action_and_no_setting_of_our_own() -> None:
    manifest = npe2.PluginManifest.from_distribution(PLUGIN)
    (item,) = manifest.contributions.menus["napari/layers/visualize"]
    command = next(c for c in manifest.contributions.commands if c.id == item.command)
    assert "IMOD/ChimeraX" in command.title and command.python_name.endswith("orientation:y_up")
    assert "display" not in (manifest.contributions.configurations or {})


def test_no_code_reads_the_call_stack_or_turns_a_camera() -> None:
    """The plugin changes views only through napari's setting (orientation.y_up)."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("_getframe", "f_back", "f_locals", "camera"), f"{path}:{node.lineno}"
            if isinstance(node, ast.Name):
                assert node.id != "inspect", f"{path}:{node.lineno}"
