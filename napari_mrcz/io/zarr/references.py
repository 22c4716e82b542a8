"""Kerchunk references: an MRC or MRCZ file described as a zarr (v2) array, read in place by zarr,
xarray and dask without copying a byte.

One zarr chunk per stored z-slice: for MRCZ the slice's blosc chunk (offset and length from the chunk
index :func:`~napari_mrcz.open_mrc` built: the seek table or the chunk walk), which numcodecs' ``blosc``
codec decodes as it is; blosc2-format chunks (written by python-blosc2) through the
``imagecodecs_blosc2`` codec that the ``imagecodecs-numcodecs`` package registers; for plain MRC the
slice's raw bytes. Coordinates (voxel centres in Å from the origin, as :attr:`MrcFileInfo.origin`
places them) are stored inline, so ``xarray.open_dataset(refs, engine="kerchunk")`` gives labelled
axes. Format: kerchunk reference spec version 1 (https://fsspec.github.io/kerchunk/spec.html).
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import UnsupportedError
from ...format.chunks import parse_chunk_header
from ...format.constants import BLOSC1_HEADER_BYTES
from ...format.identity import Strictness
from ..reader.file import MrcFileInfo, open_mrc
from ..storage.paths import PathLike, as_path
from ..storage.remote import is_url
from .attributes import ANGSTROM, METADATA_ATTR, MRC_HEADER_ATTR, ZYX, dims_for, header_attributes, json_safe

ARRAY = "data"
"""Name of the voxel array in the reference set (and of the xarray data variable)."""
BLOSC2_CODEC = "imagecodecs_blosc2"
_AXIS_NAMES = {1: "x", 2: "y", 3: "z"}


def references(
    path_or_url: PathLike,
    *,
    storage_options: dict[str, Any] | None = None,
    storage_order: bool = False,
    strict: Strictness = "auto",
) -> dict[str, Any]:
    """A kerchunk reference set (spec version 1, zarr v2 metadata) for the voxels of an MRC/MRCZ file.

    The set holds a group with the array ``data`` (shape as :func:`napari_mrcz.read` returns it: (y, x),
    (z, y, x) or (volume, z, y, x); one chunk per z-slice; the file's dtype and byte order) and one
    coordinate array per axis with a known voxel size (voxel positions in Å: origin + index x voxel
    size). Attributes: ``voxel_size`` and ``origin`` (Å, by axis name), ``units`` ("angstrom"),
    ``_ARRAY_DIMENSIONS`` (axis names, for xarray), ``mrc_header`` (every header field) and
    ``mrc_metadata`` (the file's JSON metadata).

    Read it with ``xarray.open_dataset(refs, engine="kerchunk")``, or
    ``zarr.open_group(fsspec.filesystem("reference", fo=refs).get_mapper())``; add
    ``remote_protocol``/``remote_options`` for a remote file.

    Parameters
    ----------
    path_or_url
        A local MRC/MRCZ file (referenced by its absolute path) or a URL fsspec opens (referenced as it is).
    storage_options
        fsspec options to open a URL with (also needed later by whoever reads the references).
    storage_order
        Files whose MAPC/MAPR/MAPS is not 1, 2, 3 are refused unless True; then the array is the data in
        storage order (sections, rows, columns), its axes named after what they run along, with the
        attribute ``mrc_storage_order`` saying so.
    strict
        As for :func:`napari_mrcz.open_mrc`.

    Raises
    ------
    MrczError
        The file is unreadable (as :func:`napari_mrcz.open_mrc`), or zarr cannot express it
        (:class:`~napari_mrcz.errors.UnsupportedError`): mode 101 (4-bit), mode 3 (complex int16), a
        non-standard axis order without ``storage_order``, a gzip/bzip2 file, blosc2-format chunks
        without ``imagecodecs-numcodecs`` installed.
    """
    local = not is_url(path_or_url)
    info = open_mrc(path_or_url, strict=strict, storage_options=storage_options)
    with info:
        target = str(as_path(path_or_url).absolute()) if local else str(path_or_url)
        if info.source.container is not None:  # gzip/bzip2, decompressed in memory: no byte ranges to reference
            raise UnsupportedError(f"{target}: gzip/bzip2-compressed files cannot be referenced; decompress it first")
        return _build(info, target, storage_order)


def _check_expressible(info: MrcFileInfo, storage_order: bool) -> None:
    h = info.header
    if h.mrc_mode == 101:
        raise UnsupportedError(f"{info.path}: mode 101 (4-bit) packs two voxels per byte, which zarr cannot express")
    if h.mrc_mode == 3:
        raise UnsupportedError(f"{info.path}: mode 3 (complex int16) has no zarr dtype; convert it to mode 4 first")
    if h.axis_order != (1, 2, 3) and not storage_order:
        raise UnsupportedError(
            f"{info.path}: MAPC/MAPR/MAPS = {h.axis_order} is not 1, 2, 3; zarr cannot reorder axes. "
            "Pass storage_order=True (CLI: --storage-order) for the data as stored, axes named by the header"
        )
    if h.axis_order != (1, 2, 3) and h.is_volume_stack:
        raise UnsupportedError(f"{info.path}: a volume stack with MAPC/MAPR/MAPS = {h.axis_order} cannot be referenced")


def _codec(info: MrcFileInfo) -> dict[str, Any] | None:
    index = info.chunk_index
    if index is None:
        return None
    if len(index) == 0:
        return {"id": "blosc"}
    first = parse_chunk_header(info.source.pread(BLOSC1_HEADER_BYTES, int(index.offsets[0])))
    if first.version <= 2:
        return {"id": "blosc"}
    import numcodecs

    try:
        numcodecs.get_codec({"id": BLOSC2_CODEC})
    except ValueError:
        raise UnsupportedError(
            f"{info.path}: its chunks are in blosc2 format, which zarr decodes only with a codec from the "
            "imagecodecs-numcodecs package (pip install imagecodecs-numcodecs)"
        ) from None
    return {"id": BLOSC2_CODEC}


def _layout(info: MrcFileInfo, storage_order: bool) -> tuple[tuple[int, ...], tuple[str, ...], dict[str, float], dict[str, float]]:
    """Shape, axis names, voxel size and origin by axis name, of the array as the references show it."""
    h = info.header
    voxel = dict(zip(ZYX, info.voxel_size))
    origin = dict(zip(ZYX, info.origin))
    if h.axis_order != (1, 2, 3):
        dims = tuple(_AXIS_NAMES[a] for a in (h.maps, h.mapr, h.mapc))
        return h.file_shape, dims, voxel, origin
    shape = info.shape
    return shape, dims_for(len(shape)), voxel, origin


def _zjson(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _inline(values: np.ndarray) -> str:
    return "base64:" + base64.b64encode(values.astype("<f8").tobytes()).decode("ascii")


def _build(info: MrcFileInfo, target: str, storage_order: bool) -> dict[str, Any]:
    _check_expressible(info, storage_order)
    h = info.header
    shape, dims, voxel, origin = _layout(info, storage_order)
    dtype = np.dtype("u1") if (h.unsigned_bytes) else h.disk_dtype
    chunks = (1,) * (len(shape) - 2) + tuple(shape[-2:])
    array_attrs: dict[str, Any] = {
        "_ARRAY_DIMENSIONS": list(dims),
        "voxel_size": {d: voxel[d] for d in dims if d in voxel},
        "origin": {d: origin[d] for d in dims if d in origin},
        "units": ANGSTROM,
        MRC_HEADER_ATTR: header_attributes(h),
        METADATA_ATTR: info.metadata,
    }
    if h.axis_order != (1, 2, 3):
        array_attrs["mrc_storage_order"] = (
            f"sections, rows, columns as stored (MAPC/MAPR/MAPS = {list(h.axis_order)}), not z, y, x"
        )
    refs: dict[str, Any] = {
        ".zgroup": _zjson({"zarr_format": 2}),
        ".zattrs": _zjson({"source": Path(target).name if not is_url(target) else target,
                           METADATA_ATTR: info.metadata}),
        f"{ARRAY}/.zarray": _zjson({
            "zarr_format": 2, "shape": list(shape), "chunks": list(chunks), "dtype": dtype.str,
            "compressor": _codec(info), "fill_value": None, "order": "C", "filters": None,
            "dimension_separator": ".",
        }),
        f"{ARRAY}/.zattrs": _zjson(json_safe(array_attrs)),
    }
    tail = ".0.0"
    lead_shape = shape[:-2]
    index = info.chunk_index
    for z in range(int(np.prod(lead_shape, dtype=np.int64))):
        key = ".".join(str(int(i)) for i in np.unravel_index(z, lead_shape)) + tail if lead_shape else "0.0"
        if index is None:
            refs[f"{ARRAY}/{key}"] = [target, h.data_offset + z * h.slice_nbytes, h.slice_nbytes]
        else:
            refs[f"{ARRAY}/{key}"] = [target, int(index.offsets[z]), int(index.cbytes[z])]
    for d, n in zip(dims, shape):
        if d not in voxel or not 0 < voxel[d] < math.inf:
            continue  # no voxel size: positions unknown, the axis stays an index
        refs[f"{d}/.zarray"] = _zjson({
            "zarr_format": 2, "shape": [n], "chunks": [max(n, 1)], "dtype": "<f8", "compressor": None,
            "fill_value": None, "order": "C", "filters": None, "dimension_separator": ".",
        })
        refs[f"{d}/.zattrs"] = _zjson({"_ARRAY_DIMENSIONS": [d], "units": ANGSTROM, "long_name": f"{d} position"})
        refs[f"{d}/0"] = _inline(origin[d] + voxel[d] * np.arange(n, dtype=np.float64))
    return {"version": 1, "refs": refs}


def write_references(refs: dict[str, Any], out: Path) -> None:
    """Save a reference set as JSON (written beside ``out`` and renamed into place)."""
    tmp = out.with_name(f".{out.name}.partial")
    tmp.write_text(json.dumps(refs), encoding="utf-8")
    tmp.replace(out)
