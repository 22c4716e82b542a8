"""One suite over every backend (the ``source`` fixture: a local file, a .gz and a .bz2 of it, its URL
on a loopback HTTP server): every kind of file reads the same values through every read path (open,
eager read, read_slices, region and partial x-z decode, lazy dask, a multiscale level), with the
header, metadata and voxel size the local file has. Backend-specific behaviour (request budgets,
failing servers, stream damage) is tested beside its backend.
"""

from __future__ import annotations

from pathlib import Path

import mrcfile
import mrcz
import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz import config
from napari_mrcz.io.reader.array import MrcArray
from napari_mrcz.io.reader.multiscale import numpy_levels, pyramid

RNG = np.random.default_rng(13)
MRCFILE_DTYPES = ["i1", "i2", "u2", "f4", "c8", "f2", ">i2", ">f4", "u1"]


def _volume(shape: tuple[int, ...], dtype: str = "float32") -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        return RNG.normal(size=shape).astype(dtype)
    if np.dtype(dtype).kind == "c":
        return (RNG.normal(size=shape) + 1j * RNG.normal(size=shape)).astype(dtype)
    return RNG.integers(0, 100, size=shape).astype(dtype)


def _set_axis_order(path: Path, order: tuple[int, int, int]) -> None:
    with open(path, "r+b") as fh:
        fh.seek(64)
        fh.write(np.array(order, dtype="<i4").tobytes())


def make(kind: str, folder: Path) -> tuple[Path, np.ndarray]:
    """One file of each kind every backend must read, and the values it holds (z, y, x)."""
    data = _volume((9, 40, 36))
    if kind.startswith("mrcfile_"):  # files mrcfile writes (mode by dtype; uint8 widened to mode 6)
        dtype = kind.split("_", 1)[1]
        values = (RNG.normal(size=(3, 10, 14)) * 50).astype(dtype)
        path = folder / f"{kind}.mrc"
        with mrcfile.new(path) as m:
            m.set_data(values)
            m.voxel_size = (1.5, 2.5, 3.5)
        return path, values.astype("u2") if dtype == "u1" else values.astype(values.dtype.newbyteorder("="))
    if kind == "plain":
        return nm.write(folder / "plain.mrc", data, compressor=None), data
    if kind == "plain_json":
        return nm.write(folder / "meta.mrc", data, compressor=None, metadata={"k": "v" * 100}), data
    if kind == "mrcz_zstd":
        return nm.write(folder / "ours.mrcz", data, metadata={"sample": "x"}), data
    if kind == "mrcz_lz4_int16":
        values = _volume((7, 33, 31), "int16")
        return nm.write(folder / "lz4.mrcz", values, compressor="lz4", clevel=9), values
    if kind == "mrcz_bigendian":
        return nm.write(folder / "be.mrcz", data, endianness=">"), data
    if kind == "mrcz_image":
        return nm.write(folder / "image.mrcz", data[0]), data[0]
    if kind == "mrcz_volume_stack":
        values = _volume((2, 3, 16, 12))
        return nm.write(folder / "stack4d.mrcz", values), values
    if kind == "mrcz_by_mrcz":
        path = folder / "theirs.mrcz"
        mrcz.writeMRC(data, str(path), compressor="zstd", pixelsize=[1.0, 1.0, 1.0])
        return path, data
    if kind == "plain_axis_312":
        path = folder / "axes.map"
        with mrcfile.new(path) as mrc:
            mrc.set_data(data)
        _set_axis_order(path, (3, 1, 2))
        return path, nm.read(path).data
    if kind == "mrcz_axis_231":
        path = nm.write(folder / "axes.mrcz", data)
        _set_axis_order(path, (2, 3, 1))
        return path, nm.read(path).data
    raise AssertionError(kind)


KINDS = ["plain", "plain_json", "mrcz_zstd", "mrcz_lz4_int16", "mrcz_bigendian", "mrcz_image",
         "mrcz_volume_stack", "mrcz_by_mrcz", "plain_axis_312", "mrcz_axis_231",
         *(f"mrcfile_{d}" for d in MRCFILE_DTYPES)]


@pytest.mark.parametrize("kind", KINDS)
def test_every_read_path_on_every_backend(kind: str, source, tmp_path: Path) -> None:
    path, truth = make(kind, tmp_path)
    local = nm.open_mrc(path)
    target = source(path)
    # open
    info = nm.open_mrc(target)
    assert info.path == target and info.header == local.header
    assert info.metadata == local.metadata and info.voxel_size == local.voxel_size
    assert info.source.container == {"gzip": "gzip", "bz2": "bz2"}.get(source.name)
    # eager read and one stored z-slice
    image = nm.read(target)
    assert np.array_equal(image.data, truth) and image.data.dtype.isnative and image.data.dtype == truth.dtype
    assert image.metadata == local.metadata and image.voxel_size == local.voxel_size
    nz = info.header.nz
    assert np.array_equal(info.read_slices(nz - 1, nz), local.read_slices(nz - 1, nz))
    # lazy: dask, and the region paths (an x-z slice decodes only the blocks holding its row)
    lazy = nm.read(target, lazy=True)
    assert lazy.path == target and lazy.metadata == local.metadata
    assert np.array_equal(lazy.data.compute(), truth)
    if truth.ndim >= 3:
        y = truth.shape[-2] // 2
        assert np.array_equal(MrcArray(info)[..., y, :], truth[..., y, :])
        assert np.array_equal(lazy.data[..., y, 1::3].compute(), truth[..., y, 1::3])
        assert np.array_equal(MrcArray(info)[..., 2:5, 3], truth[..., 2:5, 3])
    # a pyramid level, computed lazily from the file, equals the one computed from the values
    with config.set({"multiscale.level_side": 8}):
        levels = pyramid(info)
        expected = numpy_levels(local, truth)
    assert len(levels) == len(expected) >= 2
    assert np.allclose(np.asarray(levels[1]), expected[1], equal_nan=True)
    info.close()


def test_the_backends_are_what_they_say(source, tmp_path: Path) -> None:
    path, _ = make("plain", tmp_path)
    target = source(path)
    assert isinstance(target, str) == (source.name == "http")
    assert str(target).endswith({"gzip": ".gz", "bz2": ".bz2"}.get(source.name, ".mrc"))
