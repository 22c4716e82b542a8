"""A tolerance proposed from the data's own noise: :func:`suggest_tolerance` and :func:`noise_sigma`.

Pure numpy on a bounded sample (at most 8 z-slices, each cropped to its central 512 x 512 pixels) of
any array-like; indexing a lazy array (dask, the reader's lazy arrays) reads only those slices. It
only proposes a number: nothing here runs unless called, and nothing is written.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import MrczError
from .quantize import DEFAULT_FRACTION, check_tolerance, parse_tolerance

SAMPLE_SLICES = 8
SAMPLE_SIDE = 512
MAD_TO_SIGMA = 1.4826  # 1 / Phi^-1(3/4): the MAD of Gaussian samples times this is their sigma
# Immerkaer's mask [[1, -2, 1], [-2, 4, -2], [1, -2, 1]]: a difference of two Laplacians, blind to
# constant, linear and quadratic image structure; white noise of sigma gives a residual of sigma * 6
_MASK_GAIN = 6.0


def _sample(data: Any) -> list[np.ndarray]:
    """Up to SAMPLE_SLICES evenly spaced z-slices (leading axes flattened), central crops, float64."""
    if isinstance(data, (list, tuple)):  # napari multiscale: the full-resolution level
        data = data[0]
    shape = tuple(data.shape)
    if len(shape) < 2:
        raise MrczError(f"noise is estimated on images: data of shape {shape} has no (y, x) slices")
    ny, nx = shape[-2:]
    lead = shape[:-2]
    count = math.prod(lead)
    picks = sorted({int(i) for i in np.linspace(0, count - 1, min(count, SAMPLE_SLICES)).round()}) if count else []
    y0, x0 = max(0, (ny - SAMPLE_SIDE) // 2), max(0, (nx - SAMPLE_SIDE) // 2)
    crop = (slice(y0, y0 + SAMPLE_SIDE), slice(x0, x0 + SAMPLE_SIDE))
    return [np.asarray(data[np.unravel_index(i, lead) + crop] if lead else data[crop]) for i in picks]


def _residual(plane: np.ndarray) -> np.ndarray:
    s = plane.astype(np.float64)
    r = (s[:-2, :-2] + s[:-2, 2:] + s[2:, :-2] + s[2:, 2:]
         - 2 * (s[:-2, 1:-1] + s[1:-1, :-2] + s[1:-1, 2:] + s[2:, 1:-1]) + 4 * s[1:-1, 1:-1])
    r = r.ravel() / _MASK_GAIN
    return r[np.isfinite(r)]


def noise_sigma(data: Any) -> float:
    """Robust estimate of the pixel-to-pixel (white) noise standard deviation of ``data``.

    ``data`` is any 2-D to 4-D array-like (numpy, dask, a napari multiscale list) with (y, x) as its
    last axes. On a sample of at most 8 evenly spaced z-slices (their central 512 x 512 pixels), each
    slice is filtered with Immerkaer's 3 x 3 high-pass mask (J. Immerkaer, "Fast noise variance
    estimation", Comput. Vis. Image Underst. 64:300-302, 1996), which removes smooth structure up to
    quadratic; the median absolute deviation of the pooled residual, times 1.4826, is the estimate,
    so edges and outliers barely move it. For complex data it is the noise of the complex value
    (the real and imaginary parts' sigmas added in quadrature).

    Noise that is correlated between neighbouring pixels (binned, low-pass filtered or interpolated
    data) is underestimated, which errs on the safe side for a tolerance.

    Raises
    ------
    MrczError
        Fewer than 3 pixels along y or x, or no finite values in the sample.
    """
    planes = _sample(data)
    if not planes or min(planes[0].shape[-2:]) < 3:
        raise MrczError("the noise cannot be estimated on images smaller than 3 x 3 pixels")
    if np.iscomplexobj(planes[0]):
        parts = [np.concatenate([_residual(p.real) for p in planes]), np.concatenate([_residual(p.imag) for p in planes])]
    else:
        parts = [np.concatenate([_residual(p) for p in planes])]
    if not all(r.size for r in parts):
        raise MrczError("the noise cannot be estimated: the sampled slices hold no finite values")
    sigmas = [MAD_TO_SIGMA * float(np.median(np.abs(r - np.median(r)))) for r in parts]
    return math.sqrt(sum(s * s for s in sigmas))


def suggest_tolerance(data: Any, fraction: float = DEFAULT_FRACTION) -> float:
    """A tolerance for :func:`napari_mrcz.write` of ``fraction`` x the data's noise sigma (3 significant
    digits); 0.0 for integer data, which is always stored exactly.

    Why a fraction of the noise: rounding to a grid of step q adds an error of RMS q / sqrt(12) that
    is independent of the data, so its power adds to the noise's. With the default 1/16 the grid
    step q is at most sigma / 8, the added RMS at most sigma / 28, and the noise grows by less than
    0.07 % -- far below what any downstream step can detect -- while the noise is kept with about
    5-6 bits, which is where the savings come from. The field's own measurements agree:

    - Ludtke lab, J. Struct. Biol. 214:107875 (2022), doi:10.1016/j.jsb.2022.107875: propagating the
      counting uncertainty through flat-fielding, 5 bits of precision suffice for raw cryo-EM data and
      8-12 bits for averages and 3-D maps;
    - EMAN2's ``e2compress.py`` stores 10 bits over the data range by default ("sufficient for pretty
      much any CryoEM image file or reconstruction", 5-10x smaller "with no impairment"), 4-6 bits
      for aligned averaged micrographs;
    - the MRCZ paper (McLeod et al., J. Struct. Biol. 201:252-257, 2018) got its 10x by storing
      gain-normalised counts as integers before compression (``write(..., dtype="int")`` here).

    Smaller fractions keep more of the noise (1/32: one more bit, 1/8: one less). The estimate is
    never used unless you pass the result on; check it on a few slices before converting an archive.

    Parameters
    ----------
    data
        2-D to 4-D array-like (z, y, x order; numpy, dask, napari multiscale list); only a sample of
        at most 8 slices is read (see :func:`noise_sigma`).
    fraction
        Of the noise sigma, in (0, 1].

    Raises
    ------
    MrczError
        ``fraction`` outside (0, 1], or the noise cannot be estimated (see :func:`noise_sigma`).
    """
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0 < float(fraction) <= 1:
        raise MrczError(f"fraction must be in (0, 1], e.g. 1/16; not {fraction!r}")
    dtype = np.dtype(getattr(data[0] if isinstance(data, (list, tuple)) else data, "dtype", np.float64))
    if dtype.kind not in "fc":
        return 0.0
    tolerance = float(fraction) * noise_sigma(data)
    return float(f"{tolerance:.3g}") if tolerance > 0 else 0.0


def resolve_tolerance(data: Any, tolerance: float | str | Fraction | None) -> float | None:
    """A tolerance as a number for ``data``: a number as it is (0: None, lossless); a Fraction, or the
    text ``"auto"``/``"auto:F"``, as that fraction of the noise :func:`suggest_tolerance` estimates on
    a sample of ``data`` (None for integer data, which is stored exactly); other text as a number.

    Raises
    ------
    MrczError
        An unreadable tolerance, or the noise cannot be estimated.
    """
    if isinstance(tolerance, str):
        tolerance = parse_tolerance(tolerance)
    if isinstance(tolerance, Fraction):
        return suggest_tolerance(data, tolerance) or None
    return check_tolerance(tolerance)
