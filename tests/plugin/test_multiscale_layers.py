"""Lazy and multiscale layers in napari: array-likes instead of dask, pyramids for big files (small
thresholds patched in), scale and world coordinates at every level, 3-D at the coarsest level."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.io.reader import multiscale  # noqa: E402
from napari_mrcz.values import levels  # noqa: E402
from napari_mrcz.plugin import reader as _reader  # noqa: E402
from checks import PLUGIN  # noqa: E402


@pytest.fixture(autouse=True)
def _small_thresholds(settings: Callable[[str, Any], None]) -> None:
    """Files over 1 KiB open lazily; y or x over 32 px makes a pyramid down to 16 px per side."""
    npe2.PluginManager.instance().discover()
    settings("reader.lazy_bytes", 1024)
    settings("multiscale.side", 32)
    settings("multiscale.level_side", 16)
    multiscale._CACHE.clear()


def _volume(tmp_path: Path, shape: tuple[int, ...] = (12, 64, 48), dtype: str = "f4", **kw: Any) -> tuple[Path, np.ndarray]:
    data = (np.random.default_rng(0).normal(size=shape) * 20).astype(dtype)
    return nm.write(tmp_path / "big.mrcz", data, voxel_size=(3.0, 2.0, 2.0), **kw), data


def test_big_volume_opens_as_a_pyramid(viewer: Any, tmp_path: Path) -> None:
    path, data = _volume(tmp_path, stats=True)  # exact DMIN/DMAX (MRCZ writes leave them undetermined)
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    eager = nm.read(path, multiscale=True).data
    assert layer.multiscale and len(layer.data) == len(eager) == 3
    assert [tuple(s) for s in layer.level_shapes] == [(12, 64, 48), (6, 32, 24), (3, 16, 12)]
    assert np.allclose(layer.downsample_factors, [[1, 1, 1], [2, 2, 2], [4, 4, 4]])
    assert np.allclose(layer.scale, (3.0, 2.0, 2.0))  # level 0's voxel size; napari scales the others
    assert layer.metadata["mrcz"]["multiscale"] == [[12, 64, 48], [6, 32, 24], [3, 16, 12]]
    low, high = layer.contrast_limits_range  # the header's DMIN/DMAX: they agree with the sample
    assert (low, high) == (float(data.min()), float(data.max()))
    assert low < layer.contrast_limits[0] < layer.contrast_limits[1] < high
    for level in eager[1:]:  # means stay inside the level-0 range: the slider holds at every level
        assert low <= level.min() and level.max() <= high


@pytest.mark.parametrize("level", [0, 1, 2])
def test_each_level_shows_its_plane_where_level_0_would(viewer: Any, tmp_path: Path, level: int) -> None:
    path, _ = _volume(tmp_path)
    eager = nm.read(path, multiscale=True).data
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    layer.locked_data_level = level
    for z in (0, 5, 11):
        viewer.dims.set_current_step(0, z)
        factor = 2**level
        shown = layer._slice.image.raw
        assert np.allclose(shown, eager[level][min(round(z / factor), eager[level].shape[0] - 1)])
        tile = layer._transforms["tile2data"]
        assert np.allclose(tile.scale[1:], factor)  # tile pixel i sits at level-0 pixel i * 2^level
        world = layer._transforms[1:].simplified  # data -> world: level 0's voxel size
        assert np.allclose(world(tile((0, 3, 5)))[1:], (3 * factor * 2.0, 5 * factor * 2.0))


def test_3d_view_renders_the_coarsest_level(viewer: Any, tmp_path: Path) -> None:
    path, _ = _volume(tmp_path)
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    viewer.dims.ndisplay = 3
    assert layer.data_level == 2
    assert np.allclose(layer._slice.image.raw, nm.read(path, multiscale=True).data[2])


@pytest.mark.slow
def test_image_stack_keeps_z_and_single_images_get_2d_levels(viewer: Any, tmp_path: Path) -> None:
    mrcfile = pytest.importorskip("mrcfile")
    stack = (np.random.default_rng(1).normal(size=(5, 64, 40)) * 5).astype(np.float32)
    with mrcfile.new(tmp_path / "tilts.st") as mrc:  # ISPG 0: an image stack (movie, tilt series)
        mrc.set_data(stack)
        mrc.set_image_stack()
    (layer,) = viewer.open(str(tmp_path / "tilts.st"), plugin=PLUGIN)
    assert layer.multiscale and np.allclose(layer.downsample_factors[-1], [1, 4, 4])
    image = (np.random.default_rng(2).normal(size=(80, 33)) * 5).astype(np.float32)
    (flat,) = viewer.open(str(nm.write(tmp_path / "image.mrcz", image)), plugin=PLUGIN)
    assert flat.multiscale and flat.ndim == 2 and [tuple(s) for s in flat.level_shapes][-1] == (10, 5)
    assert np.allclose(flat._slice.image.raw, nm.read(tmp_path / "image.mrcz", multiscale=True).data[-1])


def test_complex_pyramid_is_of_the_amplitude(viewer: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    data = (rng.normal(size=(4, 40, 36)) + 1j * rng.normal(size=(4, 40, 36))).astype(np.complex64)
    layer, phase = viewer.open(str(nm.write(tmp_path / "fft.mrcz", data)), plugin=PLUGIN)
    assert layer.multiscale and layer.data[1].dtype == np.float32
    assert np.allclose(np.asarray(layer.data[1]), levels.level_mean(np.abs(data), [0, 1, 2]))
    # the phase of the averaged complex values: the mean direction
    assert phase.multiscale and np.allclose(np.asarray(phase.data[1]), np.angle(levels.downsample(data, [0, 1, 2])),
                                            atol=1e-5)


def test_lazy_layer_below_the_pyramid_thresholds(viewer: Any, tmp_path: Path) -> None:
    path, data = _volume(tmp_path, (10, 30, 20))
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    assert not layer.multiscale and type(layer.data).__name__ == "MrcArray"
    viewer.dims.set_current_step(0, 7)
    assert np.array_equal(layer._slice.image.raw, data[7])
    viewer.dims.ndisplay = 3
    assert np.array_equal(layer._slice.image.raw, data)


def test_saving_a_pyramid_writes_level_0(viewer: Any, tmp_path: Path) -> None:
    path, data = _volume(tmp_path)
    viewer.open(str(path), plugin=PLUGIN)
    (written,) = viewer.layers.save(str(tmp_path / "copy.mrcz"), plugin=PLUGIN)
    copy = nm.read(written)
    assert np.array_equal(copy.data, data) and copy.voxel_size == (3.0, 2.0, 2.0)


@pytest.mark.slow
@pytest.mark.gui
def test_pyramid_in_a_real_window(make_napari_viewer: Any, tmp_path: Path) -> None:
    path, _ = _volume(tmp_path)
    window = make_napari_viewer()
    (layer,) = window.open(str(path), plugin=PLUGIN)
    window.dims.set_current_step(0, 6)
    assert window.screenshot(canvas_only=True).size
    window.dims.ndisplay = 3
    assert layer.data_level == 2 and window.screenshot(canvas_only=True).size


def test_big_segmentations_open_lazily_without_a_pyramid(viewer: Any, tmp_path: Path) -> None:
    """The mean of label ids is not a label: Labels layers stay single-scale."""
    seg = np.random.default_rng(4).integers(0, 5, (6, 64, 40)).astype(np.int32)
    viewer.add_labels(seg)
    (path,) = viewer.layers.save(str(tmp_path / "seg.mrcz"), plugin=PLUGIN)
    (layer,) = viewer.open(path, plugin=PLUGIN)
    assert type(layer).__name__ == "Labels" and type(layer.data).__name__ == "MrcArray" and not layer.multiscale
    viewer.dims.set_current_step(0, 3)
    assert np.array_equal(layer._slice.image.raw, seg[3])
