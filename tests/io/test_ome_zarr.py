"""OME-Zarr out and in: the pyramid (levels, binning, chunks), voxel size and origin as NGFF scale and
translation in Å, MRC header and JSON metadata kept, round trips through MRC/MRCZ, napari-ome-zarr (the
real plugin) reading our output with the right scale, batch conversion on dask.distributed, and bad
input (existing or unwritable targets, stores failing mid-write, groups without metadata) as MrczError
with nothing half-written left looking complete."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from checks import FailingArray
from napari_mrcz.errors import MrczError

zarr = pytest.importorskip("zarr")
pytest.importorskip("ome_zarr")
from napari_mrcz.io.zarr.ome_write import write_ome_zarr  # noqa: E402
from napari_mrcz.io.zarr.pyramid import bin2, level_shapes  # noqa: E402

RNG = np.random.default_rng(240)


def _multiscales(path: Path) -> dict:
    return dict(zarr.open_group(str(path), mode="r").attrs)["multiscales"][0]


@pytest.mark.parametrize("dtype", ["float32", "int16", "uint8", "float16"])
@pytest.mark.parametrize("shape", [(37, 300, 270), (5, 130, 517), (70, 40, 41)])
def test_pyramid_levels_and_values(tmp_path: Path, dtype: str, shape: tuple[int, ...]) -> None:
    data = (RNG.normal(size=shape) * 50).astype(dtype) if dtype[0] == "f" else RNG.integers(0, 200, size=shape).astype(dtype)
    out = write_ome_zarr(tmp_path / "v.ome.zarr", data, voxel_size=(3.0, 2.0, 1.5), origin=(5, 6, 7), chunks=32)
    group = zarr.open_group(out, mode="r")
    ms = _multiscales(Path(out))
    shapes = level_shapes(shape, bin_z=True)
    assert [group[d["path"]].shape for d in ms["datasets"]] == shapes
    assert max(shapes[-1][-2:]) <= 256 and (len(shapes) == 1 or max(shapes[-2][-2:]) > 256)
    assert [a["unit"] for a in ms["axes"]] == ["angstrom"] * 3 and [a["name"] for a in ms["axes"]] == ["z", "y", "x"]
    assert ms["version"] == "0.4" and group["0"].chunks == tuple(min(32, n) for n in shape)
    assert group["0"].metadata.compressor.get_config()["cname"] == "zstd"
    level = data
    for i, d in enumerate(ms["datasets"]):
        scale = d["coordinateTransformations"][0]["scale"]
        assert scale == [3.0 * 2**i, 2.0 * 2**i, 1.5 * 2**i]
        assert np.array_equal(group[d["path"]][...], level)  # y not flipped, every chunk in place
        level = bin2(level, (0, 1, 2))
    assert ms["datasets"][0]["coordinateTransformations"][1]["translation"] == [5, 6, 7]


def test_bin2_means() -> None:
    a = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5)
    b = bin2(a, (0, 1, 2))
    assert b.shape == (1, 2, 3)
    assert b[0, 0, 0] == a[:, :2, :2].mean() and b[0, 1, 2] == a[:, 2, 4].mean()
    assert bin2(np.array([[1, 2], [2, 2]], np.uint8), (0, 1))[0, 0] == 2  # 1.75 rounds to 2


def test_mrcz_round_trip_keeps_voxel_size_origin_metadata(tmp_path: Path) -> None:
    data = RNG.normal(size=(12, 70, 90)).astype(np.float32)
    src = nm.write(tmp_path / "t.mrcz", data, voxel_size=(4.0, 2.5, 2.5), origin=(40, -10, 20.5),
                   metadata={"tilt": [1, 2], "name": "tomo"})
    convert_file = nm.convert_file

    convert_file(src, tmp_path / "t.ome.zarr")
    attrs = dict(zarr.open_group(str(tmp_path / "t.ome.zarr"), mode="r").attrs)
    assert attrs["mrc_metadata"] == {"tilt": [1, 2], "name": "tomo"} and attrs["mrc_header"]["mrc_mode"] == 2
    image = nm.read(tmp_path / "t.ome.zarr", lazy=True)
    assert image.voxel_size == (4.0, 2.5, 2.5) and image.origin == (40.0, -10.0, 20.5)
    assert np.array_equal(image.data.compute(), data)
    for name in ("back.mrcz", "back.mrc"):
        convert_file(tmp_path / "t.ome.zarr", tmp_path / name)
        back = nm.read(tmp_path / name)
        assert np.array_equal(back.data, data) and back.voxel_size == (4.0, 2.5, 2.5)
        assert back.origin == pytest.approx((40.0, -10.0, 20.5)) and back.metadata == image.metadata
    with pytest.raises(MrczError, match="exists"):
        convert_file(src, tmp_path / "t.ome.zarr")
    convert_file(src, tmp_path / "t.ome.zarr", overwrite=True)


def test_tilt_series_not_binned_in_z(tmp_path: Path) -> None:
    import mrcfile

    stack = RNG.normal(size=(9, 600, 40)).astype(np.float32)
    with mrcfile.new(tmp_path / "ts.st") as mrc:
        mrc.set_data(stack)
        mrc.set_image_stack()
    convert_file = nm.convert_file

    out = convert_file(tmp_path / "ts.st", tmp_path / "ts.ome.zarr")
    group = zarr.open_group(str(out), mode="r")
    assert [group[k].shape for k in ("0", "1", "2")] == [(9, 600, 40), (9, 300, 20), (9, 150, 10)]
    scales = [d["coordinateTransformations"][0]["scale"] for d in _multiscales(Path(out))["datasets"]]
    assert [s[0] for s in scales] == [scales[0][0]] * 3


def test_read_units_from_ngff_metadata(tmp_path: Path) -> None:
    """Metadata written by ome-zarr-py's own writer, in nanometres: voxel size and origin come back in Å."""
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_multiscales_metadata

    data = RNG.integers(0, 1000, size=(8, 64, 64)).astype(np.uint16)
    group = zarr.open_group(str(tmp_path / "nm.ome.zarr"), mode="w", zarr_format=2)
    group.create_array("s0", data=data, chunks=(8, 32, 32))
    axes = [{"name": n, "type": "space", "unit": "nanometer"} for n in "zyx"]
    write_multiscales_metadata(group, [{"path": "s0", "coordinateTransformations": [
        {"type": "scale", "scale": [0.5, 0.25, 0.25]}, {"type": "translation", "translation": [1.0, 2.0, 3.0]}]}],
        fmt=FormatV04(), axes=axes)
    image = nm.read(tmp_path / "nm.ome.zarr")
    assert image.voxel_size == pytest.approx((5.0, 2.5, 2.5)) and image.origin == pytest.approx((10.0, 20.0, 30.0))
    assert np.array_equal(image.data, data) and image.metadata == {}
    with pytest.raises(MrczError, match="level"):
        nm.read(tmp_path / "nm.ome.zarr", level=1)
    nm.write(tmp_path / "nm.mrc", nm.read(tmp_path / "nm.ome.zarr", lazy=True))
    assert nm.read(tmp_path / "nm.mrc").voxel_size == pytest.approx((5.0, 2.5, 2.5))


