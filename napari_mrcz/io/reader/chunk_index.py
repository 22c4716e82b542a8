"""Index an MRCZ file's compressed z-slices: from its seek table when it has a valid one, else by
walking the chunk headers (with large read-ahead blocks for remote files).

A seek table (:mod:`napari_mrcz.format.seektable`) is trusted only after it verifies: it must sit
exactly where the header's packed size points, fit in the file, match its CRC-32 and the header
fields it was written for, its entries must add up to the packed size, and the chunk header at every
offset it lists must give the entry's size. A CRC proves only that the table is the one written, not
that it is true: a forged table whose entries merge two chunks and split another puts slice z exactly
on slice z+1's chunk, whose own header agrees, so checking only the chunk read would return another
slice's values. Checking every entry's header proves the whole chain: chunk 0 starts at the data
offset, and each verified entry ends where the next chunk really starts. The headers are read in one
:meth:`~napari_mrcz.io.storage.base.Source.read_ranges` batch (a remote source coalesces them and
requests in parallel). Each chunk's header is checked again when it is read
(:meth:`ChunkIndex.check_header`), against a file changed since. A table that fails is ignored with
an :class:`MrczWarning` and the chunk headers are walked, as for files without a table.
"""

from __future__ import annotations

import dataclasses

from ...errors import Finding, MrczError
from ...format import seektable
from ...format.chunks import ChunkIndex, check_chunk_header
from ...format.constants import BLOSC1_HEADER_BYTES
from ...format.header import Header
from ..storage.base import Source

HEADER_GAP = 4 * 2**10
"""Chunk headers closer than this are checked with one request; farther ones each with its own (in
parallel), so checking a table never downloads the chunks between the headers."""


def read_seek_table(source: Source, header: Header, name: str) -> tuple[ChunkIndex | None, Finding | None]:
    """(index, None) from a valid seek table; (None, None) when the file has none; (None, why) when
    one is present but does not verify. One read of the trailer, none when the file has no room for it."""
    start = header.data_offset + header.packed_bytes
    n = seektable.trailer_nbytes(header.nz)
    if header.packed_bytes <= 0 or start >= source.size:
        return None, None
    if start + n > source.size:
        tail = source.pread(min(len(seektable.MAGIC), source.size - start), start)
        if seektable.is_trailer(tail):
            return None, Finding(name, f"seek table at byte {start} ignored: the file ends at byte {source.size}, "
                          f"before its {n} bytes for NZ={header.nz}")
        return None, None
    raw = source.pread(n, start)
    if not seektable.is_trailer(raw):
        return None, None
    try:
        sizes = seektable.decode(raw, nz=header.nz, data_offset=header.data_offset,
                                 slice_nbytes=header.slice_nbytes, packed_bytes=header.packed_bytes)
    except seektable.SeekTableError as err:
        return None, Finding(name, f"seek table at byte {start} ignored: {err}")
    return ChunkIndex(seektable.offsets_from_sizes(header.data_offset, sizes), sizes, trailer_nbytes=n), None


def walk_chunks(source: Source, header: Header, name: str) -> ChunkIndex:
    """Index by reading every chunk header (see :meth:`ChunkIndex.build`), with the source's
    :meth:`~napari_mrcz.io.storage.base.Source.scanner` (remote files read ahead).

    Raises
    ------
    ChunkError, UnsupportedError
        As :meth:`ChunkIndex.build`.
    """
    return ChunkIndex.build(source.scanner(), start=header.data_offset, count=header.nz, slice_nbytes=header.slice_nbytes,
                            file_size=source.size, source=name)


def check_table(source: Source, table: ChunkIndex, slice_nbytes: int) -> str | None:
    """Why the chunk headers at the table's offsets disagree with its entries, or None (see the module
    docstring: this proves every entry)."""
    offsets, sizes = table.offsets.tolist(), table.cbytes.tolist()
    heads = source.read_ranges([(o, o + BLOSC1_HEADER_BYTES) for o in offsets], HEADER_GAP)
    for z, raw in enumerate(heads):
        problem = None
        if len(raw) < BLOSC1_HEADER_BYTES:
            problem = "where the file ends"
        else:
            try:
                found = check_chunk_header(raw, slice_nbytes, "chunk").cbytes
            except MrczError as err:
                problem = f"where no valid chunk starts ({str(err).split(': ', 1)[-1]})"
            else:
                if found != sizes[z]:
                    problem = f"the chunk header there {found} bytes"
        if problem:
            return f"entry {z} says {sizes[z]} bytes at byte {offsets[z]}, {problem}"
    return None


def index_chunks(source: Source, header: Header, name: str) -> tuple[ChunkIndex, Finding | None]:
    """The chunk index of an MRCZ file: its seek table when that verifies and every chunk header
    agrees with it (one batch of 16-byte reads), else the chunk headers walked one after the other.
    A table that is present but does not verify or disagrees is ignored: returned as a
    :class:`~napari_mrcz.errors.Finding` (readers warn with it).

    Raises
    ------
    ChunkError, UnsupportedError
        Walking found a missing, truncated or inconsistent chunk.
    """
    table, problem = read_seek_table(source, header, name)
    if table is not None:
        mismatch = check_table(source, table, header.slice_nbytes)
        if mismatch is None:
            return table, None
        problem = Finding(name, f"seek table ignored: {mismatch}")
    walked = walk_chunks(source, header, name)
    if problem:
        problem = dataclasses.replace(problem, message=f"{problem.message}; the chunk headers were walked instead")
    return walked, problem
