"""The interface every byte source has: :class:`Source`, and the defaults sources share.

Readers call only these methods; nothing outside :mod:`napari_mrcz.io.storage` asks which kind of
source it holds. Sources are picklable (a dask worker reopens the file or reconnects to the URL).

Batched reads follow zarr-python 3's stores (``get_ranges``): :meth:`Source.read_ranges` has a plain
loop as its default (right for local files and memory), and the remote source
overrides it to coalesce nearby ranges and fetch them in parallel; :class:`DirectReads` holds the defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

Range = tuple[int, int]
"""Bytes ``start:end`` of a file (end exclusive), as ``fsspec``'s ``cat_ranges`` takes them."""


@runtime_checkable
class Source(Protocol):
    """Random access to a file's bytes.

    Attributes
    ----------
    size
        The file's length in bytes, fixed when the source was opened.
    identity
        What makes this the same file as when it was opened (hashable; pickles with the source). A
        local file: (st_dev, st_ino, st_size, st_mtime_ns); a URL: (size, the server's validators as
        ``"ETag=..."``, ``"Last-Modified=..."``); a decompressed stream: its file's identity and kind.
    container
        The compression the file is wrapped in (``"gzip"``, ``"bz2"``), decompressed by the source;
        None for a file read as stored.
    file_nbytes
        The file's length as stored (the compressed file for a ``container``).
    has_validators
        True when :attr:`identity` changes whenever the content does. False for a URL whose server
        sends no ETag or Last-Modified: two opens with equal identities may then hold different
        bytes, so whoever caches by identity must compare the content itself.
    """

    size: int
    container: str | None

    @property
    def file_nbytes(self) -> int: ...

    @property
    def identity(self) -> tuple[Hashable, ...]: ...

    @property
    def has_validators(self) -> bool: ...

    def pread(self, n: int, offset: int) -> bytes:
        """Up to ``n`` bytes from ``offset`` (fewer only at the end of the file)."""
        ...

    def readinto(self, out: np.ndarray, offset: int) -> int:
        """Fill ``out`` from ``offset``; returns the bytes read (fewer only at the end of the file)."""
        ...

    def read_ranges(self, ranges: Sequence[Range], max_gap: int | None = None) -> list[bytes]:
        """The bytes of each ``(start, end)`` range, in order (shorter only at the end of the file).
        ``max_gap``: the most bytes between two ranges a remote source may read (and drop) to serve
        both with one request; None: its default. Small ranges far apart (chunk headers) pass a small
        gap, so checking them never moves the data between them."""
        ...

    def planned(self, ranges: Sequence[Range]) -> Callable[[int, int], bytes]:
        """A ``pread(n, offset)`` for reading exactly these ranges, in any order, from many threads (the
        chunks of a run of z-slices, each decoded as it arrives). Local sources return ``pread``; remote
        ones fetch the coalesced blocks holding the ranges, each once, in parallel as threads ask, and
        drop a block when its ranges have been read."""
        ...

    def scanner(self) -> Callable[[int, int], bytes]:
        """A ``pread(n, offset)`` for many small reads at increasing offsets whose positions are not
        known in advance (walking chunk headers): remote sources read ahead, local ones need not."""
        ...

    def excess(self, end: int) -> str | None:
        """Why the bytes stored go past ``end`` (where the header says the file ends): a sentence
        for ``validate``, or None when they do not."""
        ...

    def unchanged(self) -> bool:
        """False when the file is known to differ from the one opened (a local file rewritten in
        place). Remote sources answer True: each of their requests checks the validators itself."""
        ...

    def close(self) -> None:
        """Release what the source holds open (it reopens on the next read)."""
        ...


class DirectReads:
    """The defaults of a source whose reads cost no round trip (local files, memory): batches are a
    loop of ``pread`` (zarr's default ``get_ranges``), planned and scanning reads are ``pread`` itself."""

    def pread(self, n: int, offset: int) -> bytes:  # pragma: no cover - each source has its own
        raise NotImplementedError

    def read_ranges(self, ranges: Sequence[Range], max_gap: int | None = None) -> list[bytes]:
        """The bytes of each ``(start, end)`` range: one ``pread`` each."""
        return [self.pread(max(0, end - start), start) for start, end in ranges]

    def planned(self, ranges: Sequence[Range]) -> Callable[[int, int], bytes]:
        """``pread`` itself: reads in the decoding threads cost no round trips."""
        return self.pread

    def scanner(self) -> Callable[[int, int], bytes]:
        """``pread`` itself: small reads cost microseconds."""
        return self.pread


def size_excess(size: int, end: int, what: str = "file size", at_least: bool = False) -> str | None:
    """The default :meth:`Source.excess`: ``what`` (``size`` bytes) compared with ``end``."""
    extra = size - end
    if extra <= 0:
        return None
    return f"{what} {size} is {'at least ' if at_least else ''}{extra} bytes more than the header implies ({end})"
