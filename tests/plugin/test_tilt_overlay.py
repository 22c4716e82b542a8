"""Tilt angles in the layer metadata and the canvas overlay that shows the current slice's angle, in a
headless ViewerModel: it follows the slider, selection, visibility, 3-D and the layer list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus import TESTDATA

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")

import napari_mrcz as nm  # noqa: E402
from checks import PLUGIN  # noqa: E402
from napari_mrcz.plugin import viewer as _viewer  # noqa: E402
from napari_mrcz.plugin.tilt_overlay import OVERLAY_KEY, overlay_text  # noqa: E402

ANGLES = [-45.0, -15.0, 15.0, 45.0]


@pytest.fixture
def viewer() -> Any:
    """A headless viewer with the overlay attached, as a script (or the plugin's dock widget) does."""
    from napari.components import ViewerModel

    model = ViewerModel()
    _viewer.attach(model)
    return model


@pytest.fixture
def series(tmp_path: Path) -> Path:
    path = nm.write(tmp_path / "tilt.st", np.random.default_rng(0).normal(size=(4, 16, 16)).astype(np.float32),
                    voxel_size=2.0, origin=(100.0, 0.0, 0.0), compressor=None)
    (tmp_path / "tilt.rawtlt").write_text("\n".join(map(str, ANGLES)))
    return path


def shown(viewer: Any) -> str:
    overlay = viewer.canvas.overlays[OVERLAY_KEY]
    return overlay.text if overlay.visible else ""


def test_shared_fei2_series_in_the_layer_metadata(viewer: Any) -> None:
    path = TESTDATA / "edges" / "tilt_fei2.mrc"
    if not path.is_file():
        pytest.skip("no shared corpus")
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    expected = np.load(TESTDATA / "edges" / "tilt_fei2.angles.npy").tolist()
    assert layer.metadata["mrcz"]["tilt_angles"] == expected
    for z, angle in enumerate(expected):
        viewer.dims.set_current_step(0, z)
        assert shown(viewer) == f"tilt_fei2: tilt {angle:+.2f}°  (slice {z + 1}/4)"


def test_overlay_follows_the_slider_with_translate_and_scale(viewer: Any, series: Path) -> None:
    (layer,) = viewer.open(str(series), plugin=PLUGIN)
    assert np.allclose(layer.translate[0], 100.0)  # world z is not the slice index
    for z in (3, 0, 2):
        viewer.dims.set_point(0, layer.data_to_world((z, 0, 0))[0])
        assert shown(viewer) == f"tilt: tilt {ANGLES[z]:+.2f}°  (slice {z + 1}/4)"


def test_overlay_hides_in_3d_when_hidden_and_when_removed(viewer: Any, series: Path) -> None:
    (layer,) = viewer.open(str(series), plugin=PLUGIN)
    assert shown(viewer)
    viewer.dims.ndisplay = 3
    assert shown(viewer) == ""
    viewer.dims.ndisplay = 2
    assert shown(viewer)
    layer.visible = False
    assert shown(viewer) == ""
    layer.visible = True
    viewer.dims.order = (1, 0, 2)  # z on screen: no single tilt
    assert shown(viewer) == ""
    viewer.dims.order = (0, 1, 2)
    layer.name = "renamed"
    assert shown(viewer).startswith("renamed: tilt")
    viewer.layers.remove(layer)
    assert shown(viewer) == ""


def test_the_selected_series_speaks_else_the_top_one(viewer: Any, series: Path, tmp_path: Path) -> None:
    (first,) = viewer.open(str(series), plugin=PLUGIN)
    other = nm.write(tmp_path / "other.mrc", np.zeros((4, 16, 16), np.float32), voxel_size=2.0,
                     origin=(100.0, 0.0, 0.0), compressor=None)
    (tmp_path / "other.rawtlt").write_text("\n".join(str(a / 3) for a in ANGLES))
    (second,) = viewer.open(str(other), plugin=PLUGIN)
    viewer.layers.selection.active = first
    assert shown(viewer).startswith("tilt: ")
    viewer.layers.selection.active = second
    assert shown(viewer).startswith("other: ")
    plain = viewer.add_image(np.zeros((4, 16, 16)), name="plain")  # selected, no angles
    assert viewer.layers.selection.active is plain
    assert shown(viewer).startswith("other: ")  # the top tilt series
    assert overlay_text(viewer) == shown(viewer)


def test_files_without_angles_leave_the_canvas_alone(viewer: Any, tmp_path: Path) -> None:
    path = nm.write(tmp_path / "plain.mrc", np.zeros((3, 4, 5), np.float32), compressor=None)
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    assert "tilt_angles" not in layer.metadata["mrcz"]
    assert OVERLAY_KEY not in viewer.canvas.overlays
