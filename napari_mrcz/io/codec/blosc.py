"""Per-slice blosc compression for MRCZ, shaped like a numcodecs codec.

Writes blosc1 chunks (``blosc``), which every ``mrcz`` install can read; decodes with ``blosc2``,
which reads blosc1 and blosc2 chunks. Thread count and block size are passed per call: blosc1 only
has process-wide settings, so they are set while calls run and restored when the last one ends, never
left changed. Calls with the same settings run at once on several threads (the GIL released), which
is how :func:`map_slices` spreads a file's slices over the cores.

``blosc`` and ``blosc2`` are imported on first use (:func:`load_blosc1`, :func:`load_blosc2`): blosc2
pulls in httpx, rich and pygments, several times numpy's import cost, which ``import napari_mrcz``
and ``napari-mrcz info`` need not pay.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ... import config
from ...format.chunks import parse_chunk_header
from ...format.constants import BLOSC_MAX_BUFFERSIZE, WRITABLE_COMPRESSORS
from ...errors import ChunkError, MrczError
from .settings import CodecSettings

NOSHUFFLE, SHUFFLE, BITSHUFFLE = 0, 1, 2  # blosc's filter codes (blosc.NOSHUFFLE, ...), fixed by its format
SHUFFLES = {"none": NOSHUFFLE, "byte": SHUFFLE, "bit": BITSHUFFLE}
SHUFFLE_CANDIDATES = (BITSHUFFLE, SHUFFLE, NOSHUFFLE)  # tried by 'auto', ties to the first
# Block size when none is given. blosc picks 32 KiB for zstd at low levels: bench/ (run.py --tune)
# measured 512 KiB 10-70% faster to compress and 30-200% faster to decompress on movies, counts and
# tomograms, and as small or smaller (1-5%). zlib: 128 KiB (blosc scales it by the item size). lz4,
# lz4hc, blosclz: blosc's own choice (128 KiB-1 MiB) was as good as any forced size.
DEFAULT_BLOCKSIZE = {"zstd": 2**19, "zlib": 2**17}
_TRIAL_BYTES = 2**19  # sample compressed with each filter when shuffle="auto" picks
_BLOSC1 = threading.Condition()
_blosc1_users = 0
_blosc1_held: tuple[int, int] | None = None
_blosc1_saved: tuple[int, int, bool] = (1, 0, False)
_GIL = threading.Lock()
_gil_users = 0
_gil_saved = False


def load_blosc1() -> Any:
    """The ``blosc`` module (blosc1 chunks, which every mrcz install reads), imported on first use."""
    import blosc

    return blosc


def load_blosc2() -> Any:
    """The ``blosc2`` module (decodes blosc1 and blosc2 chunks), imported on first use."""
    import blosc2

    return blosc2


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """Codec threads when a call names none: the ``"threads"`` setting (:mod:`napari_mrcz.config`),
    else the cores this process may run on, at most 8 (blosc's sweet spot)."""
    return config.get("threads") or max(1, min(8, available_cores()))


def resolve_shuffle(shuffle: str, cname: str, dtype: np.dtype) -> int:
    """The blosc shuffle filter for ``shuffle`` ('auto', 'bit', 'byte' or 'none') without data.

    'auto' is bitshuffle here; :meth:`MrczBlosc.shuffle_for` refines it from the data.
    """
    if shuffle == "auto":
        return BITSHUFFLE
    if shuffle not in SHUFFLES:
        raise MrczError(f"shuffle must be one of auto, {', '.join(SHUFFLES)}; not {shuffle!r}")
    return SHUFFLES[shuffle]


def trial_sizes(sample: np.ndarray, cname: str, clevel: int, blocksize: int) -> dict[int, int]:
    """Compressed bytes of up to 512 KiB from the middle of ``sample`` with each shuffle filter
    (:data:`SHUFFLE_CANDIDATES`), single-threaded."""
    flat = sample.reshape(-1)
    take = max(1, min(flat.size, _TRIAL_BYTES // flat.itemsize))
    part = np.ascontiguousarray(flat[(flat.size - take) // 2 :][:take])
    compress = load_blosc1().compress_ptr
    with blosc1_settings(1, blocksize):
        return {
            shuffle: len(compress(part.ctypes.data, part.size, part.itemsize, clevel, shuffle, cname))
            for shuffle in SHUFFLE_CANDIDATES
        }


@contextlib.contextmanager
def blosc1_settings(nthreads: int, blocksize: int) -> Iterator[None]:
    """Hold blosc1's process-wide thread count and block size at these values, with the GIL released.

    Holders with the same settings share the hold, so several threads compress at once; others wait
    until it is free. The previous settings are restored when the last holder leaves.
    """
    global _blosc1_users, _blosc1_held, _blosc1_saved
    blosc = load_blosc1()
    want = (nthreads, blocksize)
    with _BLOSC1:
        while _blosc1_users and _blosc1_held != want:
            _BLOSC1.wait()
        if not _blosc1_users:
            _blosc1_saved = (blosc.set_nthreads(nthreads), blosc.get_blocksize(), blosc.set_releasegil(True))
            blosc.set_blocksize(blocksize)
            _blosc1_held = want
        _blosc1_users += 1
    try:
        yield
    finally:
        with _BLOSC1:
            _blosc1_users -= 1
            if not _blosc1_users:
                threads, block, gil = _blosc1_saved
                blosc.set_blocksize(block)
                blosc.set_releasegil(gil)
                blosc.set_nthreads(threads)
                _blosc1_held = None
                _BLOSC1.notify_all()


@contextlib.contextmanager
def blosc2_gil_released() -> Iterator[None]:
    """blosc2 releases the GIL while inside (a process-wide switch, restored when the last user leaves),
    so single-threaded decompressions on several threads run at once."""
    global _gil_users, _gil_saved
    b2 = load_blosc2()
    with _GIL:
        if not _gil_users:
            _gil_saved = b2.set_releasegil(True)
        _gil_users += 1
    try:
        yield
    finally:
        with _GIL:
            _gil_users -= 1
            if not _gil_users:
                b2.set_releasegil(_gil_saved)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _reset_pool() -> None:  # a forked child has none of the parent's threads
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_pool)


def _helpers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="napari-mrcz")
        return _pool


def map_slices(work: Callable[[int, int], None], count: int, threads: int) -> None:
    """Call ``work(i, blosc_threads)`` for every slice ``i`` in ``range(count)`` using ``threads`` cores.

    With two or more slices, up to ``threads`` threads (the caller and helpers) take slices in turn,
    each with single-threaded blosc calls: measured 1.3-2× faster than blosc's own threads inside
    each slice, which start and stop threads on every call and cannot split a slice of few blocks.
    Fewer slices than threads share the rest as blosc threads. The first exception is raised once
    every started slice is done.
    """
    if threads <= 1 or count <= 1:
        for i in range(count):
            work(i, threads)
        return
    per_slice = max(1, threads // count)
    taken = [0]
    lock = threading.Lock()
    failed: list[BaseException] = []

    def run() -> None:
        while not failed:
            with lock:
                i = taken[0]
                taken[0] += 1
            if i >= count:
                return
            try:
                work(i, per_slice)
            except BaseException as err:  # noqa: BLE001 - re-raised in the caller
                failed.append(err)

    helpers = [_helpers().submit(run) for _ in range(min(threads, count) - 1)]
    run()
    for helper in helpers:
        if not helper.cancel():
            helper.result()
    if failed:
        raise failed[0]


def encode_blocks(arr: np.ndarray, cname: str, clevel: int, shuffle: str, blocksize: int) -> bytes:
    """One blosc2-format chunk of ``arr`` (C-contiguous) with blocks of ``blocksize`` bytes, on the
    calling thread, every setting passed with the call (python-blosc2 keeps no process-wide state
    for them, unlike blosc1). Blocks are independent: c-blosc2's getitem decodes one without the
    rest (:func:`napari_mrcz.io.codec.cblosc2.getitem`); :meth:`MrczBlosc.decode` decodes it whole.
    Used for stored pyramid levels, which only napari-mrcz reads."""
    b2 = load_blosc2()
    arr = np.ascontiguousarray(arr)
    filters = {"none": b2.Filter.NOFILTER, "byte": b2.Filter.SHUFFLE, "bit": b2.Filter.BITSHUFFLE}
    return b2.compress2(arr, codec=b2.Codec[cname.upper()], clevel=clevel, filters=[filters[shuffle]],
                        filters_meta=[0], typesize=arr.dtype.itemsize, blocksize=blocksize, nthreads=1)


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
        blosc block size in bytes; 0 lets blosc choose; None (default) uses :data:`DEFAULT_BLOCKSIZE`.
    """

    codec_id = "mrcz_blosc"

    @classmethod
    def from_settings(cls, c: CodecSettings) -> MrczBlosc | None:
        """The codec of settings ``c`` (its compressor decided), None for plain MRC."""
        return None if c.compressor is None else cls(c.compressor, c.clevel, c.shuffle, c.threads, c.blocksize)

    def __init__(
        self,
        cname: str = "zstd",
        clevel: int = 1,
        shuffle: str = "auto",
        n_threads: int | None = None,
        blocksize: int | None = None,
    ) -> None:
        if not isinstance(cname, str):
            raise MrczError(f"compressor must be one of {', '.join(WRITABLE_COMPRESSORS)}, not {cname!r}")
        settings = CodecSettings(cname, clevel, shuffle, blocksize, n_threads)  # checks the others
        self.cname = cname
        self.clevel = settings.clevel
        self.shuffle = shuffle
        self.n_threads = settings.threads
        self.blocksize = settings.blocksize
        self._auto: int | None = None  # shuffle='auto' as chosen so far
        self._trial_totals = dict.fromkeys(SHUFFLE_CANDIDATES, 0)
        self._calls = 0
        self._auto_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_auto_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._auto_lock = threading.Lock()

    @property
    def threads(self) -> int:
        """Threads used per call."""
        return self.n_threads or default_threads()

    @property
    def block_bytes(self) -> int:
        """The blosc block size passed to blosc (0: blosc's choice)."""
        return DEFAULT_BLOCKSIZE.get(self.cname, 0) if self.blocksize is None else self.blocksize

    def samples(self, index: int) -> bool:
        """True when :meth:`shuffle_for` tries the filters on slice ``index`` (its values matter)."""
        return self.shuffle == "auto" and self.clevel > 0 and (self._auto is None or index & (index - 1) == 0)

    def shuffle_for(self, arr: np.ndarray, index: int | None = None) -> int:
        """The blosc shuffle filter for slice ``index`` of a file (None: the order of the calls).

        'auto' tries every filter on samples of slices 0, 1, 2, 4, 8, ... and uses, from each of those
        slices on, the one that made the samples smallest in total: a map whose first slices are empty
        background still gets the filter that suits its contents. The choice depends only on the data
        and the slice indices, so a file is written the same way every time. No shuffle suits every
        codec and data: bench/ measured bitshuffle best with lz4 on most data, but a real EMDB map
        compressed with lz4 to ratio 0.99 bit-shuffled and 2.0 byte-shuffled, and zstd byte-shuffles
        dense counts 5-20% smaller.
        """
        if self.shuffle != "auto":
            return resolve_shuffle(self.shuffle, self.cname, arr.dtype)
        if self.clevel == 0:
            return BITSHUFFLE
        with self._auto_lock:
            if index is None:
                index, self._calls = self._calls, self._calls + 1
            if self._auto is None or index & (index - 1) == 0:
                for shuffle, size in trial_sizes(arr, self.cname, self.clevel, self.block_bytes).items():
                    self._trial_totals[shuffle] += size
                self._auto = min(SHUFFLE_CANDIDATES, key=self._trial_totals.__getitem__)
            return self._auto

    def encode(self, buf: np.ndarray, threads: int | None = None, shuffle: int | None = None) -> bytes:
        """Compress one C-contiguous slice into a blosc1 chunk, with ``threads`` blosc threads
        (default :attr:`threads`) and the blosc ``shuffle`` filter (default :meth:`shuffle_for`).
        Thread-safe.

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
        if shuffle is None:
            shuffle = self.shuffle_for(arr)
        with blosc1_settings(threads or self.threads, self.block_bytes):
            return load_blosc1().compress_ptr(arr.ctypes.data, arr.size, arr.dtype.itemsize, self.clevel, shuffle, self.cname)

    def decode(
        self, buf: bytes | memoryview, out: np.ndarray | None = None, *, what: str = "chunk", threads: int | None = None
    ) -> np.ndarray:
        """Decompress one chunk into ``out`` (a C-contiguous array of exactly the chunk's size, which
        may be uninitialised: every byte is written) with ``threads`` blosc threads (default
        :attr:`threads`). Thread-safe; the GIL is held unless inside :func:`blosc2_gil_released`.

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
        dst = out.reshape(-1).view(np.uint8)
        if not head.fills_output:
            dst.fill(0)  # blosc may leave some of it untouched: never hand back stale memory
        try:
            load_blosc2().decompress2(buf, dst=dst, nthreads=threads or self.threads)
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
