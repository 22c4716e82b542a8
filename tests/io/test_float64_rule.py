"""One rule for float64 (and complex128), in write() and so in the napari writers and the widget: rounded to
float32 (complex64) only with lossy_cast=True, and then an MrczWarning states the largest rounding error,
which is the true one; exact values need no consent and get no warning."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.errors import MrczError, MrczWarning


@pytest.mark.parametrize("dtype", ["f8", "c16"])
@pytest.mark.parametrize("compressor", [None, "zstd"])
@pytest.mark.parametrize("scale", [1e-30, 1.0, 1e30])
def test_rounding_is_reported_with_its_largest_error(tmp_path: Path, dtype: str, compressor: str | None,
                                                     scale: float) -> None:
    rng = np.random.default_rng(int(np.log10(scale) + 40))
    data = rng.normal(size=(3, 9, 7)) * scale
    if dtype == "c16":
        data = data + 1j * rng.normal(size=data.shape) * scale
    with pytest.raises(MrczError, match="lossy_cast=True"):
        nm.write(tmp_path / "refused.mrcz", data, compressor=compressor)
    with pytest.warns(MrczWarning, match="largest rounding error") as record:
        path = nm.write(tmp_path / "rounded.mrcz", data, compressor=compressor, lossy_cast=True)
    (said,) = [str(w.message) for w in record if issubclass(w.category, MrczWarning)]
    stated = float(re.search(r"largest rounding error (\S+)", said).group(1))
    true = float(np.max(np.abs(nm.read(path).data.astype(data.dtype) - data)))
    assert true > 0 and stated == pytest.approx(true, rel=1e-2)  # printed to 3 digits
    assert true <= 2.0**-24 * float(np.max(np.abs(data))) * 1.0000001


def test_exact_float64_needs_no_consent_and_says_nothing(tmp_path: Path) -> None:
    data = np.arange(60, dtype=np.float64).reshape(3, 4, 5) / 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = nm.write(tmp_path / "exact.mrcz", data)
        nm.write(tmp_path / "exact2.mrcz", data, lossy_cast=True)
    assert np.array_equal(nm.read(path).data, data)
