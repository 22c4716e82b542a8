"""Which files render as isosurfaces in 3-D (napari_mrcz.plugin.maps): density maps, not tomograms, tilt
series, stacks or volume stacks; checked on the corpus and generated files through a ViewerModel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus import TESTDATA

pytest.importorskip("napari")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.plugin.maps import is_density_map  # noqa: E402
from checks import PLUGIN  # noqa: E402


@pytest.mark.parametrize(
    ("name", "shape", "expected"),
    [
        ("emd.map", (20, 30, 40), True),  # a map suffix: whatever its box
        ("emd.ccp4", (10, 10, 10), True),
        ("emd.map.gz", (10, 10, 10), True),
        ("half_map.mrc", (64, 64, 64), True),  # a RELION box
        ("half_map.mrcz", (50, 64, 64), True),
        ("tomogram.mrc", (64, 256, 256), False),  # a slab
        ("tomogram.rec", (64, 64, 64), False),
        ("series.st", (41, 64, 64), False),
        ("aligned.ali", (41, 64, 64), False),
        ("particles.mrcs", (64, 64, 64), False),
        ("image.mrc", (64, 64), False),
        ("volumes.map", (2, 8, 8, 8), False),  # a volume stack
    ],
)
def test_classification(tmp_path: Path, name: str, shape: tuple[int, ...], expected: bool) -> None:
    data = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    target = tmp_path / name
    if name.endswith(".gz"):
        import gzip

        plain = nm.write(tmp_path / name[:-3], data, compressor=None)
        target.write_bytes(gzip.compress(plain.read_bytes()))
    else:
        nm.write(target, data, compressor="zstd" if name.endswith(".mrcz") else None)
    assert is_density_map(nm.open_mrc(target)) is expected


def test_image_stack_space_group_is_not_a_map(tmp_path: Path) -> None:
    mrcfile = pytest.importorskip("mrcfile")
    with mrcfile.new(tmp_path / "stack.mrc") as mrc:
        mrc.set_data(np.zeros((16, 16, 16), np.float32))
        mrc.set_image_stack()  # ISPG 0
    assert not is_density_map(nm.open_mrc(tmp_path / "stack.mrc"))


@pytest.mark.parametrize(("source", "rendering"), [("real/EMD-3197.map.bz2", "iso"), ("real/emd_3001.map.gz", "iso"),
                                                     ("mrcz/tomo_float32_lz4_9_nm.mrcz", "mip"),
                                                     ("real/mrcfile_stack.mrcs", "mip")])
def test_layers_from_the_corpus(viewer: Any, source: str, rendering: str) -> None:
    path = TESTDATA / source
    if not path.is_file():
        pytest.skip("no shared corpus")
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    assert layer.rendering == rendering
    if rendering == "iso":
        low, high = layer.contrast_limits
        assert low <= layer.iso_threshold <= high
        assert np.mean(np.asarray(layer.data) > layer.iso_threshold) == pytest.approx(0.01, abs=0.005)
