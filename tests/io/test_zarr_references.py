"""Kerchunk references: zarr (over fsspec's reference file system) and xarray read MRC/MRCZ voxels in
place, equal to napari-mrcz's own reads, locally and over HTTP from a real server on 127.0.0.1; what
zarr cannot express is refused with MrczError."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import mrcfile
import mrcz
import numpy as np
import pytest
from corpus import TESTDATA, corpus_entries
from loopback_http import LoopbackServer

import napari_mrcz as nm
from napari_mrcz.errors import MrczError, UnsupportedError

fsspec = pytest.importorskip("fsspec")
zarr = pytest.importorskip("zarr")
xr = pytest.importorskip("xarray")
pytest.importorskip("kerchunk")

RNG = np.random.default_rng(24)


def _set_axis_order(path: Path, order: tuple[int, int, int]) -> None:
    with open(path, "r+b") as fh:
        fh.seek(64)
        fh.write(np.array(order, dtype="<i4").tobytes())


def _make(kind: str, folder: Path) -> Path:
    data = RNG.normal(size=(5, 24, 20)).astype(np.float32)
    ints = RNG.integers(-300, 300, size=(4, 16, 18)).astype(np.int16)
    if kind == "plain":
        return nm.write(folder / "plain.mrc", data, voxel_size=(3.0, 2.0, 1.5), origin=(10, 20, 30))
    if kind == "mrcz_zstd":
        return nm.write(folder / "ours.mrcz", data, metadata={"sample": "x", "n": [1, 2]}, voxel_size=2.5)
    if kind == "mrcz_lz4_int16_bigendian":
        return nm.write(folder / "be.mrcz", ints, compressor="lz4", endianness=">")
    if kind == "mrcz_image":
        return nm.write(folder / "image.mrcz", data[0], voxel_size=1.2)
    if kind == "mrcz_volume_stack":
        return nm.write(folder / "stack4d.mrcz", RNG.normal(size=(2, 3, 16, 12)).astype(np.float32))
    if kind == "mrcz_by_mrcz":
        path = folder / "theirs.mrcz"
        mrcz.writeMRC(data, str(path), compressor="zstd", pixelsize=[1.0, 1.0, 1.0], meta={"k": 1})
        return path
    if kind == "plain_by_mrcfile_uint8":
        path = folder / "u8.mrc"
        with mrcfile.new(path) as mrc:
            mrc.set_data(RNG.integers(0, 255, size=(3, 8, 9)).astype(np.uint8))
        return path
    if kind == "complex64":
        return nm.write(folder / "c.mrcz", (data + 1j * data).astype(np.complex64))
    raise AssertionError(kind)


KINDS = ["plain", "mrcz_zstd", "mrcz_lz4_int16_bigendian", "mrcz_image", "mrcz_volume_stack", "mrcz_by_mrcz",
         "plain_by_mrcfile_uint8", "complex64"]


def _zarr_array(refs: dict, remote_protocol: str | None = None) -> np.ndarray:
    if remote_protocol is None:
        store = fsspec.filesystem("reference", fo=refs).get_mapper()
    else:  # zarr 3 needs an asynchronous file system for remote targets
        fs = fsspec.filesystem("reference", fo=refs, remote_protocol=remote_protocol, asynchronous=True,
                               remote_options={"asynchronous": True})
        store = zarr.storage.FsspecStore(fs, read_only=True)
    return zarr.open_group(store, mode="r", zarr_format=2)["data"][...]


@pytest.mark.parametrize("kind", KINDS)
def test_references_read_equal_ours(kind: str, tmp_path: Path) -> None:
    path = _make(kind, tmp_path)
    ours = nm.read(path)
    refs = nm.references(path)
    json.dumps(refs, allow_nan=False)  # strict JSON
    assert refs["version"] == 1
    got = _zarr_array(refs)
    assert got.dtype.newbyteorder("=") == ours.data.dtype and np.array_equal(got, ours.data)  # file byte order
    ds = xr.open_dataset(refs, engine="kerchunk")
    var = ds["data"]
    assert var.dims == {2: ("y", "x"), 3: ("z", "y", "x"), 4: ("volume", "z", "y", "x")}[ours.data.ndim]
    assert np.array_equal(var.values, ours.data)
    for axis, d in zip(("z", "y", "x"), range(3)):
        if axis in var.dims and ours.voxel_size[d] > 0:
            expected = ours.origin[d] + ours.voxel_size[d] * np.arange(var.sizes[axis])
            assert np.allclose(ds[axis].values, expected) and ds[axis].attrs["units"] == "angstrom"
    assert var.attrs["mrc_metadata"] == ours.metadata
    assert var.attrs["mrc_header"]["mode"] == ours.header.mode


@pytest.mark.parametrize("kind", ["plain", "mrcz_zstd", "mrcz_by_mrcz", "mrcz_volume_stack"])
def test_references_over_http(kind: str, tmp_path: Path) -> None:
    pytest.importorskip("aiohttp")
    with LoopbackServer(tmp_path) as server:
        path = _make(kind, server.root)
        refs = nm.references(server.url(path.name))
        assert all(v[0].startswith("http://127.0.0.1") for k, v in refs["refs"].items() if isinstance(v, list))
        got = _zarr_array(refs, remote_protocol="http")
        assert np.array_equal(got, nm.read(path).data)
        ds = xr.open_dataset(refs, engine="kerchunk", storage_options={"remote_protocol": "http"})
        assert np.array_equal(ds["data"].values, nm.read(path).data)


def test_storage_order_only_on_request(tmp_path: Path) -> None:
    data = RNG.normal(size=(6, 10, 8)).astype(np.float32)
    path = nm.write(tmp_path / "axes.mrcz", data)
    _set_axis_order(path, (2, 3, 1))
    with pytest.raises(UnsupportedError, match="MAPC/MAPR/MAPS"):
        nm.references(path)
    refs = nm.references(path, storage_order=True)
    got = _zarr_array(refs)
    assert np.array_equal(got, nm.open_mrc(path).read_slices(0, 6))  # as stored
    attrs = json.loads(refs["refs"]["data/.zattrs"])
    assert attrs["_ARRAY_DIMENSIONS"] == ["x", "z", "y"]  # MAPS, MAPR, MAPC = 1, 3, 2
    assert "as stored" in attrs["mrc_storage_order"]


def _write_raw(path: Path, mode: int, nx: int, payload: bytes) -> None:
    from napari_mrcz.format.build import build_header
    from napari_mrcz.format.header import HEADER_DTYPE

    rec = np.frombuffer(build_header(shape=(2, 3, 4), dtype=np.dtype("i1"), byte_order="<",
                                     voxel_size=(1, 1, 1), compressor=None), dtype=HEADER_DTYPE).copy()
    rec["mode"], rec["nx"] = mode, nx
    path.write_bytes(rec.tobytes() + payload)


def test_refused_what_zarr_cannot_express(tmp_path: Path) -> None:
    _write_raw(tmp_path / "c.mrc", 3, 4, np.zeros(2 * 3 * 4 * 2, "<i2").tobytes())
    _write_raw(tmp_path / "p.mrc", 101, 5, np.zeros(2 * 3 * 3, "u1").tobytes())
    for name, why in (("c.mrc", "complex int16"), ("p.mrc", "4-bit")):
        with pytest.raises(UnsupportedError, match=why):
            nm.references(tmp_path / name)
    gz = tmp_path / "x.mrc.gz"
    import gzip
    gz.write_bytes(gzip.compress(nm.write(tmp_path / "x.mrc", np.zeros((2, 3, 4), np.float32)).read_bytes()))
    with pytest.raises(UnsupportedError, match="gzip"):
        nm.references(gz)


@pytest.mark.parametrize("entry", [e for e in corpus_entries("mrcz")] or [None])
def test_corpus_references(entry) -> None:
    if entry is None:
        pytest.skip(f"no shared corpus at {TESTDATA}")
    path = TESTDATA / entry["path"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        refs = nm.references(path)  # blosc2-format chunks decode through imagecodecs-numcodecs
        assert np.array_equal(_zarr_array(refs), nm.read(path).data)


@pytest.mark.parametrize("entry", corpus_entries("bad") or [None])
def test_bad_files_refused(entry) -> None:
    if entry is None:
        pytest.skip(f"no shared corpus at {TESTDATA}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            refs = nm.references(TESTDATA / entry["path"])
        except MrczError:
            return
    with pytest.raises(Exception):  # accepted at open: its chunks must then fail in zarr, never give data
        _zarr_array(refs)
