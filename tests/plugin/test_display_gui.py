"""Real napari windows (under Xvfb): y up like IMOD/ChimeraX through napari's own setting with the status
bar still in the file's coordinates, the tilt-angle overlay on the canvas, 3-D views that show the
object (a tomogram pyramid, a cubic volume pyramid, density maps), the first 2-D picture's contrast on a
multiscale micrograph, refusals as notifications, complex files as amplitude and phase. Screenshots are
saved to test-artifacts/ for a person to look at."""

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
from napari_mrcz.plugin.sample_data import make_tomogram  # noqa: E402
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
@pytest.mark.parametrize("y_axis", ["down", "up"])
def test_y_up_action_in_a_real_window(make_napari_viewer: Any, qtbot: Any, tmp_path: Path, napari_settings: Any,
                                      y_axis: str) -> None:
    viewer = shown_window(make_napari_viewer, qtbot)
    (layer,) = viewer.open(str(marked_image(tmp_path / "marked.mrc")), plugin=PLUGIN)
    assert tuple(map(str, viewer.scene.camera.orientation2d)) == ("down", "right")  # opening turns nothing
    if y_axis == "up":  # the menu item (Layers > Visualize): napari's setting, applied by napari
        import npe2

        npe2.PluginManager.instance().commands.execute("napari-mrcz.y_up")
        assert str(napari_settings.application.vertical_axis_orientation) == "up"
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


