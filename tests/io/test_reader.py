"""Reading: the shared corpus against its oracles, files mrcfile and mrcz write, and lazy access."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus import TESTDATA, corpus_params

import napari_mrcz as nm
from napari_mrcz.errors import ChunkError

mrcfile = pytest.importorskip("mrcfile")
mrcz = pytest.importorskip("mrcz")


def _mrcfile_zyx(path: Path) -> np.ndarray:
    """mrcfile's data reordered to z, y, x (the corpus README's oracle)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mrcfile.open(path, permissive=True) as m:
            ref = np.asarray(m.data).copy()
            h = m.header
            storage = [int(h.maps), int(h.mapr), int(h.mapc)]
    if ref.ndim == 3 and storage != [3, 2, 1]:
        ref = np.transpose(ref, [storage.index(a) for a in (3, 2, 1)])
    return ref


@pytest.mark.parametrize("entry", corpus_params("mrcz"))
@pytest.mark.parametrize("lazy", [False, True])
def test_mrcz_corpus_matches_truth(entry: dict[str, Any], lazy: bool) -> None:
    image = nm.read(TESTDATA / entry["path"], lazy=lazy)
    truth = np.load(TESTDATA / entry["truth"])
    got = np.asarray(image.data)
    assert got.size == truth.size and np.array_equal(got.reshape(truth.shape), truth)
    assert got.dtype.isnative
    assert image.voxel_size == pytest.approx(entry["voxel_size_A_zyx"], rel=1e-5)
    if "metadata" in entry:
        assert image.metadata == entry["metadata"]
    assert image.header.compressor == entry["compressor"]
    for key, field in (("voltage_kV", "voltage"), ("C3_mm", "c3"), ("gain", "gain")):
        if key in entry:
            assert getattr(image.header, field) == pytest.approx(entry[key])


@pytest.mark.parametrize("entry", corpus_params("real"))
def test_real_corpus_matches_mrcfile(entry: dict[str, Any]) -> None:
    path = TESTDATA / entry["path"]
    expected = _mrcfile_zyx(path)
    for lazy in (False, True):
        image = nm.read(path, lazy=lazy)
        got = np.asarray(image.data)
        assert got.shape == expected.shape and np.array_equal(got, expected)
    want = entry["voxel_size_A_zyx"][-got.ndim :]
    assert image.voxel_size[-got.ndim :] == pytest.approx(want, rel=1e-5)
    assert image.header.exttyp == entry["exttyp"]
    assert list(image.header.axis_order) == entry["axis_order_crs"]


def _mrcfile_write(path: Path, data: np.ndarray, voxel: float | tuple, **kwargs: Any) -> None:
    with mrcfile.new(path, overwrite=True, **kwargs) as m:
        m.set_data(data)
        m.voxel_size = voxel


@pytest.mark.parametrize("dtype", ["i1", "i2", "u2", "f4", "c8", "f2", ">i2", ">f4", "u1"])
def test_files_mrcfile_writes(tmp_path: Path, dtype: str) -> None:
    """Local files here; the same files through gzip, bzip2 and HTTP in test_backends."""
    rng = np.random.default_rng(3)
    data = (rng.normal(size=(3, 10, 14)) * 50).astype(dtype)
    path = tmp_path / "m.mrc"
    _mrcfile_write(path, data, (1.5, 2.5, 3.5))  # x, y, z
    image = nm.read(path)
    expected = data.astype("u2") if dtype == "u1" else data  # mrcfile widens uint8 to mode 6
    assert np.array_equal(image.data, expected) and image.data.dtype.isnative
    assert image.voxel_size == pytest.approx((3.5, 2.5, 1.5))


