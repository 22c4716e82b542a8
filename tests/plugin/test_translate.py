"""Origin <-> layer translate through npe2 and a headless ViewerModel: files open where ChimeraX puts
them, a cropped sub-volume overlays its tomogram on the same world coordinates, and the writers store
the layer's translate as ORIGIN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus import TESTDATA

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")
mrcfile = pytest.importorskip("mrcfile")

import napari_mrcz as nm  # noqa: E402
from checks import PLUGIN  # noqa: E402
from napari_mrcz.plugin.placement import layer_translate, origin_from_layer  # noqa: E402


@pytest.mark.parametrize(
    ("name", "translate"),
    [("origin_and_nstart.map", (7.0, -30.0, 12.5)), ("nstart_only.mrc", (2.0, 12.0, -8.0))],
)
def test_edge_files_open_translated(viewer: Any, name: str, translate: tuple[float, ...]) -> None:
    path = TESTDATA / "edges" / name
    if not path.is_file():
        pytest.skip("no shared corpus")
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    assert [str(u) for u in layer.units] == ["angstrom"] * 3
    assert np.allclose(layer.translate, translate)


def test_translate_is_in_the_layer_units() -> None:
    assert layer_translate((136.0, -27.2, 13.6), ("nm", "nm", "nm")) == (13.6, -2.72, 1.36)
    assert layer_translate((1.0, 2.0, 3.0), ("angstrom",) * 3) == (1.0, 2.0, 3.0)
    assert layer_translate((1.0, 2.0, 3.0), ("pixel", "angstrom", "angstrom", "angstrom")) == (0.0, 1.0, 2.0, 3.0)
    assert layer_translate((1.0, 2.0, 3.0), ("nm", "nm")) == (0.2, 0.3)  # a 2-D image
    assert layer_translate((1.0, 2.0, 3.0), ("pixel",) * 3) == (1.0, 2.0, 3.0)
    assert origin_from_layer((13.6, -2.72, 1.36), ("nm",) * 3, 3) == (136.0, -27.2, 13.6)
    assert origin_from_layer((9.0, 1.0, 2.0, 3.0), ("pixel", "nm", "nm", "nm"), 4) == (10.0, 20.0, 30.0)
    assert origin_from_layer(None, None, 2) == (0.0, 0.0)


@pytest.mark.parametrize("voxel", [2.17, 13.6])  # shown in Å and in nm
def test_cropped_subvolume_overlays_its_tomogram(viewer: Any, tmp_path: Path, voxel: float) -> None:
    rng = np.random.default_rng(7)
    tomogram = rng.normal(size=(20, 40, 50)).astype(np.float32)
    origin = (-120.0, 345.5, 1000.25)
    parent = nm.write(tmp_path / "tomogram.mrcz", tomogram, voxel_size=voxel, origin=origin)
    corner = (5, 12, 31)
    crop = tomogram[5:15, 12:30, 31:47]
    crop_origin = tuple(o + c * voxel for o, c in zip(origin, corner))
    child = nm.write(tmp_path / "crop.mrc", crop, voxel_size=voxel, origin=crop_origin, compressor=None)
    (big,) = viewer.open(str(parent), plugin=PLUGIN)
    (small,) = viewer.open(str(child), plugin=PLUGIN)
    assert np.allclose(big.scale, small.scale) and big.units == small.units
    for index in [(0, 0, 0), (9, 17, 15), (3, 4, 5)]:
        world = small.data_to_world(index)
        assert np.allclose(world, big.data_to_world(tuple(i + c for i, c in zip(index, corner))))
        assert np.allclose(big.world_to_data(world), tuple(i + c for i, c in zip(index, corner)))
        parent_index = tuple(int(round(v)) for v in big.world_to_data(world))
        assert big.data[parent_index] == small.data[index]  # the same voxel, so the same value
    assert np.allclose(viewer.layers.extent.world[0], big.extent.world[0])  # the crop lies inside


@pytest.mark.parametrize("ext", [".mrc", ".mrcz"])
def test_writers_store_the_layer_translate(viewer: Any, tmp_path: Path, ext: str) -> None:
    layer = viewer.add_image(np.zeros((3, 4, 5), np.float32), scale=(1.36, 1.36, 1.36), units="nm",
                             translate=(0.5, -2.0, 100.0))
    (written,) = viewer.layers.save(str(tmp_path / f"moved{ext}"), plugin=PLUGIN)
    assert np.allclose(nm.read(written).origin, (5.0, -20.0, 1000.0))
    with mrcfile.open(written, permissive=True, header_only=True) as mrc:
        assert np.allclose(mrc.header.origin.item(), (1000.0, -20.0, 5.0))  # x, y, z
    (again,) = viewer.open(written, plugin=PLUGIN)
    assert np.allclose(again.translate, layer.translate) and np.allclose(again.scale, layer.scale)


def test_open_save_open_keeps_the_place_of_a_2d_image(viewer: Any, tmp_path: Path) -> None:
    path = nm.write(tmp_path / "image.mrc", np.ones((6, 8), np.int16), voxel_size=1.1, origin=(4.4, -2.2),
                    compressor=None)
    (first,) = viewer.open(str(path), plugin=PLUGIN)
    assert np.allclose(first.translate, (4.4, -2.2))
    (written,) = viewer.layers.save(str(tmp_path / "copy.mrcz"), plugin=PLUGIN)
    (second,) = viewer.open(written, plugin=PLUGIN)
    assert np.allclose(second.translate, first.translate)
