"""Where a file's bytes come from: a file on disk (positional reads, memory map) or a decompressed
gzip/bzip2 stream held in memory.

Sources are picklable: a file source reopens its file in each process, so lazy dask graphs run on
``dask.distributed`` workers.
"""

from __future__ import annotations

import bz2
import gzip
import os
import stat
import threading
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..format.constants import HEADER_BYTES
from ..errors import HeaderError, MrczError

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
_STREAM_PIECE = 16 * 2**20


class FileSource:
    """A file on disk, read with ``os.pread`` (thread-safe, no shared file position)."""

    stream: str | None = None

    def __init__(self, path: Path, identity: tuple[int, int, int, int] | None = None) -> None:
        self.path = path
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._identity = identity  # (st_dev, st_ino, st_size, st_mtime_ns) of the file first opened
        if identity is None:  # open now: a size from stat(path) may be another file's by the time we open
            self._descriptor()
            assert self._identity is not None
        self.size = self._identity[2]

    def _descriptor(self) -> int:
        """The open descriptor; on (re)opening, checks it is a regular file and the file first opened.

        Raises
        ------
        MrczError
            The path is not a regular file (a FIFO, a device), or was replaced or changed since it
            was first opened (e.g. in a dask worker that reopens it).
        """
        with self._lock:
            if self._fd is None:
                # O_NONBLOCK: opening a FIFO must not wait for a writer (no effect on regular files)
                flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
                fd = os.open(self.path, flags)
                st = os.fstat(fd)
                found = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
                if not stat.S_ISREG(st.st_mode):
                    os.close(fd)
                    raise MrczError(f"{self.path}: not a regular file")
                if self._identity is not None and found != self._identity:
                    os.close(fd)
                    raise MrczError(f"{self.path}: the file changed since it was opened; open it again")
                self._identity, self._fd = found, fd
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

    def close(self) -> None:
        """Release the descriptor (reopened on the next read)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
            self._fd = None

    def __getstate__(self) -> dict[str, Any]:
        self._descriptor()  # pin the identity of the file this source reads
        return {"path": self.path, "identity": self._identity}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["identity"])  # type: ignore[misc]

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)  # type: ignore[arg-type]


class MemorySource:
    """A gzip- or bzip2-compressed MRC file, decompressed into memory.

    ``more`` is True when the stream holds bytes after the ``size`` bytes kept (they are not read);
    ``damage`` says what is wrong with the stream's end (a bad CRC, a cut), which the data does not need.
    """

    def __init__(self, data: bytes, stream: str, more: bool = False, damage: str | None = None) -> None:
        self.data = data
        self.stream = stream
        self.size = len(data)
        self.more = more
        self.damage = damage

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
    MrczError
        The decompressed stream does not fit in this process's memory.
    """
    opener = gzip.open if kind == "gzip" else bz2.open
    pieces: list[bytes] = []
    more, damage = False, None
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
            if total is not None and have >= total:
                more, damage = _peek(stream)
        data = b"".join(pieces)
    except MemoryError:
        pieces.clear()
        raise MrczError(f"{path}: the decompressed {kind} stream does not fit in this process's memory") from None
    except (OSError, EOFError, zlib.error, ValueError) as err:
        if isinstance(err, MrczError):
            raise
        raise HeaderError(f"{path}: {kind} stream is corrupt or truncated ({err})") from None
    if total is not None and len(data) < total:
        raise HeaderError(
            f"{path}: truncated: the {kind} stream holds {len(data)} bytes, the header implies {total}"
        )
    return MemorySource(data, kind, more, damage)


def _peek(stream: Any) -> tuple[bool, str | None]:
    """Whether ``stream`` holds another byte, and what is wrong with its end if that cannot be read.
    A damaged end after everything the header needs does not stop reading (the data is complete)."""
    try:
        return bool(stream.read(1)), None
    except (OSError, EOFError, zlib.error, ValueError) as err:
        return False, str(err) or type(err).__name__