def test_mrcfile_image_stack_and_volume_stack(tmp_path: Path) -> None:
    stack = np.arange(4 * 6 * 5, dtype=np.float32).reshape(4, 6, 5)
    path = tmp_path / "s.mrcs"
    with mrcfile.new(path) as m:
        m.set_data(stack)
        m.set_image_stack()
        m.voxel_size = 1.25
    image = nm.read(path)
    assert np.array_equal(image.data, stack) and image.voxel_size == (1.25, 1.25, 1.25)
    volumes = np.arange(2 * 3 * 4 * 5, dtype=np.int16).reshape(2, 3, 4, 5)
    _mrcfile_write(tmp_path / "v.mrc", volumes, 2.0)
    for lazy in (False, True):
        got = nm.read(tmp_path / "v.mrc", lazy=lazy)
        assert np.array_equal(np.asarray(got.data), volumes) and got.axis_labels == ("volume", "z", "y", "x")
    single = np.ones((7, 9), dtype=np.float32)
    _mrcfile_write(tmp_path / "i.mrc", single, 0.5)
    assert nm.read(tmp_path / "i.mrc").data.shape == (7, 9)


@pytest.mark.parametrize("slices", [0, 1, 2])
def test_files_mrcz_writes(tmp_path: Path, slices: int) -> None:
    data = np.arange(4 * 12 * 10, dtype=np.float32).reshape(4, 12, 10)
    path = str(tmp_path / "z.mrcz")
    frames = [data] if slices == 0 else list(data.reshape(-1, slices, 12, 10)) if slices > 1 else list(data)
    mrcz.writeMRC(frames[0] if slices == 0 else frames, path, pixelsize=[3.0, 2.0, 1.0],
                  pixelunits="\\AA", compressor="zstd", meta={"k": 1})
    image = nm.read(path)
    assert np.array_equal(image.data.reshape(data.shape), data)
    assert image.voxel_size == pytest.approx((3.0, 2.0, 1.0))
    assert image.metadata == {"k": 1}


def _write_raw(path: Path, header_fields: dict[str, Any], payload: bytes) -> None:
    from napari_mrcz.format.build import build_header
    from napari_mrcz.format.header import HEADER_DTYPE

    rec = np.frombuffer(build_header(shape=(2, 3, 4), dtype=np.dtype("i1"), byte_order="<",
                                     voxel_size=(1, 1, 1), compressor=None), dtype=HEADER_DTYPE).copy()
    for name, value in header_fields.items():
        rec[name] = value
    path.write_bytes(rec.tobytes() + payload)


def test_packed_modes(tmp_path: Path) -> None:
    pairs = np.arange(2 * 3 * 4 * 2, dtype="<i2")
    _write_raw(tmp_path / "c.mrc", {"mode": 3}, pairs.tobytes())
    got = nm.read(tmp_path / "c.mrc").data
    assert got.dtype == np.complex64
    assert np.array_equal(got.ravel(), pairs[0::2] + 1j * pairs[1::2])
    nibbles = np.arange(2 * 3 * 5, dtype=np.uint8) % 16  # odd NX: rows padded to whole bytes
    rows = np.pad(nibbles.reshape(2, 3, 5), ((0, 0), (0, 0), (0, 1)))
    packed = (rows[..., 0::2] | (rows[..., 1::2] << 4)).astype(np.uint8)
    _write_raw(tmp_path / "p.mrc", {"mode": 101, "nx": 5}, packed.tobytes())
    for lazy in (False, True):
        assert np.array_equal(np.asarray(nm.read(tmp_path / "p.mrc", lazy=lazy).data), nibbles.reshape(2, 3, 5))


def test_imod_unsigned_bytes(tmp_path: Path) -> None:
    data = np.arange(24, dtype=np.uint8) * 10
    _write_raw(tmp_path / "u.mrc", {"imod_stamp": 1146047817, "imod_flags": 0}, data.tobytes())
    assert np.array_equal(nm.read(tmp_path / "u.mrc").data.ravel(), data)


