"""Add a stored pyramid to an existing MRCZ file, in place: :func:`add_pyramid`.

The data and header are never touched: the pyramid (and a seek table, for files written by mrcz or
RosettaSciIO, which have none) is appended after the data. The pyramid's magic is written last,
after everything else is on disk, so a crash or a full disk leaves a file that readers see without
a pyramid (an incomplete one does not verify), never a file with a wrong one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ...errors import MrczError
from ...format import pyramid as layout
from ...format import seektable
from ..reader.file import open_mrc
from ..reader.pyramid_cache import cacheable
from ..reader.stored import check_stored, echo_of, halves_z
from ..storage.paths import PathLike, as_path
from ..storage.remote import is_url
from .pyramid import PyramidBuilder, feed



class _MagicLast:
    """A file wrapper whose first write (the pyramid index) goes out with its magic zeroed."""

    def __init__(self, file: Any) -> None:
        self.file, self.first = file, True

    def write(self, data: bytes) -> None:
        if self.first:
            self.first = False
            data = bytes(len(layout.MAGIC)) + data[len(layout.MAGIC):]
        self.file.write(data)


def add_pyramid(path: PathLike, *, force: bool = False, n_threads: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> int:
    """Store a pyramid (:mod:`napari_mrcz.format.pyramid`) in the MRCZ file ``path``, built from its
    data in one pass; returns the bytes added. ``mrcz`` and RosettaSciIO read the file as before.

    Parameters
    ----------
    path
        A local MRCZ file (2-D image, stack or volume of real samples).
    force
        Rebuild a pyramid the file already has (and drop bytes of unknown meaning after the data).
    n_threads
        Threads for decoding and encoding (None: all cores, at most 8).
    progress
        Called with (slices done, slices in all) as the data is read.

    Raises
    ------
    MrczError
        The file is not MRCZ (plain MRC cannot carry a pyramid: IMOD and mrcfile expect the file to
        end with the data), is a URL, has no levels to store (small enough for napari to show
        whole), already has a pyramid (without ``force``), or its packed size disagrees with its
        chunks.
    OSError
        The file cannot be read or written (e.g. read-only).
    """
    if is_url(path):
        raise MrczError(f"{path}: a pyramid can only be added to a local file; download it first")
    path = as_path(path)
    info = open_mrc(path)
    with info:
        h, index = info.header, info.chunk_index
        if index is None:
            raise MrczError(f"{path}: plain MRC files cannot carry a stored pyramid (IMOD and mrcfile expect "
                            "the file to end with the data); convert it to .mrcz first")
        if not cacheable(info):
            raise MrczError(f"{path}: stored pyramids are for images, stacks and volumes of real samples in x, y, z order")
        if index.compressed_nbytes != h.packed_bytes:
            raise MrczError(f"{path}: the packed size at byte 144 ({h.packed_bytes}) disagrees with the chunks "
                            f"({index.compressed_nbytes} bytes); rewrite the file with napari-mrcz convert")
        existing, _problem = check_stored(info)
        if existing is not None and not force:
            raise MrczError(f"{path}: it has a stored pyramid already; use force (CLI: --force) to rebuild it")
        data_end = h.data_offset + h.packed_bytes
        table = seektable.encode(data_offset=h.data_offset, slice_nbytes=h.slice_nbytes, cbytes=index.cbytes)
        start = layout.pyramid_start(h.data_offset, h.packed_bytes, h.nz)
        end = start if index.trailer_nbytes else data_end
        if info.source.size > end and existing is None and not force and not _our_trailer(info, start):
            raise MrczError(f"{path}: {info.source.size - end} bytes of unknown meaning follow the data; "
                            "use force (CLI: --force) to replace them")
        builder = PyramidBuilder((h.ny, h.nx), h.dtype, halves_z(info), path.absolute().parent)
        try:
            feed(info, builder, n_threads, progress)
            echo = echo_of(h, table, info.source.pread)
            with open(path, "r+b") as out:
                out.truncate(end)
                out.seek(end)
                if not index.trailer_nbytes:
                    out.write(table)
                added = builder.finish(_MagicLast(out), start=start, echo=echo, shape=(h.nz, h.ny, h.nx))
                if not added:
                    out.truncate(start)
                    raise MrczError(f"{path}: the data is small enough for napari to show whole; no levels to store")
                out.flush()
                os.fsync(out.fileno())
                out.seek(start)
                out.write(layout.MAGIC)
                out.flush()
                os.fsync(out.fileno())
        finally:
            builder.close()
    return added + (0 if index.trailer_nbytes else len(table))


def _our_trailer(info: Any, start: int) -> bool:
    """True when the bytes at ``start`` are a pyramid (or the start of one) we may replace."""
    return layout.is_pyramid(info.source.pread(len(layout.MAGIC), start)) or \
        info.source.pread(len(layout.MAGIC), start) == bytes(len(layout.MAGIC))
