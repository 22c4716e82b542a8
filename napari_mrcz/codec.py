"""Per-slice blosc compression for MRCZ, shaped like a numcodecs codec.

Writes blosc1 chunks (``blosc``), which every ``mrcz`` install can read; decodes with ``blosc2``,
which reads blosc1 and blosc2 chunks. Thread count and block size are passed per call: blosc1 only
has process-wide settings, so they are set and restored under a lock and never left changed.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import blosc
import blosc2
import numpy as np

from .chunks import parse_chunk_header
from .constants import BLOSC_MAX_BUFFERSIZE, WRITABLE_COMPRESSORS
from .errors import ChunkError, MrczError

SHUFFLES = {"none": blosc.NOSHUFFLE, "byte": blosc.SHUFFLE, "bit": blosc.BITSHUFFLE}
_BLOSC1_SETTINGS = threading.Lock()


def default_threads() -> int:
    """The cores this process may run on (at most 8, blosc's sweet spot)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def resolve_shuffle(shuffle: str, cname: str, dtype: np.dtype) -> int:
    """The blosc shuffle filter for ``shuffle`` ('auto', 'bit', 'byte' or 'none').

    'auto' is bitshuffle: measured by ``bench/`` on cryo-EM-like data it compresses int8 movies,
    uint16 counts and float32 tomograms at least as well as byte-shuffle and faster to decode.
    """
    if shuffle == "auto":
        return blosc.BITSHUFFLE
    if shuffle not in SHUFFLES:
        raise MrczError(f"shuffle must be one of auto, {', '.join(SHUFFLES)}; not {shuffle!r}")
    return SHUFFLES[shuffle]


class MrczBlosc:
    """Compress and decompress one z-slice as one blosc chunk.

    Parameters
    ----------
    cname
        One of 'zstd', 'lz4', 'lz4hc', 'zlib', 'blosclz'.
    clevel
        Compression level 1-9 (0 stores the slice uncompressed inside the chunk).
    shuffle
        'auto', 'bit', 'byte' or 'none'.
    n_threads
        blosc threads for each call; None uses :func:`default_threads`.
    blocksize
        blosc block size in bytes; 0 lets blosc choose.
    """

    codec_id = "mrcz_blosc"

    def __init__(
        self,
        cname: str = "zstd",
        clevel: int = 1,
        shuffle: str = "auto",
        n_threads: int | None = None,
        blocksize: int = 0,
    ) -> None:
        if cname not in WRITABLE_COMPRESSORS:
            raise MrczError(f"compressor must be one of {', '.join(WRITABLE_COMPRESSORS)} or None; not {cname!r}")
        if not isinstance(clevel, (int, np.integer)) or not 0 <= clevel <= 9:
            raise MrczError(f"clevel must be an integer from 0 to 9, not {clevel!r}")
        if n_threads is not None and (not isinstance(n_threads, (int, np.integer)) or not 1 <= n_threads <= 256):
            raise MrczError(f"n_threads must be an integer from 1 to 256 or None, not {n_threads!r}")
        if not isinstance(blocksize, (int, np.integer)) or blocksize < 0:
            raise MrczError(f"blocksize must be an integer >= 0, not {blocksize!r}")
        resolve_shuffle(shuffle, cname, np.dtype("u1"))
        self.cname = cname
        self.clevel = int(clevel)
        self.shuffle = shuffle
        self.n_threads = n_threads
        self.blocksize = int(blocksize)

    @property
    def threads(self) -> int:
        """Threads used per call."""
        return self.n_threads or default_threads()

    def encode(self, buf: np.ndarray) -> bytes:
        """Compress one C-contiguous slice into a blosc1 chunk.

        Raises
        ------
        MrczError
            The slice is larger than one blosc chunk can hold (2 GiB).
        """
        arr = np.ascontiguousarray(buf)
        if arr.nbytes > BLOSC_MAX_BUFFERSIZE:
            raise MrczError(
                f"a z-slice of {arr.nbytes} bytes exceeds blosc's 2 GiB chunk limit; "
                "write it uncompressed (compressor=None)"
            )
        shuffle = resolve_shuffle(self.shuffle, self.cname, arr.dtype)
        with _BLOSC1_SETTINGS:
            old_threads = blosc.set_nthreads(self.threads)
            old_gil = blosc.set_releasegil(True)
            old_blocksize = blosc.get_blocksize()
            blosc.set_blocksize(self.blocksize)
            try:
                return blosc.compress_ptr(
                    arr.ctypes.data, arr.size, arr.dtype.itemsize, self.clevel, shuffle, self.cname
                )
            finally:
                blosc.set_blocksize(old_blocksize)
                blosc.set_releasegil(old_gil)
                blosc.set_nthreads(old_threads)

    def decode(self, buf: bytes | memoryview, out: np.ndarray | None = None, *, what: str = "chunk") -> np.ndarray:
        """Decompress one chunk into ``out`` (a C-contiguous array of exactly the chunk's size).

        Raises
        ------
        ChunkError
            The chunk's own header disagrees with ``buf`` or ``out``, or blosc rejects the data.
        """
        head = parse_chunk_header(bytes(buf[:16])) if len(buf) >= 16 else None
        if out is None:
            if head is None:
                raise ChunkError(f"{what}: {len(buf)} bytes is too short for a blosc chunk")
            out = np.zeros(head.nbytes, dtype=np.uint8)
        if head is None or head.cbytes != len(buf) or head.nbytes != out.nbytes or not out.flags.c_contiguous:
            raise ChunkError(
                f"{what}: blosc header says {head.nbytes if head else '?'} bytes from "
                f"{head.cbytes if head else '?'} compressed, expected {out.nbytes} from {len(buf)}"
            )
        try:
            blosc2.decompress2(buf, dst=out.reshape(-1).view(np.uint8), nthreads=self.threads)
        except (RuntimeError, ValueError) as err:
            raise ChunkError(f"{what}: corrupt compressed data ({err})") from None
        return out

    def get_config(self) -> dict[str, Any]:
        """The codec's settings, JSON-friendly, with its id (numcodecs convention)."""
        return {
            "id": self.codec_id,
            "cname": self.cname,
            "clevel": self.clevel,
            "shuffle": self.shuffle,
            "n_threads": self.n_threads,
            "blocksize": self.blocksize,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MrczBlosc:
        """Rebuild a codec from :meth:`get_config`."""
        return cls(**{k: v for k, v in config.items() if k != "id"})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MrczBlosc) and self.get_config() == other.get_config()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "id")
        return f"MrczBlosc({args})"
