"""Where a file's bytes come from: a file on disk (positional reads, memory map) or a decompressed
gzip/bzip2 stream held in memory.

Sources are picklable: a file source reopens its file in each process, so lazy dask graphs run on
``dask.distributed`` workers.
"""

from __future__ import annotations

import bz2
import gzip
import os
import threading
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .constants import HEADER_BYTES
from .errors import HeaderError, MrczError

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
_STREAM_PIECE = 16 * 2**20


class FileSource:
    """A file on disk, read with ``os.pread`` (thread-safe, no shared file position)."""

    stream: str | None = None

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._memmap: np.memmap | None = None
        self._lock = threading.Lock()
        self.size = os.stat(path).st_size

    def _descriptor(self) -> int:
        with self._lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            return self._fd

    def pread(self, n: int, offset: int) -> bytes:
        """Up to ``n`` bytes from ``offset`` (fewer at the end of the file)."""
        return os.pread(self._descriptor(), n, offset)

    def readinto(self, out: np.ndarray, offset: int) -> int:
        """Fill ``out`` from ``offset``; returns the bytes read (fewer only at the end of the file)."""
        view = memoryview(out.reshape(-1).view(np.uint8))
        done = 0
        while done < len(view):
            got = os.preadv(self._descriptor(), [view[done:]], offset + done)
            if got == 0:
                break
            done += got
        return done

    def memmap(self, offset: int, shape: tuple[int, ...], dtype: np.dtype) -> np.memmap:
        """A read-only memory map of the data (one per process, made on first use)."""
        with self._lock:
            if self._memmap is None:
                self._memmap = np.memmap(self.path, dtype=dtype, mode="r", offset=offset, shape=shape)
            return self._memmap

    def close(self) -> None:
        """Release the descriptor and the memory map (reopened on the next read)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
            self._fd = None
            self._memmap = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)  # type: ignore[arg-type]


class MemorySource:
    """A gzip- or bzip2-compressed MRC file, decompressed into memory."""

    def __init__(self, data: bytes, stream: str) -> None:
        self.data = data
        self.stream = stream
        self.size = len(data)

    def pread(self, n: int, offset: int) -> bytes:
        """Up to ``n`` bytes from ``offset``."""
        return self.data[offset : offset + n]

    def readinto(self, out: np.ndarray, offset: int) -> int:
        """Fill ``out`` from ``offset``; returns the bytes copied."""
        piece = self.data[offset : offset + out.nbytes]
        out.reshape(-1).view(np.uint8)[: len(piece)] = np.frombuffer(piece, dtype=np.uint8)
        return len(piece)

    def close(self) -> None:
        """Nothing to release."""


Source = FileSource | MemorySource


def stream_kind(head: bytes) -> str | None:
    """'gzip' or 'bz2' when the first bytes are that format's magic (and not an MRC header)."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZIP2_MAGIC):
        return "bz2"
    return None


def decompress_stream(path: Path, kind: str, needed: Any) -> MemorySource:
    """Decompress a gzip/bzip2 file into memory, reading no more than the header says it holds.

    ``needed(header_bytes)`` returns how many bytes the file should hold in all (None: to the end),
    so a hostile header cannot make this read more than the stream really contains, and a stream
    that holds less raises.

    Raises
    ------
    HeaderError
        The stream is corrupt or ends before the size the header implies.
    """
    opener = gzip.open if kind == "gzip" else bz2.open
    pieces: list[bytes] = []
    try:
        with opener(path, "rb") as stream:
            head = stream.read(HEADER_BYTES)
            pieces.append(head)
            total = needed(head)
            have = len(head)
            while total is None or have < total:
                want = _STREAM_PIECE if total is None else min(_STREAM_PIECE, total - have)
                piece = stream.read(want)
                if not piece:
                    break
                pieces.append(piece)
                have += len(piece)
    except (OSError, EOFError, zlib.error, ValueError) as err:
        if isinstance(err, MrczError):
            raise
        raise HeaderError(f"{path}: {kind} stream is corrupt or truncated ({err})") from None
    data = b"".join(pieces)
    if total is not None and len(data) < total:
        raise HeaderError(
            f"{path}: truncated: the {kind} stream holds {len(data)} bytes, the header implies {total}"
        )
    return MemorySource(data, kind)
