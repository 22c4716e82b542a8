"""Stored pyramid levels (:mod:`napari_mrcz.format.pyramid`): found, verified, and read by chunk.

:func:`find_stored` looks where the seek table ends, reads the index (one read, two more for the
data fingerprint) and verifies it against the file; a pyramid that fails is ignored with an
:class:`MrczWarning`, and the levels are computed from the data as for files without one.
:class:`StoredLevel` reads only the chunks a request touches (contiguous chunks in one read, runs
in parallel), checks each chunk's size and CRC-32 before decoding it, and keeps decoded chunks in a
process-wide LRU cache (the ``"multiscale.cache_bytes"`` setting), so the next z or y step inside
the same chunks reads nothing. A whole level (what napari's 3-D view and its thumbnail ask for) is
kept with the array after the first read: switching to 3-D again reads nothing. A chunk that fails
its checks switches the level to computing from the data, with a warning: a damaged pyramid never
shows wrong pixels.
"""

from __future__ import annotations

import threading
import warnings
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ... import config
from ...errors import MrczError, MrczWarning
from ...format import pyramid as layout
from ...format.constants import ISPG_IMAGE_STACK
from ...format.modes import MODE_TO_DTYPE
from ...format.seektable import trailer_nbytes
from ..codec import cblosc2
from ..codec.blosc import MrczBlosc, blosc2_gil_released, default_threads, map_slices
from .array import LazyArray
from .cache import ArrayCache
from .file import MrcFileInfo

_CACHE = ArrayCache(config.get("multiscale.cache_bytes"))
_FIRST_READ = 256 * 2**10  # the index is read with this many bytes at first: most indexes fit
_RUN_BYTES = 4 * 2**20  # contiguous chunks read in one request up to this size (runs decode in parallel)
PLANE_FRACTION = 4  # requests for at most 1/4 of each chunk's planes decode only those planes


def echo_of(header: Any, table: bytes, read: Callable[[int, int], bytes]) -> layout.Echo:
    """What a pyramid must echo for a file with ``header``: its fields, the CRC-32 of the seek table's
    bytes ``table`` and the fingerprint of the first and last data chunk, read with ``read(n, offset)``."""
    sizes = np.frombuffer(table, dtype="<u8", count=header.nz, offset=48)  # the seek table's entries
    first = read(min(int(sizes[0]), layout.FINGERPRINT_BYTES), header.data_offset)
    last = read(min(int(sizes[-1]), layout.FINGERPRINT_BYTES), header.data_offset + header.packed_bytes - int(sizes[-1]))
    return layout.Echo(header.nx, header.ny, header.nz, header.mode, header.data_offset, header.packed_bytes,
                       zlib.crc32(table), layout.data_fingerprint(first, last))


def halves_z(info: MrcFileInfo) -> bool:
    """Whether pyramid levels of the file halve z: for volumes (3-D data with ISPG ≠ 0), not for image
    stacks (movies, tilt series, particle stacks: z is not space) or single images."""
    return len(info.shape) == 3 and info.header.ispg != ISPG_IMAGE_STACK


def find_stored(info: MrcFileInfo) -> layout.PyramidIndex | None:
    """The file's verified stored pyramid, or None (none present, or one that fails: then with an
    :class:`MrczWarning` saying why)."""
    found, problem = check_stored(info)
    if problem:
        warnings.warn(f"{info.path}: {problem}; levels are computed from the data instead", MrczWarning, stacklevel=3)
    return found


def check_stored(info: MrcFileInfo) -> tuple[layout.PyramidIndex | None, str | None]:
    """(index, None) for a verified stored pyramid; (None, None) when the file has none; (None, why)
    when one is present but fails (what :func:`find_stored` warns and ``validate`` reports)."""
    h, source = info.header, info.source
    index = info.chunk_index
    if index is None or not index.trailer_nbytes or len(h.file_shape) > 3 or h.nz < 1:
        return None, None  # a pyramid sits after a verified seek table, in MRCZ images, stacks and volumes
    start = layout.pyramid_start(h.data_offset, h.packed_bytes, h.nz)
    if start + layout.HEAD_BYTES > source.size:
        return None, None
    try:
        raw = source.pread(min(_FIRST_READ, source.size - start), start)
        if not layout.is_pyramid(raw):
            return None, None
        n = layout.head_index_nbytes(raw)
        if n > source.size - start:
            raise layout.PyramidError(f"its index of {n} bytes would end past the end of the file")
        raw = raw[:n] if len(raw) >= n else source.pread(n, start)
        table = source.pread(trailer_nbytes(h.nz), h.data_offset + h.packed_bytes)
        found = layout.decode_index(raw, echo_of(h, table, source.pread), start=start, file_size=source.size,
                                    halve_z=halves_z(info))
        if found.sample_mode != h.mrc_mode:
            raise layout.PyramidError(f"its samples are mode {found.sample_mode}, the data's mode {h.mrc_mode}")
    except MrczError as err:
        return None, f"stored pyramid at byte {start} ignored: {err}"
    return found, None


