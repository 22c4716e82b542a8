"""The public ``read``, ``write`` and ``convert_file`` with OME-Zarr by name: a name ending in
``.ome.zarr`` or ``.zarr`` (the suffix rule, :func:`napari_mrcz.format.names.is_zarr`) goes to the
OME-Zarr bridge, every other to the MRC/MRCZ core unchanged. zarr itself is imported only then, so
``import napari_mrcz`` stays free of it."""

from __future__ import annotations

import functools
from typing import Any

from ...errors import MrczError
from ...format.names import is_zarr
from ..reader.file import MrcFileInfo
from ..reader.read import MrcImage
from ..reader.read import read as _read_mrc
from ..writer.convert import convert_file as _convert_mrc
from ..writer.write import write as _write_mrc

_ZARR_READ = """
    OME-Zarr: a folder or URL ending in ``.ome.zarr`` or ``.zarr`` is read as an OME-Zarr image (NGFF
    0.4 or 0.5; needs the ``zarr`` extra): one pyramid level (``level=``, 0 = full resolution), lazily
    or not; voxel size and origin in Å from the axes' units; ``strict``, ``n_threads`` do not apply
    (see :func:`napari_mrcz.io.zarr.ome_read.load_ome_zarr`).
"""
_ZARR_WRITE = """
    OME-Zarr: a name ending in ``.ome.zarr`` or ``.zarr`` writes an OME-Zarr image (NGFF 0.4, zarr v2,
    pyramid, blosc zstd; needs the ``zarr`` extra); ``voxel_size``, ``units``, ``metadata``,
    ``origin``, ``clevel`` and ``overwrite`` apply, and the folder or URL is returned as a str (see
    :func:`napari_mrcz.io.zarr.ome_write.write_ome_zarr`).
"""
_ZARR_CONVERT = """
    OME-Zarr: an ``src`` or ``dst`` named ``*.ome.zarr`` / ``*.zarr`` converts between OME-Zarr and
    MRC/MRCZ (needs the ``zarr`` extra; see :func:`napari_mrcz.io.zarr.convert.convert_zarr`).
"""


@functools.wraps(_read_mrc)
def read(path: Any, *, level: int = 0, **options: Any) -> MrcImage:  # noqa: D103 - the core's docstring
    if isinstance(path, MrcFileInfo) or not is_zarr(path):
        if level:
            raise MrczError(f"{path}: level= is for OME-Zarr images; MRC files have one level (see multiscale=)")
        return _read_mrc(path, **options)
    from .ome_read import load_ome_zarr

    if options.get("multiscale"):
        raise MrczError(f"{path}: read OME-Zarr pyramid levels one at a time, with level=")
    return MrcImage(**load_ome_zarr(path, level=level, lazy=bool(options.get("lazy", False)),
                                    storage_options=options.get("storage_options")))


@functools.wraps(_write_mrc)
def write(path: Any, data: Any, **options: Any) -> Any:  # noqa: D103
    if not is_zarr(path):
        return _write_mrc(path, data, **options)
    from .ome_write import write_array_as_ome_zarr

    kept = {k: options[k] for k in ("voxel_size", "units", "metadata", "origin") if k in options}
    return write_array_as_ome_zarr(path, data, overwrite=options.get("overwrite", True),
                                   clevel=max(int(options.get("clevel", 3)), 1), **kept)


@functools.wraps(_convert_mrc)
def convert_file(src: Any, dst: Any, **options: Any) -> Any:  # noqa: D103
    if not (is_zarr(dst) or (not isinstance(src, MrcFileInfo) and is_zarr(src))):
        return _convert_mrc(src, dst, **options)
    from .convert import convert_zarr

    return convert_zarr(src, dst, **options)


read.__doc__ = (_read_mrc.__doc__ or "") + _ZARR_READ
write.__doc__ = (_write_mrc.__doc__ or "") + _ZARR_WRITE
convert_file.__doc__ = (_convert_mrc.__doc__ or "") + _ZARR_CONVERT
