"""The values of pyramid levels: 2×2(×2) means, and float levels rounded for display.

A level-k voxel is the mean of the level-(k−1) voxels it covers (:func:`downsample`); float levels are
then rounded to :data:`LEVEL_MANTISSA_BITS` mantissa bits (:func:`round_mantissa`), which makes a stored
float32 level about 0.57 of its exact size (bench: a noisy float32 tomogram, lz4 + bit-shuffle), so a
pyramid adds under 10 % to an MRCZ file rather than 14 %. Every producer of levels (the lazily
computed pyramid, the stored one, the per-user cache) goes through :func:`level_mean`, so they agree
voxel for voxel. Level 0, the data, is never rounded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

LEVEL_MANTISSA_BITS = 11
"""Explicit mantissa bits kept in float levels: a relative error of at most 2⁻¹² (1 part in 4096), far
below the noise of a mean of 8 voxels of any measured map, and below what a display's 256 grey levels
resolve. float16 (10 bits) is kept as it is."""
_BAND_BYTES = 2**20


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    """Integers are summed exactly (8 values of the type fit); floats and complex are averaged."""
    if dtype.kind == "b" or dtype.kind in "iu" and dtype.itemsize == 1:
        return np.dtype(np.int16)
    if dtype.kind in "iu":
        return np.dtype(np.int32 if dtype.itemsize == 2 else np.int64)
    if dtype.kind == "c":
        return np.dtype(np.complex128 if dtype.itemsize > 8 else np.complex64)
    return np.dtype(np.float64 if dtype.itemsize > 4 else np.float32)


def downsample(block: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """Halve ``block`` along ``axes`` (rounding the size up): the mean of each 2×2(×2) box, and of
    the voxels there in boxes cut by an odd edge. Integers are summed exactly and the mean rounded
    back to their dtype (ties to even). Floats are summed pair by pair (axis 0 first) and scaled by
    1/2 per halved axis; where a sum overflows, the voxels are scaled first (exact: a power of two),
    so no mean near the float maximum is lost. float16 is averaged in float32."""
    return _block(block, axes, _same)


def _block(block: np.ndarray, axes: Sequence[int], post: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    data = np.asarray(block)
    return _banded(lambda rows: data[..., rows, :], data.shape, data.dtype, axes, post)


def _planes(planes: Sequence[np.ndarray], halve_z: bool, post: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``post`` of ``downsample(np.stack(planes), (0, 1, 2) if halve_z else (1, 2))[0]``, without
    stacking the planes (one or two 2-D planes of one dtype)."""
    shape = (len(planes), *planes[0].shape)
    return _banded(lambda rows: [p[rows] for p in planes], shape, planes[0].dtype,
                   (0, 1, 2) if halve_z else (1, 2), post)[0]


def _same(values: np.ndarray) -> np.ndarray:
    return values