def test_napari_ome_zarr_reads_our_output_with_the_right_scale(tmp_path: Path) -> None:
    pytest.importorskip("napari_ome_zarr")
    from napari_ome_zarr import napari_get_reader

    data = RNG.normal(size=(20, 600, 300)).astype(np.float32)
    out = nm.write(tmp_path / "n.ome.zarr", data, voxel_size=(3.0, 1.5, 1.5), origin=(30, 60, 90))
    reader = napari_get_reader(str(out))
    assert reader is not None
    layers = reader(str(out))
    levels, kwargs, kind = layers[0]
    assert kind == "image" and len(levels) == 3 and np.array_equal(np.asarray(levels[0]), data)
    assert list(kwargs["scale"]) == [3.0, 1.5, 1.5] and tuple(kwargs["units"]) == ("angstrom",) * 3
    # napari-ome-zarr 0.10 applies only the first of dataset 0's transforms (the scale): the NGFF
    # translation we write (the origin) is not shown there (see docs/zarr.md)


def test_dask_array_written_region_by_region(tmp_path: Path) -> None:
    da = pytest.importorskip("dask.array")
    data = da.random.default_rng(3).normal(size=(40, 90, 80), chunks=(7, 90, 80)).astype(np.float32)
    out = write_ome_zarr(tmp_path / "d.ome.zarr", data, chunks=16)
    assert np.array_equal(zarr.open_group(out, mode="r")["0"][...], data.compute())




