"""The napari reader hook through npe2 and a headless ViewerModel: what layers the corpus opens as,
what it refuses, lazy loading, folders and lists; one drag-and-drop equivalent in a real viewer."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus import TESTDATA, corpus_params

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.plugin import reader as _reader  # noqa: E402
from napari_mrcz.errors import MrczWarning  # noqa: E402
from checks import PLUGIN, layer_tuples  # noqa: E402


def _read(path: Path | list, **kw: Any) -> list[tuple]:
    paths = path if isinstance(path, list) else [path]
    return layer_tuples(npe2.read([str(p) for p in paths], plugin_name=PLUGIN, stack=len(paths) > 1, **kw))


def _scale_in_angstrom(kwargs: dict[str, Any]) -> np.ndarray:
    factor = {"angstrom": 1.0, "nm": 10.0, "pixel": 1.0}
    return np.array([s * factor[u] for s, u in zip(kwargs["scale"], kwargs["units"])])


@pytest.mark.parametrize("entry", corpus_params("mrcz"))
def test_mrcz_corpus_layers(entry: dict[str, Any]) -> None:
    (data, kwargs, kind), *phase = _read(TESTDATA / entry["path"])
    truth = np.load(TESTDATA / entry["truth"])
    assert kind == "image" and kwargs["rgb"] is False
    if truth.dtype.kind == "c":  # napari cannot show complex: amplitude and phase layers, noted in the metadata
        ((angle, phase_kwargs, _),) = phase
        assert phase_kwargs["metadata"]["mrcz"]["complex"] == "phase"
        assert np.allclose(np.asarray(angle).reshape(truth.shape), np.angle(truth), atol=1e-6)
        assert tuple(phase_kwargs["contrast_limits"]) == pytest.approx((-np.pi, np.pi))
        truth = np.abs(truth).astype(np.float32)
        assert kwargs["metadata"]["mrcz"]["complex"] == "amplitude"
    else:
        assert not phase
    assert np.asarray(data).dtype == truth.dtype.newbyteorder("=")
    assert np.array_equal(np.asarray(data).reshape(truth.shape), truth)
    assert len(kwargs["scale"]) == len(kwargs["units"]) == len(kwargs["axis_labels"]) == np.ndim(data)
    assert kwargs["axis_labels"] == ("z", "y", "x")[-np.ndim(data) :]
    expected = np.array(entry["voxel_size_A_zyx"])[-np.ndim(data) :]
    assert np.allclose(_scale_in_angstrom(kwargs), expected, rtol=1e-6)
    ours = kwargs["metadata"]["mrcz"]
    assert ours["metadata"] == entry.get("metadata", ours["metadata"])  # exactly the writer's dict
    assert ours["path"] == str(TESTDATA / entry["path"]) and ours["header"]["nx"] == truth.shape[-1]
    low, high = kwargs["contrast_limits"]
    assert low < high and np.isfinite([low, high]).all()
    assert kwargs["name"] == Path(entry["path"]).name.split(".")[0]


@pytest.mark.parametrize("entry", corpus_params("real"))
def test_real_corpus_layers(entry: dict[str, Any]) -> None:
    path = TESTDATA / entry["path"]
    if not _reader.claims(path):
        assert _reader.get_reader(str(path)) is None
        return
    ((data, kwargs, _),) = _read(path)
    assert kwargs["multiscale"] == (max(entry["shape_zyx"][-2:]) > 2048)  # fei-extended.mrc: 4096 px
    data = data[0] if kwargs["multiscale"] else data
    assert data.shape == tuple(entry["shape_zyx"])
    assert len(kwargs["scale"]) == data.ndim  # fei-extended.mrc is a single image: a 2-D layer
    voxel = np.array(entry["voxel_size_A_zyx"])[-data.ndim :]
    assert np.allclose(_scale_in_angstrom(kwargs), voxel, rtol=1e-5)
    if voxel.min() >= 10:
        assert set(kwargs["units"]) == {"nm"}  # EMD-3197: 11.4 Å voxels show as 1.14 nm
    else:
        assert set(kwargs["units"]) == {"angstrom"}


@pytest.mark.parametrize("entry", corpus_params("bad"))
def test_bad_files_are_refused_with_the_reason(entry: dict[str, Any]) -> None:
    path = str(TESTDATA / entry["path"])
    with pytest.warns(MrczWarning, match="napari-mrcz cannot open ") as record:
        assert _reader.get_reader(path) is None
    assert str(TESTDATA / entry["path"]) in str(record[0].message)  # the core's message names the file


def test_get_reader_never_raises_on_what_it_does_not_claim(tmp_path: Path) -> None:
    (tmp_path / "image.tif").write_bytes(b"II*\0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _reader.get_reader(str(tmp_path / "image.tif")) is None
        assert _reader.get_reader(str(tmp_path / "missing.mrc")) is None
        assert _reader.get_reader(str(tmp_path)) is None  # a folder with nothing of ours
        assert _reader.get_reader([str(tmp_path / "image.tif")]) is None
        assert _reader.get_reader([]) is None
        assert _reader.get_reader(None) is None  # type: ignore[arg-type]
        assert _reader.get_reader("bad\0name.mrc") is None


def test_corrupt_claimed_file_shows_our_message(viewer: Any) -> None:
    bad = TESTDATA / "bad" / "truncated_chunk.mrcz"
    if not bad.is_file():
        pytest.skip("no shared corpus")
    with pytest.warns(MrczWarning, match="compressed slice 2 of 12"), pytest.raises(ValueError, match="napari-mrcz"):
        viewer.open(str(bad), plugin=PLUGIN)


def test_viewer_open_sets_physical_scale(viewer: Any, testdata: Path) -> None:
    (layer,) = viewer.open(str(testdata / "mrcz" / "tomo_float32_lz4_9_nm.mrcz"), plugin=PLUGIN)
    assert layer.name == "tomo_float32_lz4_9_nm"
    assert np.allclose(layer.scale, (5.4, 5.4, 5.4))
    assert [str(u) for u in layer.units] == ["angstrom"] * 3
    assert tuple(layer.axis_labels) == ("z", "y", "x")
    assert layer.metadata["mrcz"]["metadata"]["operator"] == "Zoë Ångström"
    assert layer.metadata["mrcz"]["header"]["compressor"] == "lz4"
    (emd,) = viewer.open(str(testdata / "real" / "EMD-3197.map.bz2"), plugin=PLUGIN)
    assert [str(u) for u in emd.units] == ["nanometer"] * 3 and np.allclose(emd.scale, 1.14)


def test_folder_and_list_open_as_separate_layers(viewer: Any, testdata: Path, tmp_path: Path) -> None:
    a, b = np.arange(24, dtype=np.float32).reshape(2, 3, 4), np.ones((5, 6), np.int16)
    nm.write(tmp_path / "a.mrcz", a, voxel_size=2.0)
    nm.write(tmp_path / "b.mrc", b, voxel_size=3.0, compressor=None)
    (tmp_path / "notes.txt").write_text("not ours")
    layers = viewer.open(str(tmp_path), plugin=PLUGIN)
    assert [layer.name for layer in layers] == ["a", "b"]
    assert layers[0].data.shape == (2, 3, 4) and layers[1].data.ndim == 2
    nm.write(tmp_path / "c.mrcz", b, voxel_size=3.0)
    listed = _read([tmp_path / "c.mrcz", tmp_path / "a.mrcz"])  # npe2 wants one extension in a list
    assert [kw["name"] for _, kw, _ in listed] == ["c", "a"]
    mixed = _reader.get_reader([str(tmp_path / "b.mrc"), str(testdata / "real" / "EMD-3197.map.bz2")])
    assert [kw["name"] for _, kw, _ in layer_tuples(mixed(None))] == ["b", "EMD-3197"]


def _spy_reads(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The stored sections every lazy layer read asks for (one list per read)."""
    from napari_mrcz.io.reader import array

    reads: list[list[int]] = []
    original = array.read_storage
    monkeypatch.setattr(
        array, "read_storage", lambda info, sections, *a, **k: reads.append(list(sections)) or original(info, sections, *a, **k)
    )
    return reads


