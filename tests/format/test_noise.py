"""suggest_tolerance / noise_sigma: on synthetic images with known Gaussian noise the estimate is within
10% of the true sigma, whatever smooth structure, edges or offsets lie under the noise."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.errors import MrczError
from napari_mrcz.values.noise import noise_sigma, suggest_tolerance

RNG = np.random.default_rng(20240601)
YY, XX = np.mgrid[:256, :256].astype(np.float64)


def _blobs() -> np.ndarray:
    """Particle-like discs of several sizes and contrasts (sharp edges)."""
    out = np.zeros((256, 256))
    for cy, cx, r, v in RNG.uniform((0, 0, 4, -3), (256, 256, 30, 3), size=(40, 4)):
        out[(YY - cy) ** 2 + (XX - cx) ** 2 < r * r] += v
    return out


def _smooth() -> np.ndarray:
    """A smooth random density (bilinear upsampling of a coarse grid), like the bench tomogram."""
    coarse = RNG.standard_normal((18, 18))
    pos = np.arange(256) / 16
    i0, f = pos.astype(int), pos % 1
    rows = coarse[i0] * (1 - f)[:, None] + coarse[i0 + 1] * f[:, None]
    return rows[:, i0] * (1 - f) + rows[:, i0 + 1] * f


SIGNALS = {
    "flat offset": lambda: np.full((256, 256), 1000.0),
    "gradient": lambda: 0.3 * XX - 0.2 * YY,
    "quadratic": lambda: 1e-3 * (XX - 100) ** 2 + 2e-3 * YY * XX,
    "smooth density": _smooth,
    "discs with edges": _blobs,
    "fringes": lambda: 2 * np.sin(XX / 9.0) * np.cos(YY / 13.0),
}


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("sigma", [0.01, 0.7, 25.0])
def test_known_gaussian_noise(signal: str, sigma: float) -> None:
    clean = SIGNALS[signal]() * (sigma / 0.7)  # structure scales with the noise: same contrast ratio
    noisy = (clean + RNG.normal(0, sigma, size=(4, 256, 256))).astype(np.float32)
    estimate = noise_sigma(noisy)
    assert abs(estimate / sigma - 1) < 0.10, (signal, sigma, estimate)
    tolerance = suggest_tolerance(noisy)
    assert tolerance == pytest.approx(estimate / 16, rel=5e-3)  # 3 significant digits


def test_sample_is_bounded_and_lazy() -> None:
    da = pytest.importorskip("dask.array")
    seen: list[int] = []

    def block(x: np.ndarray, block_info: Any = None) -> np.ndarray:
        seen.append(block_info[None]["chunk-location"][0])
        return x

    noisy = RNG.normal(0, 2.0, size=(40, 96, 1200)).astype(np.float32)
    lazy = da.from_array(noisy, chunks=(1, 96, 1200)).map_blocks(block, dtype=noisy.dtype)
    assert abs(noise_sigma(lazy) / 2.0 - 1) < 0.1
    assert len(set(seen)) == 8 and min(seen) == 0 and max(seen) == 39  # 8 evenly spaced slices


def test_shapes_dtypes_and_fractions() -> None:
    image = RNG.normal(5, 3.0, size=(300, 200))
    assert abs(noise_sigma(image) / 3 - 1) < 0.1  # 2-D, float64
    stack = RNG.normal(0, 1.0, size=(2, 3, 64, 64)).astype(np.float16)
    assert abs(noise_sigma(stack) - 1) < 0.1  # 4-D volume stack
    assert abs(noise_sigma([stack, stack[..., ::2, ::2]]) - 1) < 0.1  # napari multiscale: the full level
    z = (RNG.normal(0, 1.0, (2, 128, 128)) + 1j * RNG.normal(0, 1.0, (2, 128, 128))).astype(np.complex64)
    assert abs(noise_sigma(z) / math.sqrt(2) - 1) < 0.1  # the complex value's noise
    sigma = noise_sigma(image)
    assert suggest_tolerance(image, Fraction(1, 8)) == pytest.approx(sigma / 8, rel=5e-3)
    assert suggest_tolerance(image, 1.0) == pytest.approx(sigma, rel=5e-3)
    assert suggest_tolerance(np.zeros((10, 10), np.float32)) == 0.0  # no noise: lossless
    assert suggest_tolerance(RNG.integers(0, 100, (64, 64)).astype(np.uint16)) == 0.0  # integers: exact
    assert nm.suggest_tolerance is suggest_tolerance


def test_outliers_and_nan_barely_matter() -> None:
    noisy = RNG.normal(0, 1.0, size=(2, 256, 256)).astype(np.float32)
    noisy[:, ::37, ::41] = 1e6  # hot pixels
    noisy[0, :10] = np.nan
    assert abs(noise_sigma(noisy) - 1) < 0.1


@pytest.mark.parametrize("data, fraction, match", [
    (np.zeros((2, 2), np.float32), 1 / 16, "smaller than 3 x 3"),
    (np.zeros(5, np.float32), 1 / 16, "no \\(y, x\\) slices"),
    (np.full((4, 4), np.nan, np.float32), 1 / 16, "no finite values"),
    (np.zeros((4, 4), np.float32), 0, "fraction"),
    (np.zeros((4, 4), np.float32), 2, "fraction"),
    (np.zeros((4, 4), np.float32), "1/16", "fraction"),
])
def test_refusals(data: np.ndarray, fraction: Any, match: str) -> None:
    with pytest.raises(MrczError, match=match):
        suggest_tolerance(data, fraction)
