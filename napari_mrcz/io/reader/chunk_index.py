"""Index an MRCZ file's compressed z-slices: from its seek table when it has a valid one, else by
walking the chunk headers (with large read-ahead blocks for remote files).

A seek table (:mod:`napari_mrcz.format.seektable`) is trusted only after it verifies: it must sit
exactly where the header's packed size points, fit in the file, match its CRC-32 and the header
fields it was written for, and its entries must add up to the packed size, so every chunk it lists
lies inside the file. Each chunk's own header is then checked against the table when the chunk is
read (:meth:`ChunkIndex.check_chunk`). Local files are walked anyway and the table compared with
the walk. A table that fails is ignored with an :class:`MrczWarning` and the walk is used, as for
files without a table.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np

from ...errors import MrczWarning
from ...format import seektable
from ...format.chunks import ChunkIndex
from ...format.header import Header
from ..storage.remote import ReadAhead, RemoteSource


def read_seek_table(source: Any, header: Header, name: str) -> tuple[ChunkIndex | None, str | None]:
    """(index, None) from a valid seek table; (None, None) when the file has none; (None, why) when
    one is present but does not verify. One read of the trailer, none when the file has no room for it."""
    start = header.data_offset + header.packed_bytes
    n = seektable.trailer_nbytes(header.nz)
    if header.packed_bytes <= 0 or start >= source.size:
        return None, None
    if start + n > source.size:
        tail = source.pread(min(len(seektable.MAGIC), source.size - start), start)
        if seektable.is_trailer(tail):
            return None, (f"{name}: seek table at byte {start} ignored: the file ends at byte {source.size}, "
                          f"before its {n} bytes for NZ={header.nz}")
        return None, None
    raw = source.pread(n, start)
    if not seektable.is_trailer(raw):
        return None, None
    try:
        sizes = seektable.decode(raw, nz=header.nz, data_offset=header.data_offset,
                                 slice_nbytes=header.slice_nbytes, packed_bytes=header.packed_bytes)
    except seektable.SeekTableError as err:
        return None, f"{name}: seek table at byte {start} ignored: {err}"
    return ChunkIndex(seektable.offsets_from_sizes(header.data_offset, sizes), sizes, trailer_nbytes=n), None


def walk_chunks(source: Any, header: Header, name: str) -> ChunkIndex:
    """Index by reading every chunk header (see :meth:`ChunkIndex.build`); remote files read ahead.

    Raises
    ------
    ChunkError, UnsupportedError
        As :meth:`ChunkIndex.build`.
    """
    pread = ReadAhead(source).pread if isinstance(source, RemoteSource) else source.pread
    return ChunkIndex.build(pread, start=header.data_offset, count=header.nz, slice_nbytes=header.slice_nbytes,
                            file_size=source.size, source=name)


def compare(table: ChunkIndex, walked: ChunkIndex) -> str | None:
    """Why a verified seek table disagrees with the chunk headers walked in the file, or None."""
    if len(table) != len(walked):
        return f"it lists {len(table)} chunks, the file holds {len(walked)}"
    differ = np.flatnonzero((table.offsets != walked.offsets) | (table.cbytes != walked.cbytes))
    if differ.size:
        z = int(differ[0])
        return (f"entry {z} says {int(table.cbytes[z])} bytes at byte {int(table.offsets[z])}, the chunk "
                f"header {int(walked.cbytes[z])} bytes at byte {int(walked.offsets[z])}")
    return None


def index_chunks(source: Any, header: Header, name: str) -> ChunkIndex:
    """The chunk index of an MRCZ file.

    Remote files use the seek table when it verifies (no request per slice), else walk their chunk
    headers with read-ahead. Local files always walk them (microseconds per slice), so every chunk
    header is checked at open as before, and the table is compared with what the walk found. A table
    that is present but does not verify or disagrees is ignored with an :class:`MrczWarning`.

    Raises
    ------
    ChunkError, UnsupportedError
        Walking found a missing, truncated or inconsistent chunk.
    """
    table, problem = read_seek_table(source, header, name)
    if isinstance(source, RemoteSource) and table is not None:
        return table
    walked = walk_chunks(source, header, name)
    if table is not None:
        mismatch = compare(table, walked)
        if mismatch is None:
            return dataclasses.replace(walked, trailer_nbytes=table.trailer_nbytes)
        problem = f"{name}: seek table ignored: {mismatch}"
    if problem:
        warnings.warn(f"{problem}; the chunk headers were walked instead", MrczWarning, stacklevel=4)
    return walked
