"""Build a stored pyramid (:mod:`napari_mrcz.format.pyramid`) while the data streams past.

:class:`PyramidBuilder` is fed the stored z-slices of a file in any order (the writer's worker
threads hand them over as they finish) and keeps only what the next level still needs: one slice
waiting for its partner of the 2×2×2 mean, and the slices of one chunk depth per level. Finished
level chunks are compressed (:data:`LEVEL_CODEC`) and spilled to an unnamed temporary file per
level, so memory stays bounded however large the file; :meth:`PyramidBuilder.finish` then streams
the index and the chunks into the output after the seek table. Levels are the means
:func:`napari_mrcz.values.levels.level_mean` computes, each from the level below, exactly as
the lazy pyramid computes them, so a stored level and a computed one hold the same values.
"""

from __future__ import annotations

import os
import tempfile
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from ...format import pyramid as layout
from ...format.modes import mode_from_dtype
from ..codec.blosc import blosc2_gil_released, default_threads, encode_blocks, map_slices
from ...errors import MrczError
from ...values.levels import kept_mantissa_bits, level_mean_planes
from ..reader.multiscale import is_large, level_shapes
from ..reader.stored import echo_of

CHUNK = (1, 128, 128)
"""Chunk shape (z, y, x) of stored levels: a z jump reads one plane's bytes, an x-z or y-z view 128 rows
or columns per level plane (decoded chunks are cached: the next 127 steps read nothing). bench,
32×4096² float32, a 900×1200 view: 1×64×64 chunks cost 0.019 s per z jump at level 1 (285 chunks: the
cost per chunk is Python's) and 0.035 s for the first picture (256 chunks of the 1024² plane);
1×256×256, 0.009 s and 0.023 s, but in a real window 0.13-0.23 s per random y jump in x-z at level 1
(64 MB of chunks decoded per jump); 1×128×128 sits between. (8, 64, 64) read 8 planes' bytes per z jump."""
LEVEL_CODEC = ("lz4", 5, "bit")
"""Compressor, level and shuffle of level chunks: on float32 tomograms as small as zstd level 1 (bench:
ratio 0.864 with a block per chunk plane vs zstd's 0.856 in one block) at a third of its CPU time, and
faster to decode; blosc records the codec in each chunk, so readers need nothing more. Each chunk is a
blosc2 chunk with one block per z-plane of its box, so a z jump decodes one plane of each chunk."""
EXTRA_LEVELS = 2
"""Levels built beyond the side rule, for a size rule that only the final slice count decides."""
_COPY = 8 * 2**20
_BATCH_BYTES = 256 * 2**20  # slices decoded at a time by feed()


def side_levels(ny: int, nx: int, halve_z: bool, itemsize: int) -> list[tuple[int, int, int]]:
    """Shapes (z unknown: 1) of the levels the side rule asks for, plus :data:`EXTRA_LEVELS`."""
    shapes = level_shapes((1, ny, nx), (False, True, True), itemsize)[1:]
    y, x = shapes[-1][1:] if shapes else (ny, nx)
    for _ in range(EXTRA_LEVELS):
        if max(y, x) == 1:
            break
        y, x = (y + 1) // 2, (x + 1) // 2
        shapes.append((1, y, x))
    return shapes


