"""Real napari windows (under Xvfb): y up like IMOD/ChimeraX with the status bar still in the file's
coordinates, the tilt-angle overlay on the canvas, and a density map as an isosurface in 3-D.
Screenshots are saved to test-artifacts/ for a person to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus import TESTDATA

pytest.importorskip("napari")
pytest.importorskip("npe2")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.plugin import orientation as _orientation  # noqa: E402
from napari_mrcz.plugin.tilt_overlay import OVERLAY_KEY  # noqa: E402
from checks import PLUGIN  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NY, NX, MARK = 60, 90, 15


def marked_image(path: Path) -> Path:
    """A 2-D image, dim noise, with a bright square at rows 0..14, columns 0..14 (the file's corner)."""
    image = np.random.default_rng(3).uniform(0, 0.2, size=(NY, NX)).astype(np.float32)
    image[:MARK, :MARK] = 1.0
    return nm.write(path, image, voxel_size=2.0, compressor=None)


def shown_window(make_napari_viewer: Any, qtbot: Any) -> Any:
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(900, 700)
    qtbot.wait(100)
    return viewer


def settle(viewer: Any, qtbot: Any) -> None:
    viewer.reset_view()
    qtbot.wait(200)


def image_box(shot: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns of the canvas screenshot that the (non-background) image covers."""
    lit = shot[..., :3].max(axis=2) > 12
    rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def corner_brightness(shot: np.ndarray) -> dict[str, float]:
    rows, cols = image_box(shot)
    gray = shot[rows, cols, :3].mean(axis=2)
    h, w = gray.shape
    return {
        "top_left": gray[: h // 4, : w // 6].mean(), "bottom_left": gray[-h // 4 :, : w // 6].mean(),
        "top_right": gray[: h // 4, -w // 6 :].mean(), "bottom_right": gray[-h // 4 :, -w // 6 :].mean(),
    }


def status_at_canvas(viewer: Any, layer: Any, pixel: tuple[float, float]) -> tuple[np.ndarray, dict]:
    canvas = viewer.window._qt_viewer.canvas
    world = np.asarray(canvas._map_canvas2world(pixel, canvas.view))
    status = layer.get_status(world, view_direction=None, dims_displayed=list(viewer.dims.displayed), world=True)
    return world, status


@pytest.mark.slow
@pytest.mark.parametrize("y_axis", ["up", "down"])
def test_y_axis_setting_in_a_real_window(make_napari_viewer: Any, qtbot: Any, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, y_axis: str) -> None:
    monkeypatch.setenv(_orientation.ENV_Y_AXIS, y_axis)
    viewer = shown_window(make_napari_viewer, qtbot)
    (layer,) = viewer.open(str(marked_image(tmp_path / "marked.mrc")), plugin=PLUGIN)
    settle(viewer, qtbot)
    assert tuple(map(str, viewer.scene.camera.orientation2d)) == (y_axis, "right")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = viewer.screenshot(str(ARTIFACTS / f"orientation_y_{y_axis}.png"), canvas_only=True)
    corners = corner_brightness(shot)
    mark_corner = "bottom_left" if y_axis == "up" else "top_left"  # row 0 at the bottom, as IMOD shows it
    assert corners[mark_corner] > 3 * max(v for k, v in corners.items() if k != mark_corner)
    # the status bar speaks the file's coordinates (world = voxel index x voxel size + origin): the top
    # of the picture is the file's last row with y up, its first with y down, and the value shown there
    # is the file's value at that row and column
    rows, cols = image_box(shot)
    top_pixel = (float((cols.start + cols.stop) / 2), float(rows.start + 5))
    world, status = status_at_canvas(viewer, layer, top_pixel)
    row, col = (int(round(v)) for v in layer.world_to_data(world))
    assert abs(row - (NY - 1 if y_axis == "up" else 0)) <= 1  # the top of the picture
    shown = [float(v) for v in status["coords"].strip(" []").split(",")]
    assert np.allclose(shown, world[-2:], atol=0.01) and np.allclose(shown, (row * 2.0, col * 2.0), atol=2.0)
    assert float(status["value"]) == pytest.approx(float(layer.data[row, col]), abs=1e-3)  # shown to 3 decimals


@pytest.mark.slow
def test_camera_is_turned_once_per_viewer(make_napari_viewer: Any, qtbot: Any, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_orientation.ENV_Y_AXIS, raising=False)
    viewer = shown_window(make_napari_viewer, qtbot)
    path = marked_image(tmp_path / "marked.mrc")
    viewer.open(str(path), plugin=PLUGIN)
    assert tuple(map(str, viewer.scene.camera.orientation)) == _orientation.Y_UP_ORIENTATION  # the default
    viewer.scene.camera.orientation2d = ("down", "right")  # the user turns it back
    viewer.open(str(path), plugin=PLUGIN)
    assert tuple(map(str, viewer.scene.camera.orientation2d)) == ("down", "right")


@pytest.mark.slow
def test_tilt_overlay_is_drawn(make_napari_viewer: Any, qtbot: Any) -> None:
    path = TESTDATA / "edges" / "tilt_fei2.mrc"
    if not path.is_file():
        pytest.skip("no shared corpus")
    viewer = shown_window(make_napari_viewer, qtbot)
    viewer.open(str(path), plugin=PLUGIN)
    viewer.dims.set_current_step(0, 3)
    settle(viewer, qtbot)
    overlay = viewer.canvas.overlays[OVERLAY_KEY]
    assert overlay.visible and overlay.text == "tilt_fei2: tilt +45.00°  (slice 4/4)"
    ARTIFACTS.mkdir(exist_ok=True)
    with_text = viewer.screenshot(str(ARTIFACTS / "tilt_overlay.png"), canvas_only=True)
    overlay.visible = False
    qtbot.wait(100)
    without = viewer.screenshot(canvas_only=True)
    changed = np.argwhere(np.abs(with_text[..., :3].astype(int) - without[..., :3].astype(int)).max(axis=2) > 40)
    assert len(changed) > 50  # the text is drawn ...
    assert changed[:, 0].max() < with_text.shape[0] / 4 and changed[:, 1].min() < with_text.shape[1] / 8  # top left


def blobs_map(path: Path) -> Path:
    """A 48³ density map with three spheres at (z, y, x): a small one low on the right, a large one high
    on the right, a middle one on the left (seen down z with y up)."""
    z, y, x = np.ogrid[:48, :48, :48]
    volume = np.random.default_rng(0).normal(0, 0.02, (48, 48, 48)).astype(np.float32)
    for (cz, cy, cx), radius in [((24, 24, 12), 6), ((24, 12, 34), 4), ((24, 36, 34), 8)]:
        volume += np.exp(-((z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2) / (0.5 * radius**2)).astype(np.float32)
    return nm.write(path, volume, voxel_size=1.5, compressor=None)


@pytest.mark.slow
@pytest.mark.parametrize("source", ["real/EMD-3197.map", "blobs.map"])
def test_density_map_is_an_isosurface_in_3d(make_napari_viewer: Any, qtbot: Any, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    monkeypatch.delenv(_orientation.ENV_Y_AXIS, raising=False)
    path = blobs_map(tmp_path / source) if source == "blobs.map" else TESTDATA / source
    if not path.is_file():
        pytest.skip("no shared corpus")
    viewer = shown_window(make_napari_viewer, qtbot)
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    assert layer.rendering == "iso"
    data = np.asarray(layer.data)
    assert np.mean(data > layer.iso_threshold) == pytest.approx(0.01, abs=0.003)  # ChimeraX: 1% enclosed
    viewer.dims.ndisplay = 3
    settle(viewer, qtbot)
    ARTIFACTS.mkdir(exist_ok=True)
    iso = viewer.screenshot(str(ARTIFACTS / f"density_map_iso_{path.stem}.png"), canvas_only=True)
    lit = iso[..., :3].max(axis=2) > 30
    assert 0.005 < lit.mean() < 0.5  # a surface, not an empty canvas or a filled box
    if source == "blobs.map":  # seen down z as ChimeraX shows it: x right, y up
        rows, cols = np.nonzero(lit)
        right = cols > np.median(cols)
        middle = (rows.min() + rows.max()) / 2
        assert np.count_nonzero(right & (rows < middle)) > 2 * np.count_nonzero(right & (rows > middle))
    layer.rendering = "mip"
    qtbot.wait(100)
    mip = viewer.screenshot(canvas_only=True)
    assert np.abs(mip.astype(int) - iso.astype(int)).mean() > 1  # the isosurface is what was drawn

