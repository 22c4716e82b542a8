"""The tolerance bound is true and survives: float64 input quantized as stored (after the float32 cast)
stays within the bound the file records, and that bound outlives any number of converts, ``write(image)``
and napari saves (issue 21, items 3 and 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import napari_mrcz as nm
from napari_mrcz.format.constants import TOLERANCE_LABEL_PREFIX
from napari_mrcz.format.kept import MAX_LABELS, merged_labels
from napari_mrcz.values.precision import Precision


def _worst(stored: np.ndarray, original: np.ndarray) -> float:
    with np.errstate(invalid="ignore"):
        error = np.abs(stored.astype(original.dtype) - original)
    return float(np.max(error, initial=0.0, where=np.isfinite(error)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    exponent=st.integers(-30, 30),
    spread=st.floats(1e-6, 10.0),
    relative=st.floats(1e-9, 1e-1),
    complex_data=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_float64_values_stay_within_the_recorded_bound(
    tmp_path: Path, exponent: int, spread: float, relative: float, complex_data: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    scale = 10.0**exponent
    data = scale * (1 + spread * rng.standard_normal((3, 9, 11)))
    if complex_data:
        data = data + 1j * scale * rng.standard_normal(data.shape)
    tolerance = relative * scale
    path = tmp_path / "t.mrcz"
    nm.write(path, data, tolerance=tolerance, lossy_cast=True)
    image = nm.read(path)
    assert image.tolerance is not None and image.tolerance >= tolerance
    assert _worst(image.data, data) <= image.tolerance
    # the recorded bound is the true one: the tolerance, or the largest error when the cast added to it
    assert image.tolerance == max(tolerance, _worst(image.data, data))


def test_the_old_case_float64_far_above_the_tolerance(tmp_path: Path) -> None:
    """Values near 1e6 with t = 0.01: float32 spacing is 0.0625, so no bound of 0.01 can hold."""
    data = np.random.default_rng(1).normal(1e6, 1e3, (2, 16, 16))
    nm.write(tmp_path / "a.mrcz", data, tolerance=0.01, lossy_cast=True)
    image = nm.read(tmp_path / "a.mrcz")
    assert 0.01 < image.tolerance <= 0.01 + 0.0625 / 2
    assert _worst(image.data, data) <= image.tolerance


def test_float32_input_records_the_tolerance_itself(tmp_path: Path) -> None:
    data = np.random.default_rng(2).normal(0, 1, (2, 16, 16)).astype(np.float32)
    nm.write(tmp_path / "a.mrcz", data, tolerance=0.05)
    assert nm.read(tmp_path / "a.mrcz").tolerance == 0.05


@pytest.mark.parametrize("suffixes", [(".mrcz",), (".mrc",), (".mrcz", ".mrc")])
def test_the_bound_survives_twenty_converts(tmp_path: Path, suffixes: tuple[str, ...]) -> None:
    data = np.random.default_rng(3).normal(0, 1, (2, 8, 8)).astype(np.float32)
    source = tmp_path / "start.mrcz"
    nm.write(source, data, tolerance=0.05, labels=["Created by a microscope", "IMOD: newstack"])
    for i in range(20):
        target = tmp_path / f"c{i}{suffixes[i % len(suffixes)]}"
        nm.convert_file(source, target)
        source = target
        header = nm.open_mrc(target).header
        assert len(header.labels) <= MAX_LABELS
        assert nm.read(target).tolerance == 0.05, (i, header.labels)
    labels = [lab for lab in nm.open_mrc(source).header.labels if lab != "MRCZ0.6.0"]
    assert labels[0] == "Created by a microscope"  # the first label stays, as in IMOD


def test_repeated_lossy_converts_sum_into_one_label(tmp_path: Path) -> None:
    data = np.random.default_rng(4).normal(0, 10, (2, 8, 8)).astype(np.float32)
    source = tmp_path / "start.mrcz"
    nm.write(source, data, tolerance=0.01)
    for i in range(12):
        target = tmp_path / f"c{i}.mrcz"
        nm.convert_file(source, target, tolerance=0.01)
        source = target
    labels = nm.open_mrc(source).header.labels
    assert sum(lab.startswith(TOLERANCE_LABEL_PREFIX) for lab in labels) == 1
    bound = nm.read(source).tolerance
    assert bound == pytest.approx(0.13)
    assert _worst(nm.read(source).data, data) <= bound


def test_the_bound_survives_twenty_writes_of_the_image(tmp_path: Path) -> None:
    data = np.random.default_rng(5).normal(0, 1, (8, 8))
    nm.write(tmp_path / "w.mrcz", data, tolerance=0.05, lossy_cast=True)
    first = nm.read(tmp_path / "w.mrcz").tolerance
    for i in range(20):
        image = nm.read(tmp_path / "w.mrcz")
        nm.write(tmp_path / "w.mrcz", image, labels=[f"step {i}"])
        assert nm.read(tmp_path / "w.mrcz").tolerance == first
    assert _worst(nm.read(tmp_path / "w.mrcz").data, data) <= first


def test_the_segmentation_marker_also_survives_converts(tmp_path: Path) -> None:
    path = tmp_path / "seg.mrcz"
    nm.write(path, np.arange(64, dtype=np.int16).reshape(1, 8, 8), labels=["napari-mrcz labels"])
    for i in range(15):
        nm.convert_file(path, tmp_path / f"s{i}.mrcz")
        path = tmp_path / f"s{i}.mrcz"
    assert "napari-mrcz labels" in nm.open_mrc(path).header.labels


@pytest.mark.parametrize("kept", [3, 9, 10, 14])
def test_merged_labels_keep_pinned_first_and_newest(kept: int) -> None:
    body = ["first", f"{TOLERANCE_LABEL_PREFIX}0.5", *(f"old {i}" for i in range(kept))]
    out = merged_labels(body, ["napari-mrcz 9.9"], compressed=True)
    assert len(out) <= MAX_LABELS
    assert out[:3] == ["MRCZ0.6.0", "first", f"{TOLERANCE_LABEL_PREFIX}0.5"]
    assert out[-1] == "napari-mrcz 9.9"
    if kept:
        assert f"old {kept - 1}" in out  # the newest of the others stay


def test_precision_reports_the_bound_of_what_it_stored() -> None:
    data = np.random.default_rng(6).normal(3e5, 1.0, (4, 32))
    precision = Precision(1e-3, None, True)
    precision.plan(data)
    stored = precision.apply(data, 0)
    assert stored.dtype == np.float32
    assert precision.bound == max(1e-3, _worst(stored, data)) > 1e-3


def test_the_widget_estimate_reports_the_true_error() -> None:
    """The "Save as MRCZ" estimate measures what the writer stores (float32, then quantized)."""
    pytest.importorskip("magicgui")
    from napari_mrcz.plugin import widget

    data = np.random.default_rng(7).normal(1e6, 1e3, (2, 16, 16))
    sample = widget.sample_of(data)
    assert sample.dtype == np.float64
    estimate = widget.measure(sample, "zstd", 1, tolerance=0.01)
    precision = Precision(0.01, None, True)
    precision.plan(data)
    assert estimate.max_error == _worst(precision.apply(data, 0), data) > 0.01
    small = widget.measure(widget.sample_of(data / 1e6), "none", 1, tolerance=0.01)
    assert 0 < small.max_error <= 0.01
