"""CCP4 maps and masks (.ccp4, .msk, and their .gz/.bz2) open in napari through the plugin, as
MRC2014-compatible files (issue 17, item 17): generated maps and masks, every claimed spelling."""

from __future__ import annotations

import bz2
import gzip
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")
mrcfile = pytest.importorskip("mrcfile")

from napari_mrcz.plugin.reader import claims  # noqa: E402

NAMES = ["map.ccp4", "mask.msk", "map.ccp4.gz", "mask.msk.gz", "map.ccp4.bz2", "mask.msk.bz2", "MAP.CCP4",
         "Mask.MSK.GZ"]
STREAMS = {".gz": gzip.compress, ".bz2": bz2.compress}


def _ccp4_file(path: Path, data: np.ndarray, voxel: float) -> None:
    """A map as CCP4-era tools write it (mrcfile: EXTTYP-less, MRC2014 header), maybe compressed."""
    plain = path.with_name("plain.tmp")
    with mrcfile.new(str(plain), overwrite=True) as mrc:
        mrc.set_data(data)
        mrc.voxel_size = voxel
    raw = plain.read_bytes()
    plain.unlink()
    for suffix, compress in STREAMS.items():
        if path.name.lower().endswith(suffix):
            raw = compress(raw)
    path.write_bytes(raw)


def _data(name: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if "mask" in name.lower():  # a binary mask, int8 as masking tools write it
        return (rng.random((6, 12, 10)) > 0.5).astype(np.int8)
    return rng.normal(size=(6, 12, 10)).astype(np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_viewer_opens_ccp4_names(tmp_path: Path, name: str) -> None:
    from napari.components import ViewerModel

    data = _data(name, len(name))
    path = tmp_path / name
    _ccp4_file(path, data, voxel=2.5)
    assert claims(path)
    viewer = ViewerModel()
    for plugin in ("napari-mrcz", None):  # by name, and by napari's own choice from the patterns
        (layer,) = viewer.open(str(path), plugin=plugin)
        assert np.array_equal(np.asarray(layer.data), data)
        assert np.allclose(layer.scale, 2.5) and layer.name.lower() == name.split(".")[0].lower()
        assert layer.metadata["mrcz"]["path"] == str(path)
        viewer.layers.clear()


def test_folder_of_maps_and_masks(tmp_path: Path) -> None:
    from napari.components import ViewerModel

    for name in ("a.ccp4", "b.msk", "c.msk.gz", "notes.txt"):
        if name.endswith(".txt"):
            (tmp_path / name).write_text("not a map")
        else:
            _ccp4_file(tmp_path / name, _data(name, 0), voxel=1.0)
    layers = ViewerModel().open(str(tmp_path), plugin="napari-mrcz")
    assert [layer.name for layer in layers] == ["a", "b", "c"]


@pytest.mark.parametrize("name", ["map.ccp4.zip", "map.ccp4z", "mask.mskz", "map.ccp4.tar", "x.ccp", "ccp4"])
def test_near_miss_names_are_not_claimed(name: str) -> None:
    assert not claims(name)


def test_manifest_patterns_cover_ccp4_names() -> None:
    (reader,) = npe2.PluginManifest.from_distribution("napari-mrcz").contributions.readers
    for ext in ("ccp4", "msk"):
        assert {f"*.{ext}", f"*.{ext}.gz", f"*.{ext}.bz2"} <= set(reader.filename_patterns)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["map.ccp4", "mask.msk.gz"])
def test_cli_reads_ccp4_names(tmp_path: Path, name: str) -> None:
    data = _data(name, 1)
    _ccp4_file(tmp_path / name, data, voxel=1.5)
    out = tmp_path / "out.mrcz"
    run: Any = subprocess.run([sys.executable, "-m", "napari_mrcz", "convert", "-q", str(tmp_path / name), str(out)],
                              capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    import napari_mrcz as nm

    assert np.array_equal(nm.read(out).data, data)
    for command in ("info", "validate"):
        run = subprocess.run([sys.executable, "-m", "napari_mrcz", command, str(tmp_path / name)],
                             capture_output=True, text=True)
        assert run.returncode == 0 and name in run.stdout, run.stderr
