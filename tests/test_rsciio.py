"""The RosettaSciIO-compatible API: rsciio's own write→read cases, the cases rsciio fails on, and
files exchanged with rsciio itself."""

from __future__ import annotations

import copy
import importlib.metadata
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus import corpus_params

import napari_mrcz as nm
from napari_mrcz import MrczError, MrczWarning
from napari_mrcz.rsciio import file_reader, file_writer

DTYPES = ["float32", "int8", "int16", "uint16", "complex64"]  # rsciio's test_mrcz.py list
COMPRESSORS = [None, "zlib", "zstd", "lz4"]


def _data(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "c":
        return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)
    if np.dtype(dtype).kind == "f":
        return rng.normal(size=shape).astype(dtype)
    return rng.integers(0, 10, size=shape).astype(dtype)


def _signal(data: Any, scales: tuple[float, ...] = (0.31, 0.57, 0.83), units: Any = "nm") -> dict[str, Any]:
    """A signal dict as HyperSpy hands it to a writer (axes in array order), with rsciio's test metadata."""
    names = ("z", "y", "x")[-data.ndim:]
    units = [units] * data.ndim if isinstance(units, str) or units is None else units
    axes = [{"name": n, "units": u, "scale": s, "offset": 0.0, "size": size, "navigate": data.ndim == 3 and i == 0,
             "index_in_array": i} for i, (n, u, s, size) in enumerate(zip(names, units, scales[-data.ndim:], data.shape))]
    metadata = {
        "General": {"title": "Zoë's test", "FileIO": {"0": {"operation": "load", "io_plugin": "rsciio.mrcz"}}},
        "Acquisition_instrument": {"TEM": {"beam_energy": 300.0, "magnification": 25000}},
        "Signal": {"Noise_properties": {"Variance_linear_model": {"gain_factor": 1.0}}},
    }
    return {"data": data, "axes": axes, "metadata": metadata}


def _apply_mapping(signal: dict[str, Any]) -> dict[str, Any]:
    """What HyperSpy's dict2signal does with ``mapping``: copy original_metadata values into metadata."""
    metadata = copy.deepcopy(signal["metadata"])
    for source, (target, function) in signal["mapping"].items():
        node: Any = signal["original_metadata"]
        for key in source.split("."):
            node = node[key]
        value = function(node) if function is not None else node
        if value is not None:
            *parents, leaf = target.split(".")
            place = metadata
            for key in parents:
                place = place.setdefault(key, {})
            place[leaf] = value
    return metadata