def test_lazy_is_one_chunk_per_slice_and_decompresses_nothing_on_open(tmp_path: Path) -> None:
    data = np.random.default_rng(0).integers(0, 9, size=(6, 32, 40)).astype(np.int16)
    path = tmp_path / "l.mrcz"
    nm.write(path, data)
    info = nm.open_mrc(path)
    assert info.chunk_index is not None
    # corrupt slice 4's payload (not its header): opening still succeeds, only slice 4 fails
    raw = bytearray(path.read_bytes())
    start, size = int(info.chunk_index.offsets[4]), int(info.chunk_index.cbytes[4])
    raw[start + 16 : start + size] = bytes(size - 16)
    path.write_bytes(bytes(raw))
    lazy = nm.read(path, lazy=True).data
    assert lazy.chunks == ((1,) * 6, (32,), (40,))
    assert np.array_equal(lazy[:4].compute(), data[:4])
    assert np.array_equal(lazy[5, 3:7, ::2].compute(), data[5, 3:7, ::2])
    try:
        lazy[4].compute()
    except ChunkError as err:
        assert "compressed slice 4" in str(err)


def test_lazy_graph_names_are_stable(tmp_path: Path) -> None:
    path = tmp_path / "n.mrcz"
    nm.write(path, np.zeros((3, 4, 5), dtype=np.float32))
    assert nm.read(path, lazy=True).data.name == nm.read(path, lazy=True).data.name


@pytest.mark.slow
def test_lazy_on_process_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    data = np.random.default_rng(1).normal(size=(8, 64, 48)).astype(np.float32)
    compressed, plain = tmp_path / "d.mrcz", tmp_path / "d.mrc"
    nm.write(compressed, data)
    nm.write(plain, data, compressor=None)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        for path in (compressed, plain):
            lazy = nm.read(path, lazy=True).data
            assert np.array_equal(client.compute(lazy).result(), data)
            assert float(client.compute(lazy.sum(dtype=np.float64)).result()) == pytest.approx(
                float(data.sum(dtype=np.float64)))


def test_eager_read_refuses_more_than_memory(tmp_path: Path) -> None:
    import os

    from napari_mrcz.format.build import build_header

    shape = (40, 32768, 32768)  # 43 GB of int8, more than the machine has; a sparse file on disk
    path = tmp_path / "big.mrc"
    path.write_bytes(build_header(shape=shape, dtype=np.dtype("i1"), byte_order="<",
                                  voxel_size=(1, 1, 1), compressor=None))
    os.truncate(path, 1024 + int(np.prod(shape)))
    with pytest.raises(nm.MrczError, match="lazy=True"):
        nm.read(path)
    lazy = nm.read(path, lazy=True).data
    assert lazy.shape == shape and int(lazy[17, :2, :2].sum().compute()) == 0


@pytest.mark.parametrize("dmin, dmax, unsigned", [(0, 245, True), (0, 255, True), (3, 128, True), (0, 127, False),
                                                  (-5, 100, False), (-1, -2, False), (0, 300, False),
                                                  (10, 5, False), (float("nan"), 200, False)])
def test_mode_0_signedness_from_header_statistics(tmp_path: Path, dmin: float, dmax: float, unsigned: bool) -> None:
    """Mode 0 without IMOD's stamp: unsigned bytes where the header's statistics can only describe
    unsigned ones (0 <= DMIN <= DMAX, 127 < DMAX <= 255), as IMOD reads them; else MRC2014's int8."""
    import mrcfile

    raw = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    path = tmp_path / "bytes.mrc"
    with mrcfile.new(str(path)) as mrc:
        mrc.set_data(raw.view(np.int8))
        mrc.header.dmin, mrc.header.dmax = dmin, dmax
    data = nm.read(path).data
    expected = raw if unsigned else raw.view(np.int8)
    assert data.dtype == expected.dtype and np.array_equal(data, expected)
    assert np.array_equal(np.asarray(nm.read(path, lazy=True).data), expected)


def test_mode_0_unsigned_edge_file_reads_as_written() -> None:
    path = Path(__file__).resolve().parents[2].parent / "shared/testdata/edges/mode0_unsigned_values.mrc"
    if not path.is_file():
        pytest.skip("no shared corpus")
    data = nm.read(path).data
    assert data.dtype == np.uint8 and int(data.min()) == 0 and int(data.max()) == 245
    truth = path.with_suffix(".mrc.npy") if path.with_suffix(".mrc.npy").is_file() else Path(str(path) + ".npy")
    if truth.is_file():
        assert np.array_equal(data, np.load(truth).astype(np.uint8))