def _banded(band: Callable[[slice], np.ndarray], shape: tuple[int, ...], dtype: np.dtype,
            axes: Sequence[int], post: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``post`` of the mean, computed a band of rows (axis −2) at a time: each band's sums stay in
    the CPU's cache (about 3× faster than whole-array passes on 4096² planes), and every output voxel
    comes from its own box, so the result is the same."""
    halved = [axis for axis in sorted(axes) if shape[axis] >= 2]
    if len(shape) < 2:
        return post(_mean(band(slice(None)), halved, dtype))
    ny, row_bytes = shape[-2], int(np.prod(shape, dtype=np.int64)) // max(1, shape[-2]) * dtype.itemsize
    step = max(2, _BAND_BYTES // max(1, row_bytes)) // 2 * 2
    if step >= ny:
        return post(_mean(band(slice(None)), halved, dtype))
    y_halved = len(shape) - 2 in halved
    out = np.empty(tuple((n + 1) // 2 if a in halved else n for a, n in enumerate(shape)), dtype=dtype)
    for r0 in range(0, ny, step):
        r1 = min(ny, r0 + step)
        o0, o1 = (r0 // 2, (r1 + 1) // 2) if y_halved else (r0, r1)
        out[..., o0:o1, :] = post(_mean(band(slice(r0, r1)), halved, dtype))
    return out


def _mean(data: np.ndarray | list[np.ndarray], halved: list[int], dtype: np.dtype) -> np.ndarray:
    """:func:`downsample` of ``data`` along ``halved`` (chosen from the whole array's shape); ``data``
    may be a list of planes along axis 0, which a pair of halved planes is summed from unstacked."""
    if isinstance(data, list) and not (len(data) == 2 and halved[:1] == [0]):
        data = np.stack(data)
    work = _sum_dtype(dtype)
    if work.kind == "c":
        return _scaled_first(data, halved, work).astype(dtype, copy=False)
    if work.kind == "f":
        out = data
        with np.errstate(over="ignore", invalid="ignore"):  # such voxels are redone below (errstate is per thread)
            for axis in halved:
                out = _pair_sums(out, axis, work, edge_weight=2)
            out = out.astype(work) if out is data else out
            out *= work.type(0.5 ** len(halved))
        bad = ~np.isfinite(out)
        if bad.any():  # overflowed sums, or NaN/inf in the data: those voxels as the scaled sum gives them
            out[bad] = _scaled_first(np.stack(data) if isinstance(data, list) else data, halved, work)[bad]
        return out.astype(dtype, copy=False)
    out = data
    counts = []
    for axis in halved:
        n = len(out) if isinstance(out, list) else out.shape[axis]
        out = _pair_sums(out, axis, work, edge_weight=1)
        counts.append((axis, np.r_[np.full(n // 2, 2.0), np.ones(n % 2)]))
    if not counts:
        return out.astype(dtype)
    total = np.ones((1,) * out.ndim)
    for axis, count in counts:
        total = total * count.reshape([-1 if a == axis else 1 for a in range(out.ndim)])
    return np.rint(out / total).astype(dtype)


def _scaled_first(data: np.ndarray, halved: list[int], work: np.dtype) -> np.ndarray:
    out = np.multiply(data, 0.5 ** len(halved), dtype=work)
    for axis in halved:
        out = _pair_sums(out, axis, work, edge_weight=2)
    return out


def _pair_sums(arr: np.ndarray | list[np.ndarray], axis: int, work: np.dtype, edge_weight: int) -> np.ndarray:
    """Sums of neighbouring pairs along ``axis``; an odd last element is kept, times ``edge_weight``.
    ``arr`` may be a pair of planes (axis 0): their sum, with no stacked copy."""
    if isinstance(arr, list):
        return np.add(arr[0], arr[1], dtype=work)[None]
    n = arr.shape[axis]
    at = (slice(None),) * axis
    pairs = np.add(arr[at + (slice(0, n - 1, 2),)], arr[at + (slice(1, n, 2),)], dtype=work)
    if n % 2:
        last = arr[at + (slice(n - 1, n),)].astype(work)
        pairs = np.concatenate([pairs, last * edge_weight if edge_weight != 1 else last], axis=axis)
    return pairs


def kept_mantissa_bits(dtype: np.dtype) -> int:
    """Explicit mantissa bits levels of ``dtype`` keep: :data:`LEVEL_MANTISSA_BITS` for float32 and
    float64; 0 (exact: nothing rounded) for every other dtype."""
    dtype = np.dtype(dtype)
    return LEVEL_MANTISSA_BITS if dtype.kind == "f" and dtype.itemsize >= 4 else 0


def round_mantissa(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to :func:`kept_mantissa_bits` explicit mantissa bits, to nearest with ties to
    even (a new array); dtypes that keep every bit are returned as they are. NaN, infinities, and finite
    values that would round past the largest float are kept as they are."""
    bits = kept_mantissa_bits(values.dtype)
    if not bits:
        return values
    drop = np.finfo(values.dtype).nmant - bits
    uint = np.dtype(f"u{values.dtype.itemsize}").newbyteorder(values.dtype.byteorder)
    raw = values.view(uint)
    one = uint.type(1)
    half, shift = (one << uint.type(drop - 1)) - one, uint.type(drop)
    rounded = ((raw + half + ((raw >> shift) & one)) >> shift << shift).view(values.dtype)
    return np.where(np.isfinite(values) & np.isfinite(rounded), rounded, values)


def level_mean(block: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """The next pyramid level of ``block``: :func:`downsample` along ``axes``, floats rounded by
    :func:`round_mantissa`."""
    return _block(block, axes, round_mantissa)


def level_mean_planes(planes: Sequence[np.ndarray], halve_z: bool) -> np.ndarray:
    """:func:`level_mean` of one or two stacked planes, without stacking them (:func:`_planes`): one
    plane out."""
    return _planes(planes, halve_z, round_mantissa)