def test_large_files_open_lazily_reading_one_slice_per_step(settings: Callable[[str, Any], None], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    volume = np.random.default_rng(0).normal(size=(12, 20, 24)).astype(np.float32)
    path = nm.write(tmp_path / "v.mrcz", volume, voxel_size=(2.0, 1.0, 1.0), stats=True)
    settings("reader.lazy_bytes", volume.nbytes - 1)
    reads = _spy_reads(monkeypatch)
    ((data, kwargs, _),) = _read(path)
    assert type(data).__name__ == "MrcArray" and data.shape == volume.shape and data.dtype == np.float32
    assert kwargs["metadata"]["mrcz"]["lazy"] is True and kwargs["multiscale"] is False
    low, high = kwargs["contrast_limits"]  # from 3 of the 12 slices (tests/plugin/test_contrast.py)
    assert volume.min() < low < high < volume.max()
    assert kwargs["metadata"]["mrcz"]["contrast_range"] == [float(volume.min()), float(volume.max())]  # header
    assert reads in ([], [[0]])  # at most the slice napari draws when it makes a Layer object
    reads.clear()
    assert np.array_equal(data[5], volume[5]) and reads == [[5]]
    assert nm.read(path, lazy=True).data.chunks[0] == (1,) * 12  # scripting keeps dask


def test_complex_opens_as_lazy_amplitude_and_phase(settings: Callable[[str, Any], None], testdata: Path) -> None:
    settings("reader.lazy_bytes", 0)
    path = testdata / "mrcz" / "fft_complex64_lz4hc.mrcz"
    (data, kwargs, _), (phase, phase_kwargs, _) = _read(path)
    complex_truth = np.load(str(path) + ".npy")
    truth = np.abs(complex_truth)
    assert data.dtype == np.float32 and data.shape == truth.shape
    assert np.array_equal(np.asarray(data), truth) and np.array_equal(data[2], truth[2])
    assert kwargs["metadata"]["mrcz"]["complex"] == "amplitude"
    assert phase.dtype == np.float32 and np.allclose(phase[2], np.angle(complex_truth[2]), atol=1e-6)
    assert phase_kwargs["name"] == kwargs["name"] + " (phase)" and phase_kwargs["colormap"]["name"] == "twilight"


def test_volume_stack_gets_a_leading_axis(viewer: Any, tmp_path: Path) -> None:
    stack = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    path = nm.write(tmp_path / "stack.mrcz", stack, voxel_size=(3.0, 2.0, 2.0))
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    assert layer.data.shape == (2, 3, 4, 5)
    assert tuple(layer.axis_labels) == ("volume", "z", "y", "x")
    assert np.allclose(layer.scale, (1, 3, 2, 2))
    assert [str(u) for u in layer.units] == ["pixel", "angstrom", "angstrom", "angstrom"]


def test_no_pixel_size_opens_in_pixels(tmp_path: Path) -> None:
    path = nm.write(tmp_path / "nopix.mrc", np.ones((2, 3, 4), np.float32), voxel_size=0, compressor=None)
    ((_, kwargs, _),) = _read(path)
    assert tuple(kwargs["scale"]) == (1.0, 1.0, 1.0) and kwargs["units"] == ("pixel",) * 3
    low, high = kwargs["contrast_limits"]
    assert low == 1.0 < high  # flat data still gets a valid range


@pytest.mark.slow
def test_drag_and_drop_in_a_real_viewer(make_napari_viewer: Any, testdata: Path) -> None:
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(testdata / "real" / "emd_3001.map.gz"), plugin=PLUGIN)
    assert layer.data.shape == (73, 25, 43)  # axis order 3,1,2 reordered to z, y, x
    assert np.allclose(layer.scale, (0.45875, 0.3925, 0.44825))
    assert viewer.layers.selection.active is layer
