"""Computed pyramid levels of files without a stored one, kept per user on disk: the lookup side.

Plain MRC files (IMOD, RELION, other writers), read-only media and remote files cannot carry a
stored pyramid. Their levels, once computed (:func:`napari_mrcz.io.writer.pyramid_cache.build_cached`,
one streaming pass), are kept in the ``"pyramid.cache_dir"`` setting's folder (by default the
platform's per-user cache folder, which honours ``XDG_CACHE_HOME``), one file per data file, bounded
by ``"pyramid.cache_bytes"`` (least recently used removed first). An entry is a stored pyramid
(:mod:`napari_mrcz.format.pyramid`) starting at byte 0 of its own file, named by the data file's
identity (path or URL, size, modification time or the server's validators, a hash of the header)
and echoing the data's header and first and last slice, so an entry of a changed file is never used.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

from ... import config
from ...format import pyramid as layout
from ...format import seektable
from ...format.constants import HEADER_BYTES
from ...format.modes import MODE_TO_DTYPE
from ..storage.local import FileSource
from .file import MrcFileInfo
from .stored import halves_z

SUFFIX = ".mrczpyr"


def cache_dir() -> Path | None:
    """The cache folder (created when first written), or None when the cache is off."""
    setting = config.get("pyramid.cache_dir")
    if setting is None or str(setting).strip().lower() in ("", "none"):
        return None
    if setting == "auto":
        import platformdirs

        return Path(platformdirs.user_cache_dir("napari-mrcz")) / "pyramids"
    return Path(setting).expanduser()


def entry_name(info: MrcFileInfo) -> str:
    """The cache file name for ``info``'s data: a hash of its identity (see the module docstring)."""
    header = info.source.pread(HEADER_BYTES, 0)
    if isinstance(info.path, Path):
        stat = info.path.stat()
        who = (str(info.path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    else:
        who = (str(info.path), getattr(info.source, "identity", None) or info.source.size)
    return hashlib.sha256(repr((who, header)).encode()).hexdigest()[:40] + SUFFIX


def data_echo(info: MrcFileInfo) -> layout.Echo:
    """What a cache entry echoes: the header fields, and CRC-32s of the chunk sizes and of the
    first and last slice's first bytes (plain files: the data; MRCZ: the chunks)."""
    h = info.header
    if info.chunk_index is not None:
        index = info.chunk_index
        table = seektable.encode(data_offset=h.data_offset, slice_nbytes=h.slice_nbytes, cbytes=index.cbytes)
        first_at, last_at = int(index.offsets[0]), int(index.offsets[-1])
        n_first, n_last = int(index.cbytes[0]), int(index.cbytes[-1])
    else:
        table = b""
        first_at, last_at = h.data_offset, h.data_offset + (h.nz - 1) * h.slice_nbytes
        n_first = n_last = h.slice_nbytes
    first = info.source.pread(min(n_first, layout.FINGERPRINT_BYTES), first_at)
    last = info.source.pread(min(n_last, layout.FINGERPRINT_BYTES), last_at)
    return layout.Echo(h.nx, h.ny, h.nz, h.mode, h.data_offset, h.packed_bytes, zlib.crc32(table),
                       layout.data_fingerprint(first, last))


def cacheable(info: MrcFileInfo) -> bool:
    """Whether levels of ``info``'s data can be cached: images, stacks and volumes of real samples
    stored as they are read (not 4-bit, complex or IMOD's unsigned bytes)."""
    h = info.header
    return (len(info.shape) < 4 and h.mrc_mode in MODE_TO_DTYPE and not h.unsigned_bytes
            and info.dtype.kind in "iuf" and tuple(h.zyx_axes) == (0, 1, 2))


def find_cached(info: MrcFileInfo) -> tuple[FileSource, layout.PyramidIndex] | None:
    """The cache entry of ``info``'s data (its source and verified index), or None. Using an entry
    marks it recently used; an entry that does not verify is removed."""
    folder = cache_dir()
    if folder is None or not cacheable(info):
        return None
    path = folder / entry_name(info)
    try:
        source = FileSource(path)
    except OSError:
        return None
    try:
        head = source.pread(layout.HEAD_BYTES, 0)
        n = layout.head_index_nbytes(head) if layout.is_pyramid(head) and len(head) == layout.HEAD_BYTES else 0
        raw = source.pread(n, 0) if 0 < n <= source.size else b""
        index = layout.decode_index(raw, data_echo(info), start=0, file_size=source.size, halve_z=halves_z(info))
        if index.sample_mode != info.header.mrc_mode:
            raise layout.PyramidError("its samples are of another mode")
    except (layout.PyramidError, OSError, ValueError):
        source.close()
        path.unlink(missing_ok=True)  # stale or damaged: computed again next time
        return None
    os.utime(path)  # least recently used goes first
    return source, index
