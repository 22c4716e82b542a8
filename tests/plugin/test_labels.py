"""Labels layers (napari_mrcz.plugin.labels): saved as .mrc/.mrcz in the smallest integer mode, marked
by one MRC label, reopened as Labels with scale, translate and metadata; any integer file opens as
Labels on request; sparse segmentations compress well."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")
mrcfile = pytest.importorskip("mrcfile")

import napari_mrcz as nm  # noqa: E402
from checks import PLUGIN  # noqa: E402
from napari_mrcz.errors import MrczError  # noqa: E402
from napari_mrcz.io.writer.convert import convert_file  # noqa: E402
from napari_mrcz.plugin.labels import LABELS_MARKER, labels_dtype  # noqa: E402
from napari_mrcz.plugin.reader import file_layers  # noqa: E402


def segmentation(shape: tuple[int, int, int] = (32, 128, 128), n: int = 30, first: int = 1) -> np.ndarray:
    """Sparse blobs labelled first..first+n-1 in zeros, int64 (what napari's tools make)."""
    rng = np.random.default_rng(n)
    seg = np.zeros(shape, np.int64)
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    for label in range(first, first + n):
        cz, cy, cx = (rng.integers(4, s - 4) for s in shape)
        seg[(z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 < 12] = label
    return seg


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0, 1, "i1"), (-128, 127, "i1"), (0, 128, "i2"), (-1, 32767, "i2"), (-32768, 0, "i2"),
     (0, 32768, "u2"), (0, 65535, "u2"), (-1, 40000, "i4"), (0, 65536, "i4"), (-(2**31), 2**31 - 1, "i4"),
     (0, 2**31, "u4"), (2**31, 2**32 - 1, "u4")],
)
def test_smallest_mode_that_holds_the_labels(low: int, high: int, expected: str) -> None:
    assert labels_dtype(np.array([low, high], np.int64)) == np.dtype(expected)
    da = pytest.importorskip("dask.array")
    assert labels_dtype(da.from_array(np.array([high, low], np.int64), chunks=1)) == np.dtype(expected)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=20),
                 st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20)))
def test_chosen_mode_holds_every_label_and_no_smaller_one_does(values: list[int]) -> None:
    data = np.array(values, np.int64)
    chosen = labels_dtype(data)
    assert np.array_equal(data.astype(chosen), data)
    order = [np.dtype(d) for d in ("i1", "i2", "u2", "i4", "u4")]
    for smaller in order[: order.index(chosen)]:
        assert not np.array_equal(data.astype(smaller), data)


@pytest.mark.parametrize("bad", [np.array([0.5]), np.array([2**32], np.int64), np.array([-(2**31) - 1], np.int64),
                                 np.array([-1, 2**31], np.int64), np.array([2**63], np.uint64)])
def test_what_cannot_be_stored_is_refused(bad: np.ndarray) -> None:
    with pytest.raises(MrczError):
        labels_dtype(bad)


@pytest.mark.parametrize("ext", [".mrc", ".mrcz"])
@pytest.mark.parametrize(
    ("first", "n", "mode"), [(1, 30, 0), (200, 30, 1), (40000, 5, 6), (-5, 10, 0), (70000, 3, 7),
                             (2**31 - 2, 3, 8), (2**32 - 4, 3, 8)],
    ids=["int8", "int16", "uint16", "negative", "int32", "uint32-across-2^31", "uint32-top"],
)
def test_save_and_reopen_as_labels(viewer: Any, tmp_path: Path, ext: str, first: int, n: int, mode: int) -> None:
    seg = segmentation(first=first, n=n)
    layer = viewer.add_labels(seg, name="seg", scale=(1.36, 1.36, 1.36), units="nm", translate=(1.0, -2.0, 30.0),
                              metadata={"sample": "Zoë", "tool": "membrain"})
    (written,) = viewer.layers.save(str(tmp_path / f"seg{ext}"), plugin=PLUGIN)
    header = nm.open_mrc(written).header
    assert header.mrc_mode == mode and LABELS_MARKER in header.labels
    assert nm.read(written).metadata == {"sample": "Zoë", "tool": "membrain"}  # no key injected
    (again,) = viewer.open(written, plugin=PLUGIN)
    assert type(again).__name__ == "Labels"
    assert np.array_equal(np.asarray(again.data), seg)
    assert np.allclose(again.scale, layer.scale) and np.allclose(again.translate, layer.translate)
    assert again.units == layer.units
    assert again.metadata["mrcz"]["metadata"] == {"sample": "Zoë", "tool": "membrain"}
    if ext == ".mrc" and mode < 7:  # modes 7 and 8 are mrcz's own; mrcfile and IMOD cannot read it
        with mrcfile.open(written) as mrc:
            assert np.array_equal(mrc.data, seg)
        report = io.StringIO()
        mrcfile.validate(written, print_file=report)  # valid but for EXTTYP json, which mrcfile does not know
        assert report.getvalue().splitlines()[1:] == ["Extended header type is undefined or unrecognised: exttyp = 'json'"]


