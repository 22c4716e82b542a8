"""Read a converted file back and compare it with its input: :func:`compare_files`.

Values are compared block by block of z-slices (about 32 MiB of each file at a time, never whole files):
bit for bit where the dtype is kept, by value where it changed (uint8 widened to uint16, ``dtype=``
integer decimation), and within the bound where the conversion had a ``tolerance``. Shape, dtype,
voxel size, origin, JSON metadata, tilt angles, voltage, C3 and gain are compared as
:func:`napari_mrcz.io.writer.convert.convert_file` carries them over.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import Finding, VerifyError
from ...values.dtypes import storage_dtype
from ...format.kept import extended_to_write, kept_extended_header, rewrite_arguments
from ...format.names import is_zarr
from ...values.precision import INT, INTEGER_DTYPES, check_dtype
from ..writer.convert import file_tolerance, iter_file_blocks
from ..reader.file import MrcFileInfo, PathLike, open_mrc
from ..reader.tilt import file_tilt_angles

_RTOL = 1e-6  # voxel size and origin pass through float32 CELLA/ORIGIN and a division by MX/MY/MZ
_TILT_ATOL = 0.005  # a SERI header stores hundredths of a degree


def _angles_text(angles: np.ndarray | None) -> str:
    if angles is None:
        return "none"
    return f"[{', '.join(f'{a:g}' for a in angles[:4])}{', ...' if len(angles) > 4 else ''}] ({len(angles)})"


def compare_files(
    source: PathLike,
    converted: PathLike,
    *,
    keep_metadata: bool = True,
    tolerance: float | str | None = None,
    dtype: Any = None,
    n_threads: int | None = None,
    strict: bool | str = "auto",
    findings: list[Finding] | None = None,
) -> None:
    """Check that ``converted`` holds what converting ``source`` should give.

    Parameters
    ----------
    source
        The input file (any readable MRC/MRCZ, also ``.gz``/``.bz2``), or its URL.
    converted
        The output of :func:`napari_mrcz.io.writer.convert.convert_file` for it.
    keep_metadata
        Whether the conversion kept the JSON metadata (else the output must have none).
    tolerance, dtype
        As given to the conversion: float values may differ by up to the tolerance (``auto`` resolved
        from ``source`` as the conversion did), and ``dtype`` names the integer dtype stored.
    n_threads
        blosc threads for decompression.
    strict
        How ``source`` was opened for conversion (see :func:`napari_mrcz.open_mrc`).
    findings
        A list to append what reading either file finds to, instead of warning (as for
        :func:`~napari_mrcz.io.writer.convert.convert_file`).

    Raises
    ------
    VerifyError
        A value, the shape, dtype, voxel size, origin, metadata, voltage, C3 or gain differs; the message
        says which (for values, the first z-slice that differs).
    MrczError
        Either file is not readable MRC/MRCZ.
    OSError
        Either file cannot be opened.
    """
    if is_zarr(converted):
        from ..zarr.convert import compare_with_ome_zarr

        return compare_with_ome_zarr(source, converted, keep_metadata=keep_metadata, strict=strict, findings=findings)
    warn = findings is None
    with open_mrc(source, strict=strict, warn=warn) as src, open_mrc(converted, warn=warn) as out:
        if findings is not None:
            findings += (*src.findings, *out.findings)
        _compare_fields(src, out, keep_metadata, dtype, findings)
        # integer data is always stored exactly, whatever the tolerance
        bound = file_tolerance(src, tolerance) if src.dtype.kind in "fc" else None
        z = 0
        for block in iter_file_blocks(src, n_threads):
            got = out.read_slices(z, z + block.shape[0], n_threads)
            if bound is not None or not _same_values(block, got):
                rows = ~_matches(block, got, bound).reshape(block.shape[0], -1).all(axis=1)
                if rows.any():
                    what = "differs from" if bound is None else f"differs by more than {bound:g} from"
                    raise VerifyError(f"{out.path}: z-slice {z + int(np.flatnonzero(rows)[0])} {what} {src.path}")
            z += block.shape[0]


def _compare_fields(src: MrcFileInfo, out: MrcFileInfo, keep_metadata: bool, dtype: Any,
                    findings: list[Finding] | None) -> None:
    def differs(what: str, expected: Any, found: Any) -> VerifyError:
        return VerifyError(f"{out.path}: {what} {found} differs from {expected} in {src.path}")

    requested = check_dtype(dtype)
    if requested is None:
        allowed: tuple[np.dtype, ...] = (storage_dtype(src.dtype)[0],)
    else:  # "int" picks the smallest of int8/int16/uint16 that holds the values
        allowed = INTEGER_DTYPES if isinstance(requested, str) and requested == INT else (requested,)
    if out.shape != src.shape or out.dtype not in allowed:
        expected = " or ".join(str(d) for d in allowed)
        raise differs("shape and dtype", (src.shape, expected), (out.shape, str(out.dtype)))
    expected_angles, angles = file_tilt_angles(src, findings), file_tilt_angles(out, findings)
    written = rewrite_arguments(src.header, src.voxel_size, src.metadata if keep_metadata else {},
                                expected_angles)  # what convert_file gave the writer
    kept_extended = kept_extended_header(src.header, src.extended_header)
    metadata = extended_to_write(written["kept"], written["metadata"], kept_extended, out.header.byte_order)[0] or {}
    voxel = tuple(written["voxel_size"])
    if not np.allclose(out.voxel_size, voxel, rtol=_RTOL, atol=0):
        raise differs("voxel size (Å)", voxel, out.voxel_size)
    if not np.allclose(out.origin, src.origin, rtol=_RTOL, atol=1e-6, equal_nan=True):
        raise differs("origin (Å)", src.origin, out.origin)
    if out.metadata != metadata:
        raise differs("metadata", metadata, out.metadata)
    if (expected_angles is None) != (angles is None) or (
        angles is not None and not np.allclose(angles, expected_angles, rtol=0, atol=_TILT_ATOL)  # type: ignore[arg-type]
    ):
        raise differs("tilt angles (°)", _angles_text(expected_angles), _angles_text(angles))
    for name in ("voltage", "c3", "gain"):
        expected, found = written[name], getattr(out.header, name)
        if found is None or np.float32(expected) != np.float32(found):
            raise differs(name, expected, found)


def _same_values(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype == b.dtype:  # bit for bit: NaN payloads and -0.0 count
        return bool(np.array_equal(_bytes(a), _bytes(b)))
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _matches(a: np.ndarray, b: np.ndarray, bound: float | None) -> np.ndarray:
    """Per value: ``b`` stands for ``a`` (bit for bit, equal, or within ``bound``; NaN for NaN)."""
    if bound is None and a.dtype == b.dtype:
        return (_bytes(a) == _bytes(b)).reshape(*a.shape, a.dtype.itemsize).all(axis=-1)
    with np.errstate(invalid="ignore", over="ignore"):
        same = (a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind in "fc" else a == b
        if bound is None:
            return same
        wide = np.complex128 if a.dtype.kind == "c" else np.float64
        return same | (np.abs(b.astype(wide) - a.astype(wide)) <= bound)


def _bytes(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint8)
