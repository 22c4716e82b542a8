"""Initial contrast a person can see: robust percentiles of a bounded sample of the data.

Header statistics are often wrong for display: denoisers copy the raw tomogram's DMIN/DMAX (−3000..3000
for data within ±0.4), mrcz 0.6.0 writes the first frame's, and a micrograph's full min..max is set by a
few hot pixels (an EPU micrograph spans 302..45804 while 99% of it lies within 2064..5205). So the
limits are the 0.5th and 99.5th percentiles of a sample (1% of the voxels saturate): on the shared
corpus and the sample tomogram these show micrographs, counting movies and tomograms with visible
contrast where 0.1/99.9 leaves noisy data pale and min/max leaves micrographs black, while maps keep
their full tonal range. The slider range (``contrast_limits_range``) covers the data so the user can
widen to it; header DMIN/DMAX are used for that range only where they agree with the sample. Limits
always lie within the dtype's range.

Multiscale layers take their isosurface level and 3-D projection from the coarsest level, which napari
draws in 3-D, and their limits from the level a fitted 2-D view shows (:func:`fitted_level`): averaged
voxels have less noise than full-resolution ones, so full-resolution percentiles would leave the first
picture of a binned level flat and put a 3-D isosurface above every voxel drawn. numpy only; no napari
import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import config
from ..io.reader.file import MrcFileInfo
from ..io.reader.region import read_storage

LOW_PERCENTILE, HIGH_PERCENTILE = 0.5, 99.5
ISO_PERCENTILE = 99.0
"""Isosurface level of a density map: 1% of the voxels above it, ChimeraX's initial surface level."""
SAMPLE_VALUES = 2**20
"""At most this many values are sorted to find the percentiles (1 M: ~20 ms, and 5000 in each tail)."""
LAZY_SAMPLE_SLICES = 3
"""Stored z-slices a lazy file's sample comes from: at a quarter, half and three quarters."""
LEVEL_SAMPLE_SLICES = 16
"""z-slices of the coarsest pyramid level sampled for the limits and the isosurface level: enough that
an object in a few slices (a map's particle) is neither missed nor over-counted."""
TAIL_PERCENTILE = 0.05
DARK_TAIL_RATIO = 1.25
"""Objects are darker than the background when the sample's low tail (median − 0.05th percentile) is this
many times longer than its high tail: then a minimum-intensity projection shows them in 3-D."""
HEADER_MAX_WIDENING = 100.0
"""Header statistics wider than this many times the sample's range are taken as stale (denoised
tomograms: 10³-10⁴; hot pixels in a micrograph: about 10)."""


@dataclass(frozen=True)
class Contrast:
    """Initial ``contrast_limits``, the ``contrast_limits_range`` the slider offers, the isosurface
    level for 3-D rendering of a density map, and the projection that shows a tomogram's objects in 3-D
    (``"mip"`` when they are brighter than the background, ``"minip"`` when darker, as in cryo-ET)."""

    limits: tuple[float, float]
    range: tuple[float, float]
    iso_level: float
    projection: str = "mip"