class StoredLevel(LazyArray):
    """Level ``k`` (1 = the first coarser one) of a stored pyramid, read by chunk; indexing and views
    as :class:`~napari_mrcz.io.reader.array.LazyArray`.

    Parameters
    ----------
    info
        The opened file.
    index
        Its verified pyramid (:func:`find_stored`).
    k
        The level.
    fallback
        The same level computed from the level below, used once a chunk fails its checks.
    owner
        Identifies the pyramid in the shared cache.
    source
        Where the chunks are (default: the file itself; a per-user cache entry otherwise).
    """

    def __init__(self, info: MrcFileInfo, index: layout.PyramidIndex, k: int, fallback: LazyArray, owner: str,
                 source: Any = None) -> None:
        self.level = index.levels[k - 1]
        shape = self.level.shape if len(info.shape) == 3 else self.level.shape[1:]
        super().__init__(shape, info.dtype)
        self.info, self.index, self.k, self.fallback, self.owner = info, index, k, fallback, owner
        self.source = info.source if source is None else source
        self.samples = np.dtype(MODE_TO_DTYPE[index.sample_mode]).newbyteorder("<")
        self._state: dict[str, Any] = {"bad": False, "whole": None, "lock": threading.Lock()}  # shared by views

    def _read(self, indices: tuple[np.ndarray, ...]) -> np.ndarray:
        if self._state["bad"]:
            return self.fallback._read(indices)
        zyx = indices if len(indices) == 3 else (np.zeros(1, dtype=np.int64), *indices)
        try:
            return self._read_stored(zyx).reshape(tuple(len(i) for i in indices))
        except MrczError as err:
            with self._state["lock"]:
                first = not self._state["bad"]
                self._state["bad"] = True
            if first:
                warnings.warn(f"{self.info.path}: stored pyramid level {self.k} ignored from now on: {err}; "
                              "it is computed from the data instead", MrczWarning, stacklevel=2)
            return self.fallback._read(indices)

    def _read_stored(self, zyx: tuple[np.ndarray, ...]) -> np.ndarray:
        whole = self._state["whole"]
        if whole is not None:
            return whole[_outer(list(zyx))]  # the whole level again (3-D, thumbnail): a view, no copy
        shape, chunk, grid = self.level.shape, self.level.chunk, self.level.grid
        per_axis = [np.unique(i // c) for i, c in zip(zyx, chunk)]
        everything = all(len(p) == g for p, g in zip(per_axis, grid))
        ids = np.ravel_multi_index(np.meshgrid(*per_axis, indexing="ij"), grid).reshape(-1)
        # a few planes of each chunk (a z jump): decode just those blocks (one per plane), not cached
        planes = np.unique(zyx[0]) if len(np.unique(zyx[0])) * PLANE_FRACTION <= len(per_axis[0]) * chunk[0] else None
        blocks = self._chunks(ids, keep=not everything and planes is None, planes=planes)
        if everything and all(len(i) == n for i, n in zip(zyx, shape)):
            full = np.empty(shape, dtype=self.dtype)
            for i, block in zip(ids.tolist(), blocks):
                full[self.level.chunk_box(i)] = block
            if full.nbytes <= config.get("multiscale.bytes"):
                full.flags.writeable = False
                self._state["whole"] = full  # napari's 3-D view and thumbnail: read once per open
            return full[np.ix_(*zyx)] if not all(np.array_equal(i, np.arange(n)) for i, n in zip(zyx, shape)) else full
        out = np.empty(tuple(len(i) for i in zyx), dtype=self.dtype)
        ranges = [_as_range(i) for i in zyx]
        for i, block in zip(ids.tolist(), blocks):
            box = self.level.chunk_box(i)
            if all(r is not None for r in ranges):  # napari's requests: one slice per axis
                dst, src = [], []
                for (a, e), b in zip(ranges, box):  # type: ignore[misc]
                    lo, hi = max(a, b.start), min(e, b.stop)
                    dst.append(slice(lo - a, hi - a))
                    src.append(slice(lo - b.start, hi - b.start))
                out[tuple(dst)] = block[tuple(src)]
                continue
            sel = [np.flatnonzero((idx >= b.start) & (idx < b.stop)) for idx, b in zip(zyx, box)]
            src_idx = [idx[s] - b.start for idx, s, b in zip(zyx, sel, box)]
            out[_outer(sel)] = block[_outer(src_idx)]
        return out

    def _chunks(self, ids: np.ndarray, keep: bool, planes: np.ndarray | None = None) -> list[np.ndarray]:
        """Decoded chunks ``ids`` (level-relative), from the cache or read (and kept when ``keep``);
        with ``planes`` (level z indices) only those planes of each chunk are decoded (where c-blosc2's
        getitem is available; the rest of each returned chunk is undefined)."""
        partial = planes is not None and cblosc2.available()
        first = self.index.first[self.k - 1]
        _CACHE.budget = config.get("multiscale.cache_bytes")
        found: dict[int, np.ndarray] = {}
        for i in ids.tolist():
            got = _CACHE.get((self.owner, self.k, i))
            if got is not None:
                found[i] = got
        missing = [i for i in ids.tolist() if i not in found]
        runs: list[list[int]] = []  # consecutive chunks are contiguous in the file: one read each run
        run_bytes, longest = 0, -(-len(missing) // default_threads())  # at least a run per thread
        for i in missing:
            if runs and runs[-1][-1] == i - 1 and run_bytes < _RUN_BYTES and len(runs[-1]) < longest:
                runs[-1].append(i)
            else:
                runs.append([i])
                run_bytes = 0
            run_bytes += int(self.index.cbytes[first + i])
        codec = MrczBlosc()
        what = f"{self.info.path}: stored pyramid level {self.k}"

        def fetch(r: int, _threads: int) -> None:
            run = [first + i for i in runs[r]]
            offset = int(self.index.offsets[run[0]])
            raw = self.source.pread(int(self.index.offsets[run[-1]] + self.index.cbytes[run[-1]]) - offset, offset)
            for i, g in zip(runs[r], run):
                at = int(self.index.offsets[g]) - offset
                piece = raw[at : at + int(self.index.cbytes[g])]
                layout.check_chunk(self.index, g, piece, f"{what} chunk {i}")
                box = self.level.chunk_box(i)
                block = np.empty(tuple(b.stop - b.start for b in box), dtype=self.samples)
                if partial:
                    for z in planes[(planes >= box[0].start) & (planes < box[0].stop)].tolist():
                        plane = block[z - box[0].start]
                        cblosc2.getitem(piece, block.itemsize, (z - box[0].start) * plane.nbytes, plane,
                                        f"{what} chunk {i}")
                else:
                    codec.decode(piece, block, what=f"{what} chunk {i}", threads=1)
                block = block.astype(self.dtype, copy=False)
                found[i] = block
                if keep:
                    _CACHE.put((self.owner, self.k, i), block)

        with blosc2_gil_released():
            map_slices(fetch, len(runs), max(default_threads(), min(8, len(runs))))
        return [found[i] for i in ids.tolist()]


def _as_range(index: np.ndarray) -> tuple[int, int] | None:
    """(start, stop) when ``index`` is consecutive ascending integers, else None."""
    if index.size and int(index[-1]) - int(index[0]) == index.size - 1 and (index.size < 3 or bool(np.all(np.diff(index) == 1))):
        return int(index[0]), int(index[-1]) + 1
    return None


def _outer(index: list[np.ndarray]) -> tuple[Any, ...]:
    """``np.ix_`` of index arrays, with runs of consecutive indices as slices (no copy to a mesh)."""
    out: list[Any] = []
    for i in index:
        if i.size and i[-1] - i[0] == i.size - 1 and np.all(np.diff(i) == 1):
            out.append(slice(int(i[0]), int(i[-1]) + 1))
        else:
            out.append(i)
    if any(isinstance(o, np.ndarray) for o in out):
        arrays = [o if isinstance(o, np.ndarray) else np.arange(o.start, o.stop) for o in out]
        return np.ix_(*arrays)
    return tuple(out)