class _Level:
    """One level being built: slices in, chunks out (level 0, the data, only passes pairs on)."""

    def __init__(self, k: int, builder: PyramidBuilder, ny: int, nx: int) -> None:
        self.k, self.builder, self.ny, self.nx = k, builder, ny, nx
        self.lock = threading.Lock()
        self.waiting: dict[int, np.ndarray] = {}  # slices awaiting their partner
        self.groups: dict[int, dict[int, np.ndarray]] = {}  # chunk depth group -> slices
        self.chunks: dict[int, list[tuple[int, int, int]]] = {}  # group -> [(spill offset, cbytes, crc)]
        self.spill: BinaryIO | None = None
        self.child: _Level | None = None

    def add(self, z: int, plane: np.ndarray, final: bool = False) -> None:
        halve_z = self.builder.halve_z
        with self.lock:
            pair = None
            if not halve_z:
                pair = (z, [plane])
            else:
                partner = z ^ 1
                if partner in self.waiting:
                    pair = (z // 2, [self.waiting.pop(partner), plane] if partner < z else [plane, self.waiting.pop(partner)])
                elif final:
                    pair = (z // 2, [plane])
                else:
                    self.waiting[z] = plane
            group = None
            if self.k > 0:
                g = z // CHUNK[0]
                slices = self.groups.setdefault(g, {})
                slices[z] = plane
                if len(slices) == CHUNK[0]:
                    group = (g, self.groups.pop(g))
        if group is not None:
            self._store(*group)
        if pair is not None and self.child is not None:
            zc, planes = pair
            small = level_mean_planes(planes, halve_z)
            self.child.add(zc, small)

    def flush(self) -> None:
        """After the last slice: the unpaired last slice and the last, partial chunk depth."""
        if self.waiting:
            ((z, plane),) = self.waiting.items()
            self.waiting.clear()
            self.add(z, plane, final=True)
        for g, slices in sorted(self.groups.items()):
            self._store(g, slices)
        self.groups.clear()

    def _store(self, g: int, slices: dict[int, np.ndarray]) -> None:
        block = np.stack([slices[z] for z in sorted(slices)])
        with blosc2_gil_released():
            out = self._encode(block, *LEVEL_CODEC)
        with self.lock:
            if self.spill is None:
                self.spill = tempfile.TemporaryFile(dir=self.builder.folder)
            at, entries = self.spill.tell(), []
            for data, crc in out:
                entries.append((at, len(data), crc))
                at += len(data)
            self.spill.write(b"".join(data for data, _ in out))
            self.chunks[g] = entries

    def _encode(self, block: np.ndarray, cname: str, clevel: int, shuffle: str) -> list[tuple[bytes, int]]:
        out = []
        for y0 in range(0, self.ny, CHUNK[1]):
            for x0 in range(0, self.nx, CHUNK[2]):
                box = np.ascontiguousarray(block[:, y0 : y0 + CHUNK[1], x0 : x0 + CHUNK[2]])
                data = encode_blocks(box, cname, clevel, shuffle, box[0].nbytes)  # a block per plane
                out.append((data, zlib.crc32(data)))
        return out

    def close(self) -> None:
        if self.spill is not None:
            self.spill.close()
            self.spill = None


class PyramidBuilder:
    """Accumulate a file's pyramid from its stored slices (see the module docstring).

    Parameters
    ----------
    slice_shape
        (NY, NX) of every slice.
    dtype
        The stored samples' dtype (levels are stored little-endian in it).
    halve_z
        True for volumes (levels halve z), False for image stacks and single images.
    folder
        Where the spill files go (the output's folder).
    """

    def __init__(self, slice_shape: tuple[int, int], dtype: Any, halve_z: bool, folder: Path) -> None:
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.halve_z, self.folder = halve_z, folder
        ny, nx = slice_shape
        self.shapes = side_levels(ny, nx, halve_z, self.dtype.itemsize)
        self.levels = [_Level(0, self, ny, nx)]
        for k, (_, y, x) in enumerate(self.shapes, 1):
            self.levels.append(_Level(k, self, y, x))
            self.levels[-2].child = self.levels[-1]

    def add(self, z: int, plane: np.ndarray) -> None:
        """Slice ``z`` of the data as stored (any byte order); thread-safe, any order."""
        if self.shapes:
            self.levels[0].add(z, np.asarray(plane).astype(self.dtype, copy=False))

    def finish(self, out: BinaryIO, *, start: int, echo: layout.Echo, shape: tuple[int, int, int]) -> int:
        """Write the index and chunks to ``out`` (positioned at ``start``, right after the seek
        table) for data of ``shape`` (NZ, NY, NX); returns the bytes written (0: no levels wanted)."""
        try:
            for level in self.levels:
                level.flush()
            full = level_shapes(shape, (self.halve_z, True, True), self.dtype.itemsize)[1:]
            kept = self.levels[1 : 1 + min(len(full), len(self.shapes))]
            if not kept:
                return 0
            levels = [layout.Level(tuple(full[lv.k - 1]), tuple(min(c, n) for c, n in zip(CHUNK, full[lv.k - 1])))
                      for lv in kept]
            entries = [e for lv in kept for g in sorted(lv.chunks) for e in lv.chunks[g]]
            cbytes = np.array([e[1] for e in entries], dtype=np.int64)
            crcs = np.array([e[2] for e in entries], dtype=np.int64)
            index = layout.encode_index(echo, levels, mode_from_dtype(self.dtype), cbytes, crcs, start,
                                        kept_mantissa_bits(self.dtype))
            out.write(index)
            for lv in kept:
                for piece in _copy(lv):
                    out.write(piece)
            return len(index) + int(cbytes.sum())
        finally:
            self.close()

    def close(self) -> None:
        """Drop the spill files."""
        for level in self.levels:
            level.close()


def _copy(level: _Level) -> Iterator[bytes]:
    """The level's chunks from its spill file, in index order, in pieces of up to 8 MiB."""
    if level.spill is None:
        return
    fd = level.spill.fileno()
    level.spill.flush()
    runs: list[list[int]] = []
    for g in sorted(level.chunks):
        for offset, size, _ in level.chunks[g]:
            if runs and runs[-1][0] + runs[-1][1] == offset and runs[-1][1] + size <= _COPY:
                runs[-1][1] += size
            else:
                runs.append([offset, size])
    for offset, size in runs:
        yield os.pread(fd, size, offset)


AUTO_LARGE = "auto (large)"
"""``pyramid`` as :func:`napari_mrcz.write` passes "auto" on for data the size rule makes a pyramid of."""


def auto_for(shape: tuple[int, ...], nbytes: int) -> str:
    """``pyramid="auto"`` as passed to :class:`MrczWriter` for data of ``shape`` and ``nbytes``: the
    writer sees only slices, so the size rule is applied here, where the whole shape is known."""
    return AUTO_LARGE if is_large(shape, nbytes) else "auto"


def check_setting(setting: object) -> None:
    """Raise :class:`MrczError` unless ``setting`` is True, False or "auto"."""
    if setting not in (True, False, "auto", AUTO_LARGE) or isinstance(setting, int) and not isinstance(setting, bool):
        raise MrczError(f"pyramid must be True, False or 'auto', not {setting!r}")


def wanted(setting: bool | str, *, compressed: bool, ndim: int, dtype: np.dtype, slice_shape: tuple[int, int]) -> bool:
    """Whether to build a pyramid: ``True``/``False`` as given (True raises where none can be stored),
    ``"auto"`` for MRCZ images, stacks and volumes of real samples that napari opens as a pyramid:
    slices wider or taller than the ``"multiscale.side"`` setting (:func:`napari_mrcz.write`, which
    knows the whole shape, also applies the ``"multiscale.bytes"`` rule)."""
    check_setting(setting)
    possible = compressed and ndim in (2, 3) and np.dtype(dtype).kind in "iuf"
    if setting is True and not possible:
        raise MrczError("a stored pyramid needs MRCZ output (a compressor) of 2-D or 3-D real-valued data")
    if setting is True or setting is False:
        return setting
    return possible and (setting == AUTO_LARGE or is_large(slice_shape, 0))


def append(builder: PyramidBuilder, out: BinaryIO, header: Any, table: bytes) -> int:
    """Write ``builder``'s pyramid to ``out``, a file whose data and seek table ``table`` end at its
    current position; returns the bytes written."""
    out.flush()
    fd = out.fileno()
    echo = echo_of(header, table, lambda n, offset: os.pread(fd, n, offset))
    start = layout.pyramid_start(header.data_offset, header.packed_bytes, header.nz)
    return builder.finish(out, start=start, echo=echo, shape=(header.nz, header.ny, header.nx))


def feed(info: Any, builder: PyramidBuilder, n_threads: int | None,
          progress: Callable[[int, int], None] | None) -> None:
    """Every stored slice to ``builder``, decoded a batch at a time on all threads."""
    h = info.header
    threads = n_threads or default_threads()
    step = max(threads, _BATCH_BYTES // max(1, h.slice_nbytes))
    for z0 in range(0, h.nz, step):
        z1 = min(h.nz, z0 + step)

        def one(i: int, blosc_threads: int, z0: int = z0) -> None:
            z = z0 + i
            builder.add(z, np.asarray(info.read_slices(z, z + 1, blosc_threads)[0]))

        map_slices(one, z1 - z0, threads)
        if progress is not None:
            progress(z1, h.nz)
