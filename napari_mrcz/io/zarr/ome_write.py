"""Write OME-Zarr (NGFF 0.4, zarr format 2): a multiscale pyramid with voxel size and origin in Å, the
MRC header and JSON metadata kept in attributes; local folders or fsspec URLs (s3://, ...).

Why NGFF 0.4 on zarr v2: it is what the CZ cryo-ET data portal serves and its tools (copick,
cryoet-data-portal, ome-zarr-py) write, and what napari-ome-zarr, Neuroglancer, Fiji/MoBIE and
kerchunk all read; 0.5 (zarr v3) is not yet read by all of them. The pyramid is written chunk by chunk
(:mod:`.pyramid`), so memory is bounded whatever the volume's size; y is never flipped.

Never a half-written image presented as complete: a local group is written under a temporary name
beside the target and renamed into place when complete; in an object store (no rename) the
``multiscales`` attribute, without which no reader sees an image, is written last, and what was
written is removed when the write fails.
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import Finding, MrczError
from ..storage.paths import as_path
from ..storage.remote import is_url
from .attributes import ANGSTROM, METADATA_ATTR, MRC_HEADER_ATTR, dims_for, json_safe
from .pyramid import TILE, PyramidWriter, level_shapes

CHUNK = 256
"""Default chunk edge (the cryo-ET data portal's 256³)."""
CLEVEL = 3
"""Default zstd level inside blosc."""


def write_ome_zarr(
    target: str | os.PathLike[str],
    data: Any,
    *,
    voxel_size: Sequence[float] = (1.0, 1.0, 1.0),
    origin: Sequence[float] = (0.0, 0.0, 0.0),
    metadata: dict[str, Any] | None = None,
    mrc_header: dict[str, Any] | None = None,
    bin_z: bool = True,
    chunks: int = CHUNK,
    clevel: int = CLEVEL,
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
    name: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Write ``data`` as an OME-Zarr image (NGFF 0.4, zarr v2, blosc zstd) with a multiscale pyramid.

    Parameters
    ----------
    target
        A local folder (conventionally ``*.ome.zarr``) or an fsspec URL (``s3://bucket/x.ome.zarr``; S3
        honours ``AWS_ENDPOINT_URL`` and the other AWS environment variables through s3fs/botocore).
    data
        (y, x) or (z, y, x) array-like with ``shape``, ``dtype`` and slicing (numpy, dask, the lazy
        arrays of :func:`napari_mrcz.read`); read one chunk-sized box at a time, so a dask array is
        computed region by region (on a dask.distributed cluster when a client is active).
    voxel_size, origin
        (z, y, x) in Å (the last two used for 2-D data): the NGFF ``scale`` and ``translation`` of level 0.
        A voxel size that is not positive is written as 1.
    metadata, mrc_header
        JSON-serialisable dicts kept as the group attributes ``mrc_metadata`` and ``mrc_header``.
    bin_z
        Halve z with y and x at each level (volumes); False keeps every z-slice (tilt series, stacks).
    chunks
        Chunk edge in voxels (even, 16 to 1024), the same at every level.
    clevel
        zstd level (1-9).
    overwrite
        Replace an existing image at ``target``; otherwise an existing target raises MrczError.
    storage_options
        fsspec options for a URL target (e.g. ``{"endpoint_url": ..., "key": ..., "secret": ...}``).
    name
        The image's ``name`` in the multiscales metadata (default: the target's name).
    progress
        Called with the bytes of level-0 data stored, after each chunk.

    Returns
    -------
    str
        The target as given (a local path as a string).

    Raises
    ------
    MrczError
        Data other than 2-D or 3-D, invalid ``chunks``/``clevel``, an existing target without
        ``overwrite``, a target that cannot be written (missing or read-only folder, a store that
        fails mid-write: nothing is left that looks like a complete image).
    """
    import numcodecs
    import zarr

    shape, dtype = tuple(int(n) for n in data.shape), np.dtype(data.dtype)
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise MrczError(f"OME-Zarr output takes 2-D (y, x) or 3-D (z, y, x) data, not shape {shape}")
    if dtype.kind not in "biufc" or dtype.kind == "b":
        raise MrczError(f"OME-Zarr output takes numeric data, not {dtype}")
    if not (isinstance(chunks, int) and 16 <= chunks <= 1024 and chunks % 2 == 0):
        raise MrczError(f"chunks must be an even number of voxels from 16 to 1024, not {chunks!r}")
    if not (isinstance(clevel, int) and 1 <= clevel <= 9):
        raise MrczError(f"clevel must be 1 to 9, not {clevel!r}")
    dims = dims_for(len(shape))
    voxel = [v if 0 < v < math.inf else 1.0 for v in (float(v) for v in voxel_size)][-len(dims):]
    shift = [float(o) for o in origin][-len(dims):]
    label = name or _name(target)
    opened = _open_target(target, overwrite, storage_options)
    store, finish, abandon = opened
    try:
        root = zarr.open_group(store, mode="w", zarr_format=2)
        compressor = numcodecs.Blosc(cname="zstd", clevel=clevel, shuffle=numcodecs.Blosc.SHUFFLE)
        shapes = level_shapes(shape, bin_z, TILE)
        levels = [
            root.create_array(
                name=str(i), shape=s, chunks=tuple(min(chunks, n) for n in s), dtype=dtype.newbyteorder("<"),
                compressors=compressor, fill_value=0, chunk_key_encoding={"name": "v2", "separator": "/"},
            )
            for i, s in enumerate(shapes)
        ]

        def read(box: tuple[tuple[int, int], ...]) -> np.ndarray:
            return np.asarray(data[tuple(slice(a, b) for a, b in box)])

        PyramidWriter(levels, read, bin_z, progress).run()
        root.attrs.update(json_safe({MRC_HEADER_ATTR: mrc_header or {}, METADATA_ATTR: metadata or {}}))
        _write_multiscales(root, shapes, dims, voxel, shift, label)  # last: marks the image complete
    except BaseException as err:
        abandon()
        if isinstance(err, MrczError) or not isinstance(err, Exception):
            raise
        raise MrczError(f"{target}: writing the OME-Zarr image failed: {err}; nothing was left in its place") from err
    finish()
    return os.fspath(target) if not is_url(target) else str(target)


def _name(target: Any) -> str:
    text = str(target) if is_url(target) else os.fspath(target)
    base = text.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".ome.zarr", ".zarr"):
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def _write_multiscales(root: Any, shapes: list[tuple[int, ...]], dims: tuple[str, ...], voxel: list[float],
                       origin: list[float], label: str) -> None:
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_multiscales_metadata

    datasets = []
    for i, s in enumerate(shapes):
        factors = [shapes[0][a] / s[a] if s[a] != shapes[0][a] else 1.0 for a in range(len(s))]
        factors = [float(2**i) if f != 1.0 else 1.0 for f in factors]
        # a binned voxel's centre is the mean of the centres it covers: half a level-0 voxel on per doubling
        datasets.append({"path": str(i), "coordinateTransformations": [
            {"type": "scale", "scale": [v * f for v, f in zip(voxel, factors)]},
            {"type": "translation", "translation": [o + (f - 1) * v / 2 for o, v, f in zip(origin, voxel, factors)]},
        ]})
    axes = [{"name": d, "type": "space", "unit": ANGSTROM} for d in dims]
    write_multiscales_metadata(root, datasets, fmt=FormatV04(), axes=axes, name=label)


def _open_target(target: Any, overwrite: bool, storage_options: dict[str, Any] | None) -> tuple[Any, Callable[[], None], Callable[[], None]]:
    """(zarr store, finish(), abandon()) for writing ``target``: a temporary folder renamed into place,
    or the URL itself, removed again on failure."""
    from zarr.storage import FsspecStore, LocalStore

    if is_url(target):
        import fsspec

        url = str(target).rstrip("/")
        try:
            fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
            exists = fs.exists(path)
            if exists and not overwrite:
                raise MrczError(f"{url} exists; pass overwrite=True (CLI: --force) to replace it")
            if exists:
                fs.rm(path, recursive=True)
            store = FsspecStore.from_url(url, storage_options=storage_options)
        except MrczError:
            raise
        except Exception as err:
            raise MrczError(f"{url}: cannot write there: {err}") from err

        def abandon() -> None:
            try:
                fs.invalidate_cache()
                if fs.exists(path):
                    fs.rm(path, recursive=True)
            except Exception:  # noqa: BLE001 - the write's own error is the one to report
                pass

        return store, lambda: None, abandon

    final = as_path(target)
    if os.path.lexists(final) and not overwrite:
        raise MrczError(f"{final} exists; pass overwrite=True (CLI: --force) to replace it")
    if os.path.lexists(final) and not final.is_dir():
        raise MrczError(f"{final} exists and is not a folder; an OME-Zarr image is a folder")
    parent = final.absolute().parent
    if not parent.is_dir():
        raise MrczError(f"{final}: the folder {parent} does not exist")
    tmp = parent / f".{final.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
    except OSError as err:
        raise MrczError(f"{final}: cannot write in {parent}: {err.strerror or err}") from err

    def finish() -> None:
        old = parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
        try:
            if os.path.lexists(final):
                final.rename(old)
            tmp.rename(final)
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise MrczError(f"{final}: cannot move the finished image into place: {err}") from err
        shutil.rmtree(old, ignore_errors=True)

    return LocalStore(tmp), finish, lambda: shutil.rmtree(tmp, ignore_errors=True)


def write_file_as_ome_zarr(info: Any, target: Any, findings: list[Finding] | None = None, **options: Any) -> str:
    """Convert an opened MRC/MRCZ file (:class:`~napari_mrcz.io.opener.MrcFileInfo`) to OME-Zarr, reading
    it region by region: voxel size, origin, header fields and JSON metadata carried over; tilt series
    and image stacks (ISPG 0) are not binned in z. Options as :func:`write_ome_zarr`; ``findings``
    (why tilt angles were ignored) as for :func:`~napari_mrcz.io.reader.tilt.tilt_angles`.

    Raises
    ------
    MrczError
        As :func:`write_ome_zarr`; volume stacks (4-D) are refused.
    """
    from ..reader.array import MrcArray
    from ..reader.tilt import file_tilt_angles
    from .attributes import header_attributes

    h = info.header
    if len(info.shape) == 4:
        raise MrczError(f"{info.path}: volume stacks (4-D) cannot be written as one OME-Zarr image")
    options.setdefault("bin_z", h.ispg != 0 and file_tilt_angles(info, findings) is None)
    return write_ome_zarr(target, MrcArray(info), voxel_size=info.voxel_size, origin=info.origin,
                          metadata=info.metadata, mrc_header=header_attributes(h), **options)


def write_array_as_ome_zarr(target: Any, data: Any, *, voxel_size: Any = None, units: str = "Å",
                            metadata: dict[str, Any] | None = None, origin: Any = None,
                            overwrite: Any = True, **options: Any) -> str:
    """:func:`napari_mrcz.write` to an OME-Zarr name: ``data`` (an array, or an :class:`MrcImage` whose
    voxel size, origin, metadata and header are used where not given), voxel size and origin in ``units``.

    Raises
    ------
    MrczError
        As :func:`write_ome_zarr`, and invalid voxel size, origin or units.
    """
    from ...format.metadata import check_voxel_size
    from ...format.origin import check_origin
    from .attributes import header_attributes

    header = None
    if all(hasattr(data, a) for a in ("data", "voxel_size", "origin", "metadata", "header")):  # an MrcImage
        header = data.header
        voxel = check_voxel_size(data.voxel_size, "Å") if voxel_size is None else check_voxel_size(voxel_size, units)
        where = data.origin if origin is None else check_origin(origin, units, np.ndim(data.data))
        metadata = data.metadata if metadata is None else metadata
        options.setdefault("bin_z", header.ispg != 0)
        data = data.data
    else:
        voxel = check_voxel_size(voxel_size, units)
        where = check_origin(origin, units, len(getattr(data, "shape", ())))
    if not (hasattr(data, "shape") and hasattr(data, "dtype")):
        raise MrczError(f"data must be an array with a shape and a dtype, not a {type(data).__name__}")
    return write_ome_zarr(target, data, voxel_size=voxel, origin=where, metadata=metadata,
                          mrc_header=header_attributes(header) if header is not None else None,
                          overwrite=bool(overwrite), **options)
