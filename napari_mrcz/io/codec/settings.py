"""How a file's z-slices are compressed, as one value: :class:`CodecSettings`.

The writer, ``write``, ``convert_file``, batch conversion, the napari writers and the RosettaSciIO API
pass this value between them instead of five keyword arguments each. Checked when made; no I/O.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ...errors import Finding, MrczError
from ...format.constants import WRITABLE_COMPRESSORS
from ...format.names import BY_NAME, compressor_for

SHUFFLE_NAMES = ("auto", "bit", "byte", "none")


@dataclass(frozen=True)
class CodecSettings:
    """The blosc settings of an MRCZ file (or None: plain MRC2014).

    Attributes
    ----------
    compressor
        'zstd', 'lz4', 'lz4hc', 'zlib', 'blosclz', None for plain MRC, or :data:`BY_NAME` (the
        default): decided by the file name (see :func:`napari_mrcz.format.names.compressor_for`).
    clevel
        Compression level 0-9.
    shuffle
        'auto' (the smaller of bit- and byte-shuffle on samples), 'bit', 'byte' or 'none'.
    blocksize
        blosc block size in bytes; 0 lets blosc choose; None the tuned default per codec.
    threads
        Codec threads per call, 1-256; None: the ``"threads"`` setting, else the cores (at most 8).

    Raises
    ------
    MrczError
        Any value outside these.
    """

    compressor: Any = BY_NAME
    clevel: int = 1
    shuffle: str = "auto"
    blocksize: int | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        c = self.compressor
        if not (c is BY_NAME or c is None or (isinstance(c, str) and c in WRITABLE_COMPRESSORS)):
            raise MrczError(f"compressor must be one of {', '.join(WRITABLE_COMPRESSORS)} or None; not {c!r}")
        if isinstance(self.clevel, bool) or not isinstance(self.clevel, (int, np.integer)) or not 0 <= self.clevel <= 9:
            raise MrczError(f"clevel must be an integer from 0 to 9, not {self.clevel!r}")
        if self.shuffle not in SHUFFLE_NAMES:
            raise MrczError(f"shuffle must be one of {', '.join(SHUFFLE_NAMES)}; not {self.shuffle!r}")
        t = self.threads
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 1 <= t <= 256):
            raise MrczError(f"n_threads must be an integer from 1 to 256 or None, not {t!r}")
        b = self.blocksize
        if b is not None and (isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 0):
            raise MrczError(f"blocksize must be an integer >= 0 or None, not {b!r}")
        object.__setattr__(self, "clevel", int(self.clevel))
        if t is not None:
            object.__setattr__(self, "threads", int(t))
        if b is not None:
            object.__setattr__(self, "blocksize", int(b))

    def for_file(self, path: str | os.PathLike[str], findings: list[Finding] | None = None) -> CodecSettings:
        """These settings with the compressor decided for ``path`` (:data:`BY_NAME` resolved);
        ``findings`` as for :func:`~napari_mrcz.format.names.compressor_for`.

        Raises
        ------
        MrczError
            ``path`` ends in .gz or .bz2.

        Warns
        -----
        MrczWarning
            A compressor given with a plain MRC suffix (the file is MRCZ).
        """
        return replace(self, compressor=compressor_for(path, self.compressor, findings))