def test_failure_mid_write_leaves_nothing(tmp_path: Path) -> None:
    data = RNG.normal(size=(40, 64, 64)).astype(np.float32)
    with pytest.raises(MrczError, match="connection lost"):
        write_ome_zarr(tmp_path / "f.ome.zarr", FailingArray(data, 3, "connection lost"), chunks=16)
    assert os.listdir(tmp_path) == []
    previous = write_ome_zarr(tmp_path / "f.ome.zarr", data[:4], chunks=16)
    with pytest.raises(MrczError):
        write_ome_zarr(tmp_path / "f.ome.zarr", FailingArray(data, 3), chunks=16, overwrite=True)
    assert os.listdir(tmp_path) == ["f.ome.zarr"]  # the earlier image is untouched
    assert zarr.open_group(previous, mode="r")["0"].shape == (4, 64, 64)


def test_bad_targets_and_inputs(tmp_path: Path) -> None:
    data = np.zeros((4, 8, 8), np.float32)
    (tmp_path / "file").write_text("x")
    for target, why in ((tmp_path / "file" / "x.ome.zarr", "does not exist"),
                        (tmp_path / "missing" / "x.ome.zarr", "does not exist"),
                        (tmp_path / "file", "not a folder")):
        with pytest.raises(MrczError, match=why):
            write_ome_zarr(target, data, overwrite=True)
    for kwargs, why in (({"chunks": 15}, "chunks"), ({"clevel": 0}, "clevel")):
        with pytest.raises(MrczError, match=why):
            write_ome_zarr(tmp_path / "y.ome.zarr", data, **kwargs)
    with pytest.raises(MrczError, match="2-D"):
        write_ome_zarr(tmp_path / "y.ome.zarr", np.zeros((2, 2, 4, 4)))
    plain = zarr.open_group(str(tmp_path / "plain.zarr"), mode="w", zarr_format=2)
    plain.create_array("0", shape=(2, 2), dtype="f4")
    with pytest.raises(MrczError, match="multiscales"):
        nm.read(tmp_path / "plain.zarr")
    with pytest.raises(MrczError, match="no such"):
        nm.read(tmp_path / "none.ome.zarr")


def test_write_mrc_image_and_cli(tmp_path: Path, capsys) -> None:
    from napari_mrcz.cli.main import main

    data = RNG.normal(size=(6, 30, 20)).astype(np.float32)
    src = nm.write(tmp_path / "a.mrcz", data, voxel_size=2.0, metadata={"k": 1})
    assert main(["convert", str(src), str(tmp_path / "a.ome.zarr"), "--chunks", "16", "-q"]) == 0
    assert main(["convert", str(src), str(tmp_path / "a.ome.zarr"), "-q"]) == 1  # exists
    assert "exists" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "a.ome.zarr"), str(tmp_path / "b.mrcz"), "-q"]) == 0
    assert np.array_equal(nm.read(tmp_path / "b.mrcz").data, data)
    assert zarr.open_group(str(tmp_path / "a.ome.zarr"), mode="r")["0"].chunks == (6, 16, 16)
    assert main(["refs", str(src), "-o", str(tmp_path / "a.json")]) == 0
    refs = json.loads((tmp_path / "a.json").read_text())
    assert refs["version"] == 1 and "data/.zarray" in refs["refs"]
    assert main(["refs", str(src), "-o", str(tmp_path / "a.json")]) == 1
    nm.write(tmp_path / "c.ome.zarr", nm.read(src))  # an MrcImage: its voxel size and metadata
    assert nm.read(tmp_path / "c.ome.zarr").voxel_size == (2.0, 2.0, 2.0)
    assert nm.read(tmp_path / "c.ome.zarr").metadata == {"k": 1}


@pytest.mark.slow
def test_batch_to_ome_zarr_on_dask_distributed(tmp_path: Path, dask_scheduler: str) -> None:
    for i in range(3):
        nm.write(tmp_path / f"in{i}.mrcz", RNG.normal(size=(4 + i, 40, 30)).astype(np.float32), voxel_size=1.0 + i)
    results = nm.convert_many(sorted(tmp_path.glob("in*.mrcz")), tmp_path / "out", suffix=".ome.zarr",
                              scheduler=dask_scheduler, verify=True)
    assert [r.status for r in results] == ["done"] * 3, [r.reason for r in results]
    for i in range(3):
        image = nm.read(tmp_path / "out" / f"in{i}.ome.zarr")
        assert np.array_equal(image.data, nm.read(tmp_path / f"in{i}.mrcz").data)
        assert image.voxel_size == (1.0 + i,) * 3
