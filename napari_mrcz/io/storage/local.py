"""A file on disk, read with positional reads (``os.pread``/``os.preadv``): thread-safe, no shared
file position, no memory map.

The source is picklable: it reopens its file in each process (checking it is still the same file), so
lazy dask graphs run on ``dask.distributed`` workers.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import MrczError
from .base import DirectReads, size_excess


class FileSource(DirectReads):
    """A file on disk, read with ``os.pread`` (thread-safe, no shared file position)."""

    has_validators = True  # a replaced or rewritten file changes inode, size or mtime
    container = None

    def __init__(self, path: Path, identity: tuple[int, int, int, int] | None = None) -> None:
        self.path = path
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._readers = 0  # reads in flight on _fd: close() waits for them before closing it
        self._close_pending = False
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
                try:
                    fd = os.open(self.path, flags)
                except FileNotFoundError:
                    if self._identity is None:
                        raise
                    raise MrczError(f"{self.path}: the file changed since it was opened (it is gone); open it again") from None
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

    @property
    def identity(self) -> tuple[int, int, int, int]:
        """(st_dev, st_ino, st_size, st_mtime_ns) of the file this source reads."""
        self._descriptor()
        assert self._identity is not None
        return self._identity

    def unchanged(self) -> bool:
        """True when the open file still has the size and modification time it was opened with (a
        file replaced by rename keeps being read as it was; one rewritten in place is not)."""
        with self._reading() as fd:
            st = os.fstat(fd)
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) == self._identity

    @property
    def file_nbytes(self) -> int:
        """The file's size."""
        return self.size

    @contextlib.contextmanager
    def _reading(self) -> Iterator[int]:
        """The descriptor, kept open until the read ends even if another thread calls :meth:`close`
        meanwhile (a descriptor closed under a read fails it, or, reused by a new file, reads that
        file's bytes)."""
        fd = self._descriptor()
        with self._lock:
            if self._fd != fd:  # closed between the two locks: open again
                fd = -1
            else:
                self._readers += 1
        if fd == -1:
            with self._reading() as fd:
                yield fd
            return
        try:
            yield fd
        finally:
            with self._lock:
                self._readers -= 1
                if not self._readers and self._close_pending:
                    os.close(fd)
                    self._fd, self._close_pending = None, False

    def pread(self, n: int, offset: int) -> bytes:
        """Up to ``n`` bytes from ``offset`` (fewer at the end of the file)."""
        with self._reading() as fd:
            return os.pread(fd, n, offset)

    def readinto(self, out: np.ndarray, offset: int) -> int:
        """Fill ``out`` from ``offset``; returns the bytes read (fewer only at the end of the file)."""
        view = memoryview(out.reshape(-1).view(np.uint8))
        done = 0
        with self._reading() as fd:
            while done < len(view):
                got = os.preadv(fd, [view[done:]], offset + done)
                if got == 0:
                    break
                done += got
        return done

    def excess(self, end: int) -> str | None:
        """The file's bytes after ``end``, if any."""
        return size_excess(self.size, end)

    def close(self) -> None:
        """Release the descriptor (reopened on the next read)."""
        with self._lock:
            if self._fd is None or self._close_pending:
                return
            if self._readers:  # the last read in flight closes it
                self._close_pending = True
                return
            os.close(self._fd)
            self._fd = None

    def __getstate__(self) -> dict[str, Any]:
        # no I/O here: the identity was pinned when the file was first opened, and a pickle that raised
        # (the file replaced since) would leave a dask.distributed future waiting forever; the copy
        # raises MrczError where it reads, in the task, and the client sees it
        return {"path": self.path, "identity": self._identity}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["identity"])  # type: ignore[misc]

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)  # type: ignore[arg-type]
