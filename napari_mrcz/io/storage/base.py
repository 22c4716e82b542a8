"""The interface every byte source has: :class:`Source`.

Readers call only these methods; nothing outside :mod:`napari_mrcz.io.storage` asks which kind of
source it holds. Sources are picklable (a dask worker reopens the file or reconnects to the URL).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Source(Protocol):
    """Random access to a file's bytes.

    Attributes
    ----------
    size
        The file's length in bytes, fixed when the source was opened.
    """

    size: int

    def pread(self, n: int, offset: int) -> bytes:
        """Up to ``n`` bytes from ``offset`` (fewer only at the end of the file)."""
        ...

    def readinto(self, out: np.ndarray, offset: int) -> int:
        """Fill ``out`` from ``offset``; returns the bytes read (fewer only at the end of the file)."""
        ...

    def close(self) -> None:
        """Release what the source holds open (it reopens on the next read)."""
        ...
