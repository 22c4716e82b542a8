"""Conversions between MRC/MRCZ and OME-Zarr for :func:`napari_mrcz.io.convert.convert_file` (and so
the CLI's ``convert`` and batch conversion), and the batch's read-back check of an OME-Zarr output."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import Finding, MrczError, VerifyError
from ...format.names import is_zarr
from ..reader.file import MrcFileInfo, open_mrc
from ..storage.paths import as_path
from ..storage.remote import is_url
from .ome_read import load_ome_zarr
from .ome_write import CHUNK, CLEVEL, write_file_as_ome_zarr

_RTOL = 1e-6


def convert_zarr(src: Any, dst: Any, *, overwrite: Any = False, strict: Any = "auto", keep_metadata: bool = True,
                 clevel: int = CLEVEL, chunks: int = CHUNK, storage_options: dict[str, Any] | None = None,
                 findings: list[Finding] | None = None, **mrc_options: Any) -> Path | str:
    """MRC/MRCZ → OME-Zarr when ``dst`` has an OME-Zarr name (``clevel``, ``chunks`` and
    ``storage_options`` apply), else OME-Zarr → MRC/MRCZ (``src`` an OME-Zarr; ``mrc_options`` as for
    :func:`napari_mrcz.write`; voxel size, origin and kept metadata carried over). ``findings`` as for
    :func:`napari_mrcz.io.writer.convert.convert_file`; the OME-Zarr input is read on this process's
    threads, as convert_file reads its input.

    Raises
    ------
    MrczError
        As :func:`~.ome_write.write_ome_zarr` and :func:`~.ome_read.load_ome_zarr`; an existing ``dst``
        without ``overwrite``; a tolerance or dtype asked of an OME-Zarr output.
    """
    codec = mrc_options.get("codec")  # the options as one value (batch conversion passes it)
    if is_zarr(dst):
        if codec is not None:
            clevel = codec.clevel
        if mrc_options.get("tolerance") or mrc_options.get("dtype"):
            raise MrczError(f"{dst}: tolerance and dtype apply to MRC/MRCZ outputs, not OME-Zarr")
        if not isinstance(src, MrcFileInfo) and is_zarr(src):
            raise MrczError(f"{src}: OME-Zarr to OME-Zarr is a copy; use your store's own tools")
        if isinstance(src, MrcFileInfo):
            info = src
        else:
            info = open_mrc(src, strict=strict, storage_options=storage_options, warn=findings is None)
            if findings is not None:
                findings.extend(info.findings)
        for unused in ("compressor", "shuffle", "n_threads", "progress", "tolerance", "dtype", "codec"):
            mrc_options.pop(unused, None)
        with info:
            if not keep_metadata:
                info.metadata = {}
            out = write_file_as_ome_zarr(info, dst, findings, overwrite=bool(overwrite), clevel=max(int(clevel), 1),
                                         chunks=chunks, storage_options=storage_options)
        return out if is_url(out) else as_path(out)
    from ..reader.read import MrcImage
    from ..writer.write import write

    if is_url(dst):
        raise MrczError(f"{dst}: MRC/MRCZ outputs are local files")
    image = MrcImage(**load_ome_zarr(src, lazy=True, storage_options=storage_options, findings=findings))
    metadata = None if keep_metadata else {}
    return write(dst, image, overwrite=overwrite, metadata=metadata, clevel=clevel, findings=findings,
                 scheduler="threads", **mrc_options)


def compare_with_ome_zarr(source: Any, converted: Any, *, keep_metadata: bool = True, strict: Any = "auto",
                          findings: list[Finding] | None = None) -> None:
    """Check that the OME-Zarr ``converted`` holds ``source``'s voxels (level 0, bit for bit), voxel
    size, origin and (when kept) JSON metadata, reading z-slabs of one chunk's depth at a time (on this
    process's threads); ``findings`` as for :func:`napari_mrcz.io.batch.verify.compare_files`.

    Raises
    ------
    VerifyError
        Something differs; the message says what (for values, the first z-slice).
    """
    from ..reader.array import MrcArray

    image = load_ome_zarr(converted, lazy=True, findings=findings)
    with open_mrc(source, strict=strict, warn=findings is None) as src:
        if findings is not None:
            findings.extend(src.findings)
        if tuple(image["data"].shape) != tuple(src.shape):
            raise VerifyError(f"{converted}: shape {tuple(image['data'].shape)}, {source} has {src.shape}")
        for what, a, b in (("voxel size", image["voxel_size"], src.voxel_size), ("origin", image["origin"], src.origin)):
            want = [v if what == "origin" or 0 < v < math.inf else 1.0 for v in b]
            if not np.allclose(a[-len(want):], want, rtol=_RTOL, atol=1e-9):
                raise VerifyError(f"{converted}: {what} {a}, {source} has {b}")
        if image["metadata"] != (src.metadata if keep_metadata else {}):
            raise VerifyError(f"{converted}: its JSON metadata differs from {source}'s")
        data, ours = image["data"], MrcArray(src)
        depth = data.chunksize[0] if data.ndim == 3 else data.shape[0]
        for z in range(0, data.shape[0], depth):
            got, want = np.asarray(data[z: z + depth].compute(scheduler="threads")), np.asarray(ours[z: z + depth])
            same = (got == want) | ((got != got) & (want != want))
            if not same.all():
                first = z + int(np.flatnonzero(~same.reshape(got.shape[0], -1).all(axis=1))[0]) if data.ndim == 3 else 0
                raise VerifyError(f"{converted}: z-slice {first} differs from {source}")