@pytest.mark.parametrize("dtype", ["u1", "i4", "u4", "u8", "bool"])
def test_any_napari_label_dtype_saves(viewer: Any, tmp_path: Path, dtype: str) -> None:
    seg = (segmentation(n=3) > 0) if dtype == "bool" else segmentation(n=3).astype(dtype)
    viewer.add_labels(seg)
    (written,) = viewer.layers.save(str(tmp_path / "seg.mrcz"), plugin=PLUGIN)
    assert np.array_equal(nm.read(written).data, seg.astype(np.int64))


def test_lazy_labels_stream(viewer: Any, tmp_path: Path) -> None:
    da = pytest.importorskip("dask.array")
    seg = segmentation(n=300)  # labels up to 300: int16
    viewer.add_labels(da.from_array(seg, chunks=(4, 128, 128)))
    (written,) = viewer.layers.save(str(tmp_path / "seg.mrc"), plugin=PLUGIN)
    assert nm.open_mrc(written).header.mrc_mode == 1
    assert np.array_equal(nm.read(written).data, seg)
    assert mrcfile.validate(written, print_file=io.StringIO())  # no metadata: a valid MRC2014 file


@pytest.mark.slow
def test_sparse_segmentation_compresses_20_times(viewer: Any, tmp_path: Path) -> None:
    seg = segmentation(shape=(64, 256, 256), n=40)
    viewer.add_labels(seg)
    (written,) = viewer.layers.save(str(tmp_path / "seg.mrcz"), plugin=PLUGIN)
    info = nm.open_mrc(written)
    assert info.nbytes / Path(written).stat().st_size >= 20  # against the same labels as plain MRC


def test_marker_survives_conversion(viewer: Any, tmp_path: Path) -> None:
    viewer.add_labels(segmentation(n=5))
    (written,) = viewer.layers.save(str(tmp_path / "seg.mrcz"), plugin=PLUGIN)
    plain = convert_file(written, tmp_path / "seg.mrc", compressor=None)
    (layer,) = viewer.open(str(plain), plugin=PLUGIN)
    assert type(layer).__name__ == "Labels"


@pytest.mark.parametrize("dtype", ["i1", "i2", "u2", "i4", "u4"])
def test_any_integer_file_opens_as_labels_on_request(viewer: Any, tmp_path: Path, dtype: str) -> None:
    seg = segmentation(n=5).astype(dtype)
    path = nm.write(tmp_path / "seg.mrc", seg, voxel_size=2.0, origin=(4.0, 6.0, 8.0), compressor=None)
    (image,) = viewer.open(str(path), plugin=PLUGIN)
    assert type(image).__name__ == "Image"  # not marked: an image unless asked
    # napari applies viewer.open(layer_type=...) to layer data tuples only; the reader gives Layers
    ((data, kwargs, kind),) = file_layers(nm.open_mrc(path), layer_type="labels")
    labels = viewer.add_labels(data, **kwargs)
    assert kind == "labels" and np.array_equal(np.asarray(labels.data), seg)
    assert np.allclose(labels.translate, (4.0, 6.0, 8.0)) and np.allclose(labels.scale, (2.0, 2.0, 2.0))


def test_marked_float_file_stays_an_image(tmp_path: Path) -> None:
    """A label line alone does not make float data labels (napari's Labels hold integers)."""
    path = nm.write(tmp_path / "f.mrc", np.zeros((2, 3, 4), np.float32), labels=[LABELS_MARKER], compressor=None)
    (layer,) = npe2.read([str(path)], plugin_name=PLUGIN, stack=False)
    assert type(layer).__name__ == "Image"
    with pytest.raises(MrczError, match="Labels layers hold integers"):
        file_layers(nm.open_mrc(path), layer_type="labels")