def sample_slices(nz: int, count: int = LAZY_SAMPLE_SLICES) -> list[int]:
    """Which of ``nz`` stored z-slices a lazy file's sample reads: evenly inside the stack, not the first
    or last when there are others (often blank or partial in tomograms), at most ``count``."""
    if nz <= 2:
        return list(range(nz))
    return sorted({1 + (nz - 2) * (i + 1) // (count + 1) for i in range(count)})


def subsample(values: np.ndarray, limit: int = SAMPLE_VALUES) -> np.ndarray:
    """At most ``limit`` finite values of ``values`` (any shape), taken at an odd stride so that rows
    of even width are not sampled in the same columns."""
    flat = np.asarray(values).reshape(-1)
    if flat.size > limit:
        step = -(-flat.size // limit)
        flat = flat[:: step | 1]
    if flat.dtype.kind == "f":
        flat = flat[np.isfinite(flat)]
    return flat


def _dtype_bounds(dtype: np.dtype) -> tuple[float, float]:
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    if dtype.kind == "f":
        finfo = np.finfo(dtype)
        return float(finfo.min), float(finfo.max)
    return -np.inf, np.inf


def _increasing(low: float, high: float, dtype: np.dtype) -> tuple[float, float]:
    """(low, high) clipped to the dtype's range, with high > low (napari refuses equal limits)."""
    lo_bound, hi_bound = _dtype_bounds(dtype)
    low, high = min(max(low, lo_bound), hi_bound), min(max(high, lo_bound), hi_bound)
    if high > low:
        return float(low), float(high)
    step = 1.0 if dtype.kind in "iu" else max(abs(low) * 1e-3, 1e-6)
    return (float(low), float(low + step)) if low + step <= hi_bound else (float(low - step), float(low))


def header_agrees(header_range: tuple[float, float], sample_range: tuple[float, float]) -> bool:
    """True when header statistics can stand for the data: finite, they contain the sample (to float32
    rounding) and are not more than :data:`HEADER_MAX_WIDENING` times wider than it."""
    (h_lo, h_hi), (s_lo, s_hi) = header_range, sample_range
    if not (np.isfinite([h_lo, h_hi]).all() and h_hi > h_lo):
        return False
    slack = 1e-6 * max(abs(h_lo), abs(h_hi), 1.0)
    if s_lo < h_lo - slack or s_hi > h_hi + slack:
        return False
    return (h_hi - h_lo) <= HEADER_MAX_WIDENING * max(s_hi - s_lo, slack)


def choose(
    sample: np.ndarray,
    dtype: np.dtype,
    *,
    data_range: tuple[float, float] | None = None,
    header_range: tuple[float, float] | None = None,
) -> Contrast:
    """Contrast for data of ``dtype`` from ``sample`` (values of the data, any shape).

    Parameters
    ----------
    sample
        Values of the data (an eager array, or a few slices of a lazy one); subsampled here.
    dtype
        The layer's dtype: limits and range stay within its range.
    data_range
        The data's exact (min, max) when known (eager data); the slider range.
    header_range
        (DMIN, DMAX) from the header when it claims to describe all the data; the slider range of a
        lazy layer when it agrees with the sample (:func:`header_agrees`).
    """
    dtype = np.dtype(dtype)
    values = subsample(sample)
    if values.size == 0:
        return Contrast((0.0, 1.0), (0.0, 1.0), 0.5)
    seen = (float(values.min()), float(values.max()))
    # in float64: numpy interpolates small integer types in their own width, and int8 overflows
    percentiles = np.percentile(values.astype(np.float64),
                                (TAIL_PERCENTILE, LOW_PERCENTILE, 50, ISO_PERCENTILE, HIGH_PERCENTILE, 100 - TAIL_PERCENTILE))
    bottom, low, median, iso, high, top = (float(v) for v in percentiles)
    projection = "minip" if median - bottom > DARK_TAIL_RATIO * (top - median) else "mip"
    if not high > low:  # mostly one value (a mask, a padded slice): show everything there is
        low, high = seen
    limits = _increasing(low, high, dtype)
    if data_range is not None:
        full = data_range
    elif header_range is not None and header_agrees(header_range, seen):
        full = header_range
    else:
        full = seen
    full = _increasing(min(full[0], limits[0]), max(full[1], limits[1]), dtype)
    return Contrast(limits, full, min(max(iso, limits[0]), limits[1]), projection)


def level_sample(level: Any) -> np.ndarray:
    """Values of one pyramid level (at most :data:`SAMPLE_VALUES`, :func:`subsample`): whole when 2-D,
    else from :data:`LEVEL_SAMPLE_SLICES` of its z-slices (:func:`sample_slices`; of the middle volume
    of a volume stack): whole slices when they hold no more than twice the sample, else a band of rows
    of each, the k-th of n slices' band at height (k + ½)/n, so that the bands together cover the
    level's height (a map's particle is neither missed nor over-counted) and a 1024² float32 level
    decodes 8 MB of its chunks instead of 64 MB. Reads nothing else of a lazy level."""
    if level.ndim == 2:
        return subsample(np.asarray(level))
    lead = tuple(n // 2 for n in level.shape[:-3])
    slices = sample_slices(level.shape[-3], LEVEL_SAMPLE_SLICES)
    ny, nx = level.shape[-2:]
    rows = -(-SAMPLE_VALUES // (len(slices) * max(1, nx)))
    if 2 * rows >= ny:
        return subsample(np.asarray(level[lead + (np.array(slices),)]))  # one request: chunks in parallel
    bands = []
    for k, z in enumerate(slices):
        first = min(ny - rows, max(0, (2 * k + 1) * ny // (2 * len(slices)) - rows // 2))
        bands.append(np.asarray(level[lead + (z, slice(first, first + rows))]).reshape(-1))
    return subsample(np.concatenate(bands))


def stored_sample(info: MrcFileInfo) -> np.ndarray:
    """Values of a lazy file for its contrast (1-D, stored dtype): a band of rows across the middle
    of each of :func:`sample_slices`' stored z-slices, about :data:`SAMPLE_VALUES` in all. A
    compressed file decodes only the blocks holding them (a 4096² float32 slice: 86 rows, 3 of its
    blocks; over HTTP, 3 × 1.4 MB instead of 3 whole slices), a file stored in another axis order
    reads only those stored slices."""
    h = info.header
    slices = sample_slices(h.nz)
    rows = min(h.ny, -(-SAMPLE_VALUES // (len(slices) * max(1, h.nx))))
    first = (h.ny - rows) // 2
    return read_storage(info, slices, np.arange(first, first + rows), np.arange(h.nx)).reshape(-1)


def file_contrast(info: MrcFileInfo, levels: list[Any], lazy: bool) -> Contrast:
    """Contrast for a layer of ``levels`` (largest first; one for a single-scale layer) read from
    ``info``.

    Eager data is sampled whole, and its exact range is the slider's. A lazy file reads only
    :func:`stored_sample` and trusts its header statistics only where they agree with them; the limits come from the
    level a fitted view shows, the isosurface level and projection from the coarsest level (see the
    module notes). Complex data is
    sampled as the layer shows it (the levels hold its amplitude or phase)."""
    h = info.header
    dtype = np.dtype(levels[0].dtype)
    if not lazy:
        values = np.asarray(levels[0])
        finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
        data_range = (float(finite.min()), float(finite.max())) if finite.size else None
        return choose(values, values.dtype, data_range=data_range)
    sample = stored_sample(info)
    if sample.dtype.kind == "c":
        sample = np.abs(sample).astype(np.float32)
    header_range = (h.dmin, h.dmax) if h.stats_cover_data and h.dtype.kind != "c" else None
    full = choose(sample, dtype, header_range=header_range)
    if len(levels) == 1:
        return full
    coarsest = choose(level_sample(levels[-1]), dtype, data_range=full.range)
    shown = fitted_level(levels)
    flat = full if shown == 0 else coarsest if shown == len(levels) - 1 else choose(
        level_sample(levels[shown]), dtype, data_range=full.range)
    return Contrast(flat.limits, full.range, coarsest.iso_level, coarsest.projection)


def fitted_level(levels: list[Any]) -> int:
    """The pyramid level a fitted 2-D view shows on a canvas up to the ``"multiscale.level_side"``
    setting wide: the finest level whose y and x fit that many pixels (napari shows the coarsest level
    that still has a data pixel per screen pixel)."""
    side = config.get("multiscale.level_side")
    return next((k for k, level in enumerate(levels) if max(level.shape[-2:]) <= side), len(levels) - 1)
