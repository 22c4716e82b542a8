"""A gzip- or bzip2-compressed MRC file, decompressed into memory (no more than its header says it
holds), and how to recognise such a stream.
"""

from __future__ import annotations

import bz2
import gzip
import os
import zlib
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np

from ... import config
from ...errors import HeaderError, MrczError
from ...format.constants import HEADER_BYTES
from .base import DirectReads, size_excess

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
_STREAM_PIECE = 16 * 2**20


class MemorySource(DirectReads):
    """A gzip- or bzip2-compressed MRC file, decompressed into memory.

    ``more`` is True when the stream holds bytes after the ``size`` bytes kept (they are not read);
    ``damage`` says what is wrong with the stream's end (a bad CRC, a cut), which the data does not need.
    ``file_identity`` is the compressed file's (st_dev, st_ino, st_size, st_mtime_ns) when it was read.
    """

    has_validators = True

    def __init__(self, data: bytes, container: str, more: bool = False, damage: str | None = None, *,
                 path: Path | None = None, file_identity: tuple[int, ...] = ()) -> None:
        self.data = data
        self.container = container
        self.size = len(data)
        self.more = more
        self.damage = damage
        self.path = path
        self._file_identity = file_identity

    @property
    def file_nbytes(self) -> int:
        """The compressed file's size."""
        return int(self._file_identity[2]) if self._file_identity else self.size

    @property
    def identity(self) -> tuple[Hashable, ...]:
        """The compressed file's identity when it was read, and the stream kind."""
        return (*self._file_identity, self.container)

    def unchanged(self) -> bool:
        """True while the compressed file has the identity it had when it was decompressed."""
        if self.path is None or not self._file_identity:
            return True
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) == tuple(self._file_identity)

    def excess(self, end: int) -> str | None:
        """Bytes of the decompressed stream after ``end`` (counted up to the ``"validate.count_bytes"``
        setting, 1 GiB, without keeping them), or what is wrong with the stream's end."""
        if self.damage:
            return f"the {self.container} stream is damaged after the data ({self.damage})"
        what, size = f"the decompressed {self.container} stream's size", self.size
        if self.more and self.path is not None:  # the reader kept only the bytes the header needs
            try:
                size = _stream_size(self.path, self.container, end + config.get("validate.count_bytes"))
            except (OSError, EOFError, zlib.error, ValueError) as err:
                return (f"the {self.container} stream holds more than the header implies ({end} bytes), "
                        f"then is corrupt ({err})")
        return size_excess(size, end, what, at_least=size >= end + config.get("validate.count_bytes"))

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
    pieces: list[bytes] = []
    more, damage = False, None
    try:
        with open(path, "rb") as raw, _opener(kind)(raw, "rb") as stream:
            st = os.fstat(raw.fileno())
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
    return MemorySource(data, kind, more, damage, path=path,
                        file_identity=(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))


def _opener(kind: str) -> Any:
    return gzip.open if kind == "gzip" else bz2.open


def _stream_size(path: Path, kind: str, limit: int) -> int:
    """Decompressed length of a gzip/bzip2 file, counted without keeping it, up to ``limit``."""
    total = 0
    with _opener(kind)(path, "rb") as stream:
        while total < limit:
            piece = stream.read(min(_STREAM_PIECE, limit - total))
            if not piece:
                break
            total += len(piece)
    return total


def _peek(stream: Any) -> tuple[bool, str | None]:
    """Whether ``stream`` holds another byte, and what is wrong with its end if that cannot be read.
    A damaged end after everything the header needs does not stop reading (the data is complete)."""
    try:
        return bool(stream.read(1)), None
    except (OSError, EOFError, zlib.error, ValueError) as err:
        return False, str(err) or type(err).__name__
