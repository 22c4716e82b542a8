"""The other tools, and blosc's own limit, behind one small call each.

``mrcz`` flips process-wide blosc settings (threads, block size, GIL release) when imported and on
every call; each wrapper restores them so the next measurement of ours starts from a clean state.
"""

from __future__ import annotations

import contextlib
import warnings
from concurrent.futures import ThreadPoolExecutor

import blosc
import blosc2
import numpy as np

from napari_mrcz.io.codec.blosc import resolve_shuffle


@contextlib.contextmanager
def blosc_globals_restored():
    """Put blosc's and blosc2's process-wide settings back as they were on exit."""
    b1_threads = blosc.set_nthreads(1)
    blosc.set_nthreads(b1_threads)
    b1_block = blosc.get_blocksize()
    b1_gil = blosc.set_releasegil(False)
    blosc.set_releasegil(b1_gil)
    b2_threads = blosc2.nthreads
    b2_gil = blosc2.set_releasegil(False)
    blosc2.set_releasegil(b2_gil)
    try:
        yield
    finally:
        blosc.set_nthreads(b1_threads)
        blosc.set_blocksize(b1_block)
        blosc.set_releasegil(b1_gil)
        blosc2.set_nthreads(b2_threads)
        blosc2.set_releasegil(b2_gil)


with blosc_globals_restored():
    import mrcz
import mrcfile


def mrcz_write(path, arr: np.ndarray, cname: str | None, clevel: int, threads: int) -> None:
    with blosc_globals_restored(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mrcz.writeMRC(arr, str(path), compressor=cname, clevel=clevel, n_threads=threads)


def mrcz_read(path, threads: int) -> np.ndarray:
    with blosc_globals_restored(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data, _ = mrcz.readMRC(str(path), n_threads=threads)
    if isinstance(data, list):  # MZ >= 1; our files and mrcz's own have MZ = 0
        data = np.stack(data)
    return data


def mrcfile_write(path, arr: np.ndarray) -> None:
    mrcfile.write(str(path), arr, overwrite=True)


def mrcfile_read(path) -> np.ndarray:
    return mrcfile.read(str(path))


def our_settings(arr: np.ndarray, cname: str, clevel: int) -> tuple[str, int]:
    """The shuffle ('bit'/'byte'/'none') and requested block size our writer uses for ``arr``, read
    back from the chunk it makes of the first slice (so this works whatever the codec's defaults are)."""
    from napari_mrcz.io.codec.blosc import MrczBlosc

    codec = MrczBlosc(cname, clevel)
    flags = codec.encode(np.ascontiguousarray(arr[0]))[2]
    shuffle = "bit" if flags & 0x4 else "byte" if flags & 0x1 else "none"
    return shuffle, int(getattr(codec, "block_bytes", codec.blocksize) or 0)


class BloscLimit:
    """blosc alone on the same slices with our settings: no file, no allocation in the timed loop.

    Two ways to use ``threads`` cores: blosc's own threads inside each slice (``*_split``), or one
    slice per thread with single-threaded blosc calls and the GIL released (``*_pool``). The limit
    is the faster of the two.
    """

    def __init__(self, arr: np.ndarray, cname: str, clevel: int, shuffle: str, threads: int,
                 blocksize: int = 0) -> None:
        self.arr = arr
        self.cname, self.clevel, self.threads, self.blocksize = cname, clevel, threads, blocksize
        self.shuffle = resolve_shuffle(shuffle, cname, arr.dtype)
        self.chunks: list[bytes] = []
        self.out = np.empty_like(arr)
        self.out.fill(0)  # touch the pages once, outside any timing

    def _compress_one(self, plane: np.ndarray) -> bytes:
        return blosc.compress_ptr(plane.ctypes.data, plane.size, plane.dtype.itemsize, self.clevel,
                                  self.shuffle, self.cname)

    def compress_split(self) -> None:
        """Slice after slice, blosc's threads sharing each slice."""
        with blosc_globals_restored():
            blosc.set_nthreads(self.threads)
            blosc.set_blocksize(self.blocksize)
            blosc.set_releasegil(True)
            self.chunks = [self._compress_one(plane) for plane in self.arr]

    def compress_pool(self) -> None:
        """One slice per thread, single-threaded blosc calls."""
        with blosc_globals_restored(), ThreadPoolExecutor(self.threads) as pool:
            blosc.set_nthreads(1)
            blosc.set_blocksize(self.blocksize)
            blosc.set_releasegil(True)
            self.chunks = list(pool.map(self._compress_one, self.arr))

    compress = compress_split

    def decompress_split(self) -> None:
        """blosc2.decompress2 with ``nthreads`` into the preallocated output, slice after slice."""
        flat = self.out.reshape(len(self.out), -1).view(np.uint8)
        for chunk, dst in zip(self.chunks, flat):
            blosc2.decompress2(chunk, dst=dst, nthreads=self.threads)

    def decompress_pool(self) -> None:
        """One slice per thread, single-threaded blosc2.decompress2 calls."""
        flat = self.out.reshape(len(self.out), -1).view(np.uint8)
        with blosc_globals_restored(), ThreadPoolExecutor(self.threads) as pool:
            blosc2.set_releasegil(True)
            list(pool.map(lambda i: blosc2.decompress2(self.chunks[i], dst=flat[i], nthreads=1),
                          range(len(flat))))

    def decompress_fresh(self) -> np.ndarray:
        """As :meth:`decompress_pool`, but into a newly allocated array, as any reader must return:
        the kernel zeroes each fresh page on first touch, which the preallocated limit never pays."""
        out = np.empty_like(self.arr)
        flat = out.reshape(len(out), -1).view(np.uint8)
        with blosc_globals_restored(), ThreadPoolExecutor(self.threads) as pool:
            blosc2.set_releasegil(True)
            list(pool.map(lambda i: blosc2.decompress2(self.chunks[i], dst=flat[i], nthreads=1),
                          range(len(flat))))
        return out

    def decompress_one(self, z: int) -> None:
        blosc2.decompress2(self.chunks[z], dst=self.out[z].reshape(-1).view(np.uint8), nthreads=self.threads)

    @property
    def compressed_nbytes(self) -> int:
        return sum(len(c) for c in self.chunks)
