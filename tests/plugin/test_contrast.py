"""Initial contrast from the data (napari_mrcz.plugin.contrast): robust percentiles of a bounded sample,
header statistics only where they agree with it, limits inside the dtype's range, a slider that covers
the data; on the edge files (stale header, hot pixels, IMOD bytes), generated cases and in a ViewerModel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus import TESTDATA
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import napari_mrcz as nm
from napari_mrcz.io.codec import cblosc2
from napari_mrcz.io.reader import region
from napari_mrcz.io.reader.file import MrcFileInfo
from napari_mrcz.plugin import contrast as _contrast
from napari_mrcz.plugin import reader as _reader

DTYPES = ["i1", "i2", "u2", "i4", "u4", "f2", "f4"]


def _file(relative: str) -> Path:
    path = TESTDATA / relative
    if not path.is_file():
        pytest.skip("no shared corpus")
    return path


def _layer_kwargs(path: Path, lazy: bool) -> dict[str, Any]:
    return _reader.file_layers(nm.open_mrc(path), lazy=lazy)[0][1]


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    data=hnp.arrays(
        st.sampled_from(DTYPES),
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=30),
        elements={"allow_nan": True, "allow_infinity": True},
    ),
    header=st.one_of(st.none(), st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))),
)
def test_limits_and_range_are_valid_for_any_data(data: np.ndarray, header: tuple[float, float] | None) -> None:
    c = _contrast.choose(data, data.dtype, header_range=header)
    low, high = c.limits
    assert isinstance(low, float) and isinstance(high, float)
    assert low < high and c.range[0] <= low and high <= c.range[1]
    bounds = np.iinfo(data.dtype) if data.dtype.kind in "iu" else np.finfo(data.dtype)
    assert bounds.min <= c.range[0] and c.range[1] <= bounds.max  # within the dtype's range
    finite = data[np.isfinite(data)] if data.dtype.kind == "f" else data
    if finite.size and finite.min() < finite.max():
        assert finite.min() <= low and high <= finite.max()  # inside the data


def test_percentiles_ignore_hot_pixels() -> None:
    rng = np.random.default_rng(0)
    image = rng.normal(3500, 600, size=(512, 512)).astype(np.uint16)
    image.reshape(-1)[rng.choice(image.size, 50, replace=False)] = 45000  # hot pixels
    c = _contrast.choose(image, image.dtype, data_range=(float(image.min()), 45000.0))
    assert 1500 < c.limits[0] < 2500 and 4500 < c.limits[1] < 5500
    assert c.range == (float(image.min()), 45000.0)  # the user can widen to everything


def test_sample_is_bounded_and_finite() -> None:
    values = np.arange(5_000_000, dtype=np.float32)
    values[::7] = np.nan
    sample = _contrast.subsample(values)
    assert sample.size <= _contrast.SAMPLE_VALUES and np.isfinite(sample).all()
    assert sample.min() < 100 and sample.max() > 4_900_000  # spread over the whole array


@pytest.mark.parametrize("nz", [1, 2, 3, 4, 7, 100, 1001])
def test_lazy_sample_reads_few_inner_slices(nz: int) -> None:
    picks = _contrast.sample_slices(nz)
    assert 1 <= len(picks) <= _contrast.LAZY_SAMPLE_SLICES and picks == sorted(set(picks))
    assert all(0 <= z < nz for z in picks)
    if nz >= 4:
        assert 0 not in picks and nz - 1 not in picks


@pytest.mark.parametrize(
    ("header", "sample", "agrees"),
    [
        ((-3000.0, 3000.0), (-0.4, 0.4), False),  # a denoised tomogram with the raw one's header
        ((-500.0, 800.0), (-1.64, 1.87), False),  # stale_stats.mrc
        ((302.0, 45804.0), (1800.0, 6000.0), True),  # hot pixels outside the sampled slices
        ((0.0, 10.0), (-1.0, 5.0), False),  # the sample goes below DMIN: not the data's statistics
        ((0.0, -1.0), (0.0, 1.0), False),  # "not determined"
        ((float("nan"), 1.0), (0.0, 1.0), False),
        ((0.0, 1.0), (0.0, 1.0), True),
    ],
)
def test_header_statistics_only_where_they_agree(header: tuple, sample: tuple, agrees: bool) -> None:
    assert _contrast.header_agrees(header, sample) is agrees


def test_stale_header_is_not_used(tmp_path: Path) -> None:
    path = _file("edges/stale_stats.mrc")
    truth = np.load(str(path) + ".npy")
    for lazy in (False, True):
        kwargs = _layer_kwargs(path, lazy)
        low, high = kwargs["contrast_limits"]
        assert truth.min() <= low < high <= truth.max()
        full = kwargs["metadata"]["mrcz"]["contrast_range"]
        assert full == pytest.approx([truth.min(), truth.max()]) if not lazy else truth.min() <= full[0]
        assert full[1] <= truth.max() + 1e-6 and full[0] > -500  # not the header's -500..800


def test_unsigned_bytes_in_mode_0() -> None:
    path = _file("edges/mode0_unsigned_values.mrc")
    data = nm.read(path).data
    low, high = _layer_kwargs(path, lazy=False)["contrast_limits"]
    assert data.min() <= low < high <= data.max()  # never DMAX 245, which int8 cannot hold


def test_micrograph_with_hot_pixels_is_not_washed_out() -> None:
    path = _file("real/fei-extended.mrc")
    data = nm.read(path).data
    low, high = _layer_kwargs(path, lazy=False)["contrast_limits"]
    assert (high - low) < 0.1 * (float(data.max()) - float(data.min()))  # min..max would show grey mush
    inside = np.count_nonzero((data >= low) & (data <= high)) / data.size
    assert 0.985 <= inside <= 0.995


@pytest.mark.parametrize("order", [(1, 2, 3), (3, 1, 2), (2, 3, 1)])
def test_lazy_reads_only_the_sample_slices(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           order: tuple[int, int, int]) -> None:
    """A lazy layer decodes LAZY_SAMPLE_SLICES stored slices for its contrast, whatever the axis order
    (a z-slice of a file stored in another order would touch every stored slice)."""
    mrcfile = pytest.importorskip("mrcfile")
    stored = np.random.default_rng(1).normal(size=(40, 16, 12)).astype(np.float32)
    path = tmp_path / "permuted.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(stored)
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = order
    calls: list[tuple[int, int]] = []
    original = MrcFileInfo.read_slices
    monkeypatch.setattr(MrcFileInfo, "read_slices",
                        lambda self, a, b, n=None: calls.append((a, b)) or original(self, a, b, n))
    seen: list[Any] = []
    monkeypatch.setattr(_contrast, "read_storage", lambda info, z, rows, cols: seen.append(list(z))
                        or region.read_storage(info, z, rows, cols))
    kwargs = _layer_kwargs(path, lazy=True)
    assert seen == [_contrast.sample_slices(40)]
    assert all(b - a == 1 and a in _contrast.sample_slices(40) for a, b in calls)
    low, high = kwargs["contrast_limits"]
    assert stored.min() < low < high < stored.max()


def test_lazy_compressed_file_decodes_a_band_of_each_sample_slice(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    """A big compressed slice is not decoded whole for the contrast: only the blocks of a band of rows."""
    data = np.random.default_rng(2).integers(-100, 100, size=(5, 2048, 2048), dtype=np.int8)
    path = nm.write(tmp_path / "big.mrcz", data, pyramid=False)
    whole: list[int] = []
    original = MrcFileInfo.read_slices
    monkeypatch.setattr(MrcFileInfo, "read_slices",
                        lambda self, a, b, n=None: whole.append(a) or original(self, a, b, n))
    sample = _contrast.stored_sample(nm.open_mrc(path))
    assert whole == ([] if cblosc2.available() else _contrast.sample_slices(5))
    rows = sample.size // (3 * 2048)
    assert sample.size == 3 * rows * 2048 and rows < 2048 // 4
    first = (2048 - rows) // 2
    want = data[_contrast.sample_slices(5), first : first + rows].reshape(-1)
    assert np.array_equal(sample, want)


@pytest.mark.parametrize("dtype", ["i1", "u2", "i2"])
def test_integer_extremes_stay_in_the_dtype(tmp_path: Path, dtype: str) -> None:
    info = np.iinfo(dtype)
    for value in (info.min, info.max):
        path = nm.write(tmp_path / f"flat{value}.mrc", np.full((3, 4, 5), value, dtype), compressor=None)
        for lazy in (False, True):
            kwargs = _layer_kwargs(path, lazy)
            low, high = kwargs["contrast_limits"]
            assert info.min <= low < high <= info.max
            assert value in (low, high)


@pytest.mark.slow
def test_viewer_slider_covers_the_data(viewer: Any) -> None:
    path = _file("real/fei-extended.mrc")
    (layer,) = viewer.open(str(path), plugin="napari-mrcz")
    data = np.asarray(layer.data[0] if layer.multiscale else layer.data)  # 4096 px: a pyramid
    assert layer.contrast_limits_range == [float(data.min()), float(data.max())]
    assert data.min() < layer.contrast_limits[0] < layer.contrast_limits[1] < data.max()
    layer.contrast_limits = layer.contrast_limits_range  # the user widens to the full range
    assert layer.contrast_limits == [float(data.min()), float(data.max())]


def test_level_sample_bands_cover_the_level_height() -> None:
    """A big coarse level is sampled in bands of rows, one per sampled slice, spread over its height."""
    level = np.broadcast_to(np.arange(1024, dtype=np.float32)[None, :, None], (16, 1024, 1024))
    sample = _contrast.level_sample(level)
    assert sample.size <= _contrast.SAMPLE_VALUES
    counts = np.histogram(sample, bins=16, range=(0, 1024))[0]  # 16 bands: together the whole height
    assert counts.min() > 0.8 * counts.max()