def blobs() -> np.ndarray:
    """A 48³ density map with three spheres at (z, y, x): a small one high on the right, a large one low
    on the right, a middle one on the left (seen down z with y down)."""
    z, y, x = np.ogrid[:48, :48, :48]
    volume = np.random.default_rng(0).normal(0, 0.02, (48, 48, 48)).astype(np.float32)
    for (cz, cy, cx), radius in [((24, 24, 12), 6), ((24, 12, 34), 4), ((24, 36, 34), 8)]:
        volume += np.exp(-((z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2) / (0.5 * radius**2)).astype(np.float32)
    return volume


def blobs_map(path: Path) -> Path:
    return nm.write(path, blobs(), voxel_size=1.5, compressor=None)


def lit_picture(shot: np.ndarray) -> tuple[float, float]:
    """(fraction of the canvas drawn, contrast inside it): a blank canvas is (0, 0), a flat box (1, ~0)."""
    gray = shot[..., :3].astype(float).mean(axis=2)
    lit = gray > 30
    return float(lit.mean()), float(gray[lit].std()) if lit.any() else 0.0


@pytest.mark.slow
@pytest.mark.parametrize("source", ["tomogram", "cubic volume", "blobs.map", "real/EMD-3197.map"])
def test_3d_shows_the_object(make_napari_viewer: Any, qtbot: Any, tmp_path: Path, settings: Any,
                             napari_settings: Any, source: str) -> None:
    """napari draws the coarsest pyramid level in 3-D: the projection and the isosurface level come from
    it (settings make small files multiscale: 3 levels). A tomogram (dense matter dark) is a slab:
    minimum-intensity projection; a cubic volume and maps: an isosurface enclosing ~1% of the drawn
    level. Each shows the object, not a blank canvas or a filled box."""
    settings("multiscale.side", 64)
    settings("multiscale.level_side", 32)
    if source == "tomogram":
        path = nm.write(tmp_path / "tomo.mrcz", make_tomogram((64, 256, 256)), voxel_size=13.6)
    elif source == "cubic volume":
        path = nm.write(tmp_path / "cube.mrcz", np.tile(blobs(), (2, 2, 2)),
                        voxel_size=1.5)
    else:
        path = blobs_map(tmp_path / source) if source == "blobs.map" else TESTDATA / source
    if not path.is_file():
        pytest.skip("no shared corpus")
    viewer = shown_window(make_napari_viewer, qtbot)
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    drawn = np.asarray(layer.data[-1] if layer.multiscale else layer.data)
    if source == "tomogram":
        assert layer.multiscale and len(layer.data) >= 3 and layer.rendering == "minip"
    else:
        assert layer.rendering == "iso"
        assert np.mean(drawn > layer.iso_threshold) == pytest.approx(0.01, abs=0.006)  # ChimeraX: 1% enclosed
    viewer.dims.ndisplay = 3
    settle(viewer, qtbot)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = viewer.screenshot(str(ARTIFACTS / f"3d_{Path(source).stem.replace(' ', '_')}.png"), canvas_only=True)
    lit, contrast = lit_picture(shot)
    assert 0.005 < lit and contrast > 12, (lit, contrast)  # drawn, and not one flat colour
    if source == "tomogram":
        assert lit > 0.2  # the whole slab, particles darker than the rest
    else:
        assert lit < 0.6  # a surface, not a filled box
    if source == "blobs.map":  # seen down z with napari's default y down: the large sphere low on the right
        rows, cols = np.nonzero(shot[..., :3].max(axis=2) > 30)
        right = cols > np.median(cols)
        middle = (rows.min() + rows.max()) / 2
        assert np.count_nonzero(right & (rows > middle)) > 2 * np.count_nonzero(right & (rows < middle))


@pytest.mark.slow
def test_first_2d_picture_of_a_multiscale_micrograph(make_napari_viewer: Any, qtbot: Any, tmp_path: Path,
                                                     settings: Any) -> None:
    """A micrograph too big for one level: the contrast comes from the level the fitted view shows, so the
    particles stand out at first sight (full-resolution percentiles would leave the picture flat)."""
    settings("multiscale.side", 1024)  # 2048 px: two levels; the fitted view shows level 1 (1024 px)
    rng = np.random.default_rng(4)
    image = rng.normal(0, 1.0, (2048, 2048)).astype(np.float32)
    y, x = np.ogrid[:2048, :2048]
    particles = np.zeros((2048, 2048), bool)
    for cy, cx in rng.uniform(100, 1948, size=(30, 2)):
        particles |= (y - cy) ** 2 + (x - cx) ** 2 < 40**2
    image[particles] -= 0.8  # weak at full resolution (0.8 sigma), 1.6 sigma once binned 2x
    path = nm.write(tmp_path / "micrograph.mrcz", image, voxel_size=1.0)
    viewer = shown_window(make_napari_viewer, qtbot)
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    assert layer.multiscale and layer.data[-1].shape == (1024, 1024)
    settle(viewer, qtbot)
    assert layer.data_level == 1  # what napari shows when the whole image is in view
    full_res = np.percentile(image, (0.5, 99.5))
    low, high = layer.contrast_limits
    assert (full_res[1] - full_res[0]) > 1.6 * (high - low)  # the shown level's noise, not level 0's
    ARTIFACTS.mkdir(exist_ok=True)
    shot = viewer.screenshot(str(ARTIFACTS / "micrograph_first_picture.png"), canvas_only=True)
    rows, cols = image_box(shot)
    gray = shot[rows, cols, :3].astype(float).mean(axis=2)
    mask = particles[np.ix_(np.linspace(0, 2047, gray.shape[0]).astype(int), np.linspace(0, 2047, gray.shape[1]).astype(int))]
    assert gray[~mask].mean() - gray[mask].mean() > 60  # grey levels: particles stand out at first sight


@pytest.mark.slow
def test_refused_file_is_a_notification_with_the_reason(make_napari_viewer: Any, qtbot: Any, testdata: Path) -> None:
    from napari.utils.notifications import notification_manager

    bad = testdata / "bad" / "truncated_chunk.mrcz"
    viewer = shown_window(make_napari_viewer, qtbot)
    before = len(notification_manager.records)
    for _ in range(2):  # every time, not once per session
        with pytest.raises(Exception, match="napari-mrcz"):  # napari's own error follows (drag and drop)
            viewer.window._qt_viewer._qt_open([str(bad)], stack=False)
    ours = [str(n.message) for n in notification_manager.records[before:] if "napari-mrcz cannot open" in str(n.message)]
    assert len(ours) == 2 and "compressed slice 2 of 12" in ours[0]


@pytest.mark.slow
def test_complex_file_opens_as_amplitude_and_phase(make_napari_viewer: Any, qtbot: Any, testdata: Path) -> None:
    viewer = shown_window(make_napari_viewer, qtbot)
    amplitude, phase = viewer.open(str(testdata / "mrcz" / "fft_complex64_lz4hc.mrcz"), plugin=PLUGIN)
    assert phase.name == amplitude.name + " (phase)" and phase.colormap.name == "twilight"
    assert tuple(phase.contrast_limits) == pytest.approx((-np.pi, np.pi))
    viewer.canvas.grid.enabled = True
    settle(viewer, qtbot)
    ARTIFACTS.mkdir(exist_ok=True)
    lit, contrast = lit_picture(viewer.screenshot(str(ARTIFACTS / "complex_amplitude_phase.png"), canvas_only=True))
    assert lit > 0.2 and contrast > 5