# ---- rsciio's own cases, written for this package ----------------------------------------------


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("clevel", [1, 9])
@pytest.mark.parametrize("compressor", COMPRESSORS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_write_read(tmp_path: Path, dtype: str, compressor: str | None, clevel: int, lazy: bool) -> None:
    data = _data((2, 64, 32), dtype)
    signal = _signal(data)
    path = tmp_path / "s.mrcz"
    assert file_writer(path, signal, compressor=compressor, clevel=clevel) is None
    (got,) = file_reader(path, lazy=lazy)
    array = got["data"].compute() if lazy else got["data"]
    assert isinstance(got["data"], np.ndarray) != lazy
    assert array.dtype == data.dtype and np.array_equal(array, data)
    assert [ax["name"] for ax in got["axes"]] == ["z", "y", "x"]
    assert [ax["navigate"] for ax in got["axes"]] == [True, False, False]
    for want, ax in zip(signal["axes"], got["axes"]):
        assert (ax["size"], ax["units"], ax["offset"]) == (want["size"], "nm", 0.0)
        assert ax["scale"] == pytest.approx(want["scale"], rel=1e-6)
    assert got["metadata"] == signal["metadata"]  # stored JSON exactly: nothing added, nothing lost
    header = got["original_metadata"]["mrcz_header"]
    assert header["voltage"] == 300.0 and header["compressor"] == compressor
    assert _apply_mapping(got)["Acquisition_instrument"]["TEM"]["beam_energy"] == 300.0


@pytest.mark.parametrize("endianness", ["<", ">"])
@pytest.mark.parametrize("spelling", ["endianness", "endianess"])
def test_endianness_both_spellings(tmp_path: Path, endianness: str, spelling: str) -> None:
    data = _data((3, 16, 8), "int16")
    file_writer(tmp_path / "e.mrcz", _signal(data), compressor="zstd", **{spelling: endianness})
    (got,) = file_reader(tmp_path / "e.mrcz", **{spelling: endianness})  # rsciio: KeyError on 'endianess'
    assert got["original_metadata"]["mrcz_header"]["byte_order"] == endianness
    assert got["data"].dtype.isnative and np.array_equal(got["data"], data)


def test_endianness_invalid_or_conflicting(tmp_path: Path) -> None:
    with pytest.raises(MrczError, match="endianness"):
        file_writer(tmp_path / "x.mrcz", _signal(_data((2, 4, 4), "int8")), endianness="middle")
    with pytest.raises(MrczError, match="disagree"):
        file_writer(tmp_path / "x.mrcz", _signal(_data((2, 4, 4), "int8")), endianness=">", endianess="<")


@pytest.mark.parametrize("dtype", DTYPES)
def test_async_returns_a_future(tmp_path: Path, dtype: str) -> None:
    data = _data((2, 64, 32), dtype)
    future = file_writer(tmp_path / "a.mrcz", _signal(data), compressor="zstd", do_async=True)
    assert future is not None
    assert Path(future.result(timeout=30)) == tmp_path / "a.mrcz"
    assert np.array_equal(file_reader(tmp_path / "a.mrcz")[0]["data"], data)


def test_async_errors_reach_the_caller(tmp_path: Path) -> None:
    future = file_writer(tmp_path / "missing" / "a.mrcz", _signal(_data((2, 8, 8), "int8")), do_async=True)
    with pytest.raises((OSError, MrczError), match="missing"):
        future.result(timeout=30)
    future = file_writer(tmp_path / "s.mrcz", _signal(np.full((2, 3, 3), "abc")), do_async=True)
    with pytest.raises(MrczError, match="cannot be stored"):
        future.result(timeout=30)
    assert not list(tmp_path.iterdir())  # nothing half-written


@pytest.mark.parametrize("compressor", [None, "zstd"])
def test_lazy_is_one_chunk_per_slice(tmp_path: Path, compressor: str | None) -> None:
    data = _data((5, 20, 12), "float32")
    file_writer(tmp_path / "l.mrcz", _signal(data), compressor=compressor)
    (got,) = file_reader(tmp_path / "l.mrcz", lazy=True)
    assert got["data"].chunks == ((1,) * 5, (20,), (12,))  # rsciio loads compressed files whole
    assert np.array_equal(got["data"][3].compute(), data[3])


def test_metadata_round_trip_keeps_everything(tmp_path: Path) -> None:
    metadata = {"voltage": "not the header's", "backend": "mine", "nested": {"list": [1, 2.5, None, "Å"]},
                "pixelsize": [1, 2], "Acquisition_instrument": {"TEM": {"beam_energy": 200}}}
    signal = _signal(_data((2, 8, 8), "float32"))
    signal["metadata"] = metadata
    file_writer(tmp_path / "m.mrcz", signal, compressor="zstd")
    (got,) = file_reader(tmp_path / "m.mrcz")
    assert got["metadata"] == metadata  # mrcz drops 'voltage'/'pixelsize' and adds 'backend'
    assert got["original_metadata"]["mrcz_header"]["voltage"] == 200.0


def test_float64_and_int64_signals(tmp_path: Path) -> None:
    file_writer(tmp_path / "f.mrcz", _signal(np.linspace(0, 1, 2 * 4 * 4).reshape(2, 4, 4)), compressor="zstd")
    assert file_reader(tmp_path / "f.mrcz")[0]["data"].dtype == np.float32  # cast like rsciio
    file_writer(tmp_path / "i.mrcz", _signal(np.arange(32).reshape(2, 4, 4)), compressor="zstd")
    assert file_reader(tmp_path / "i.mrcz")[0]["data"].dtype == np.int32  # lossless narrowing


# ---- units: each axis its own, every length unit ---------------------------------------------------


@pytest.mark.parametrize(("units", "factor"), [("Å", 1.0), ("nm", 10.0), ("µm", 1e4), ("pm", 0.01), ("\\AA", 1.0)])
def test_axes_in_nm_for_files_written_in_any_unit(tmp_path: Path, units: str, factor: float) -> None:
    nm.write(tmp_path / "u.mrcz", _data((2, 6, 4), "float32"), voxel_size=(3.0, 2.0, 1.5), units=units)
    scales = [ax["scale"] for ax in file_reader(tmp_path / "u.mrcz")[0]["axes"]]
    assert scales == pytest.approx([3.0 * factor / 10, 2.0 * factor / 10, 1.5 * factor / 10], rel=1e-6)


def test_writer_reads_each_axis_units(tmp_path: Path) -> None:
    signal = _signal(_data((2, 6, 4), "float32"), scales=(30.0, 0.0002, 50.0), units=["Å", "µm", "pm"])
    file_writer(tmp_path / "mixed.mrcz", signal, compressor="zstd")  # rsciio uses 'pm' for all three
    assert nm.read(tmp_path / "mixed.mrcz").voxel_size == pytest.approx((30.0, 2.0, 0.5))


def test_undefined_units_are_nm_and_others_warn(tmp_path: Path) -> None:
    signal = _signal(_data((2, 6, 4), "float32"), scales=(1.0, 2.0, 3.0), units=["<undefined>", None, ""])
    file_writer(tmp_path / "u.mrcz", signal, compressor="zstd")
    assert nm.read(tmp_path / "u.mrcz").voxel_size == pytest.approx((10.0, 20.0, 30.0))
    signal = _signal(_data((2, 6, 4), "float32"), scales=(2.0, 1.0, 1.0), units=["deg", "nm", "nm"])
    with pytest.warns(MrczWarning, match="'deg', not a length"):
        file_writer(tmp_path / "t.mrcz", signal, compressor="zstd")


# ---- the cases RosettaSciIO crashes on -------------------------------------------------------------


def test_2d_signal_round_trip(tmp_path: Path) -> None:
    data = _data((12, 9), "uint16")
    file_writer(tmp_path / "2d.mrcz", _signal(data, scales=(0.2, 0.3)), compressor="lz4")
    (got,) = file_reader(tmp_path / "2d.mrcz")
    assert np.array_equal(got["data"], data)
    assert [(ax["name"], ax["navigate"]) for ax in got["axes"]] == [("y", False), ("x", False)]
    assert [ax["scale"] for ax in got["axes"]] == pytest.approx([0.2, 0.3])


def test_volume_stack_has_four_axes(tmp_path: Path) -> None:
    data = _data((2, 3, 5, 4), "float32")
    nm.write(tmp_path / "vs.mrc", data, compressor=None, voxel_size=(4.0, 2.0, 1.0))
    (got,) = file_reader(tmp_path / "vs.mrc")
    assert [(ax["name"], ax["units"], ax["navigate"]) for ax in got["axes"]] == [
        ("volume", "", True), ("z", "nm", True), ("y", "nm", False), ("x", "nm", False)]
    assert [ax["scale"] for ax in got["axes"]] == pytest.approx([1.0, 0.4, 0.2, 0.1])


@pytest.mark.parametrize("entry", corpus_params("real"))
def test_reads_plain_mrc_files(testdata: Path, entry: dict[str, Any]) -> None:
    (got,) = file_reader(testdata / entry["path"])
    assert list(got["data"].shape) == entry["shape_zyx"][-got["data"].ndim:]
    want = [v / 10 for v in entry["voxel_size_A_zyx"]][-got["data"].ndim:]
    assert [ax["scale"] if ax["units"] else 0.0 for ax in got["axes"]] == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("entry", corpus_params("mrcz"))
def test_reads_mrcz_files_metadata_exactly(testdata: Path, entry: dict[str, Any]) -> None:
    (got,) = file_reader(testdata / entry["path"], lazy=True)
    assert np.array_equal(got["data"].compute().reshape(entry["shape_zyx"]), np.load(testdata / entry["truth"]))
    assert got["metadata"] == entry.get("metadata", got["metadata"])  # no 'backend'/'bloscFormat'
    assert [ax["scale"] * 10 for ax in got["axes"]] == pytest.approx(
        entry["voxel_size_A_zyx"][-got["data"].ndim:], rel=1e-6)


def test_arguments_rejected_clearly(tmp_path: Path) -> None:
    file_writer(tmp_path / "a.mrc", _signal(_data((2, 4, 4), "int8")))
    with pytest.raises(MrczError, match="mmap_mode"):
        file_reader(tmp_path / "a.mrc", mmap_mode="r+")
    with pytest.raises(TypeError, match="useMemmap"):
        file_reader(tmp_path / "a.mrc", useMemmap=True)
    with pytest.raises(ValueError, match="1-D"):  # MrczError is a ValueError, as rsciio callers expect
        file_writer(tmp_path / "b.mrcz", {"data": np.zeros(4), "axes": [], "metadata": {}})


# ---- exchanging files with RosettaSciIO itself -----------------------------------------------------

rs = pytest.importorskip("rsciio.mrcz", reason="rosettasciio not installed")
RSCIIO_015 = importlib.metadata.version("rosettasciio").startswith("0.15")


def _rs_read(path: Path) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return rs.file_reader(str(path))[0]


@pytest.mark.parametrize("compressor", ["zstd", "lz4", "zlib"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_rsciio_reads_our_files(tmp_path: Path, dtype: str, compressor: str) -> None:
    data = _data((3, 16, 24), dtype)
    signal = _signal(data)
    file_writer(tmp_path / "ours.mrcz", signal, compressor=compressor)
    theirs = _rs_read(tmp_path / "ours.mrcz")
    assert np.array_equal(theirs["data"], data)
    assert [ax["scale"] for ax in theirs["axes"]] == pytest.approx([0.31, 0.57, 0.83], rel=1e-6)
    leaked = {"backend", "bloscFormat"}  # rsciio 0.15 adds these to the user's metadata
    assert {k: v for k, v in theirs["metadata"].items() if k not in leaked} == signal["metadata"]


@pytest.mark.parametrize("compressor", [None, "zstd"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_we_read_rsciio_files(tmp_path: Path, dtype: str, compressor: str | None) -> None:
    data = _data((3, 16, 24), dtype)
    signal = _signal(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        rs.file_writer(str(tmp_path / "theirs.mrcz"), signal, compressor=compressor)
    (ours,) = file_reader(tmp_path / "theirs.mrcz")
    assert np.array_equal(ours["data"], data)
    assert [ax["scale"] for ax in ours["axes"]] == pytest.approx([0.31, 0.57, 0.83], rel=1e-6)
    assert ours["metadata"] == signal["metadata"]
    assert _apply_mapping(ours)["Acquisition_instrument"]["TEM"]["beam_energy"] == 300.0


def _no_metadata(path: Path) -> np.ndarray:
    data = _data((3, 8, 8), "float32")
    nm.write(path, data, compressor="zstd", voxel_size=5.0)
    return data


def _two_d(path: Path) -> np.ndarray:
    data = _data((8, 6), "float32")
    nm.write(path, data, compressor="zstd", voxel_size=5.0, metadata={"a": 1})
    return data


def _mrcfile_volume(path: Path) -> np.ndarray:
    mrcfile = pytest.importorskip("mrcfile")
    data = _data((3, 8, 8), "float32")
    with mrcfile.new(path, overwrite=True) as mrc:  # MZ = NZ, as every mrcfile volume
        mrc.set_data(data)
        mrc.voxel_size = 5.0
    return data


def _plain_ours(path: Path) -> np.ndarray:
    data = _data((3, 8, 8), "float32")
    nm.write(path, data, compressor=None, voxel_size=5.0, metadata={"a": 1})
    return data


@pytest.mark.parametrize("make", [_no_metadata, _two_d, _mrcfile_volume, _plain_ours], ids=lambda f: f.__name__[1:])
def test_files_rsciio_cannot_read(tmp_path: Path, make: Any) -> None:
    path = tmp_path / "f.mrc"
    data = make(path)
    (ours,) = file_reader(path)
    assert np.array_equal(ours["data"], data)
    assert [ax["scale"] for ax in ours["axes"]] == pytest.approx([0.5] * data.ndim)
    if RSCIIO_015:  # the defect this package exists to fix (FORMAT.md); later versions may mend it
        with pytest.raises((KeyError, IndexError, AttributeError, TypeError, ValueError)):
            _rs_read(path)
