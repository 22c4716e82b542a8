"""Seek tables that pass their CRC but lie, generated: sizes shifted between entries, entries swapped,
a chunk placed inside another, two entries merged and another split (slice z then lands exactly on
slice z+1's chunk, whose own header agrees), random compositions of the packed size; every one with
its CRC recomputed. Every read path (eager, z-slice, region/partial x-z decode, lazy dask, a pyramid
level), locally and over HTTP, either raises an MrczError or returns the true values: never another
slice's values.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from loopback_http import LoopbackServer

import napari_mrcz as nm
from napari_mrcz import config
from napari_mrcz.errors import MrczError
from napari_mrcz.format import seektable
from napari_mrcz.io.codec.blosc import MrczBlosc
from napari_mrcz.io.reader.array import MrcArray
from napari_mrcz.io.reader.multiscale import pyramid

NZ = 8


def _equal_chunks(path: Path) -> np.ndarray:
    """Slices of one value each: every chunk has the same compressed size (the dangerous case)."""
    data = np.stack([np.full((64, 48), z, np.float32) for z in range(NZ)])
    nm.write(path, data)
    return data


def _varied_chunks(path: Path) -> np.ndarray:
    """Random slices in small blosc blocks, so an x-z read decodes only part of each chunk."""
    data = np.random.default_rng(9).normal(size=(NZ, 64, 48)).astype(np.float32)
    with nm.MrczWriter(path, compressor="zstd") as writer:
        writer.codec = MrczBlosc("zstd", 1, "byte", blocksize=1024)
        writer.write(data)
    return data


def _forgeries(sizes: np.ndarray, seed: int) -> list[tuple[str, np.ndarray]]:
    """Tables of NZ entries (each at least a chunk header) that add up to the packed size."""
    rng = np.random.default_rng(seed)
    total, n = int(sizes.sum()), len(sizes)
    out: list[tuple[str, np.ndarray]] = []
    for a in range(n - 1):
        for by in (16, -8):
            s = sizes.copy()
            s[a] += by
            s[a + 1] -= by
            out.append((f"shift{a}by{by}", s))
    for a, b in [(0, 1), (1, 5), (2, 7), (6, 7)]:
        s = sizes.copy()
        s[[a, b]] = s[[b, a]]
        out.append((f"swap{a}{b}", s))
    for a in range(n - 2):  # merge a and a+1, split the last: entries a+1.. sit on the next real chunks
        last = int(sizes[-1])
        s = np.concatenate([sizes[:a], [sizes[a] + sizes[a + 1]], sizes[a + 2 : n - 1], [last // 2, last - last // 2]])
        out.append((f"merge{a}", s))
    for k in range(3):
        cuts = np.sort(rng.choice(np.arange(16, total - 16), size=n - 1, replace=False))
        s = np.diff(np.concatenate([[0], cuts, [total]]))
        out.append((f"random{k}", s))
    return [(name, s.astype(np.int64)) for name, s in out
            if len(s) == n and s.min() >= 16 and int(s.sum()) == total and not np.array_equal(s, sizes)]


def _forge(original: Path, folder: Path, name: str, sizes: np.ndarray) -> Path:
    info = nm.open_mrc(original)
    h = info.header
    raw = original.read_bytes()
    start = h.data_offset + h.packed_bytes
    table = seektable.encode(data_offset=h.data_offset, slice_nbytes=h.slice_nbytes, cbytes=sizes)
    path = folder / f"{original.stem}-{name}.mrcz"
    path.write_bytes(raw[:start] + table)
    return path


def _paths(target: str | Path, truth: np.ndarray, levels: list[np.ndarray]) -> list[tuple[str, Callable[[], np.ndarray], np.ndarray]]:
    """(what, read, expected) for every read path."""

    def slices(z: int) -> np.ndarray:
        with nm.open_mrc(target) as info:
            return info.read_slices(z, z + 1)[0]

    def level(k: int) -> np.ndarray:
        with _small_levels():
            return np.asarray(pyramid(nm.open_mrc(target))[k])

    out = [("eager", lambda: nm.read(target).data, truth),
           ("lazy", lambda: nm.read(target, lazy=True).data.compute(), truth),
           ("xz", lambda: MrcArray(nm.open_mrc(target))[:, 17, :], truth[:, 17, :]),
           ("lazy_xz", lambda: nm.read(target, lazy=True).data[:, 30, :].compute(), truth[:, 30, :]),
           ("level1", lambda: level(1), levels[1])]
    out += [(f"slice{z}", lambda z=z: slices(z), truth[z]) for z in range(NZ)]
    return out


def _small_levels():
    return config.set({"multiscale.level_side": 16})


@pytest.fixture(scope="module")
def forged(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("forged")
    cases = []
    for make in (_equal_chunks, _varied_chunks):
        original = folder / f"{make.__name__.strip('_')}.mrcz"
        truth = make(original)
        with _small_levels():
            levels = [np.asarray(level) for level in pyramid(nm.open_mrc(original))]
        assert len(levels) > 1
        sizes = nm.open_mrc(original).chunk_index.cbytes
        for name, table in _forgeries(sizes, seed=len(cases)):
            cases.append((_forge(original, folder, name, table), truth, levels))
    with LoopbackServer(folder) as srv:
        yield srv, cases


def _check(target: str | Path, truth: np.ndarray, levels: list[np.ndarray]) -> int:
    """Every read path raises MrczError or returns the truth; returns how many returned data."""
    returned = 0
    for what, read, expected in _paths(target, truth, levels):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", nm.MrczWarning)
                got = read()
        except MrczError:
            continue
        assert np.array_equal(got, expected), (target, what)
        returned += 1
    return returned


@pytest.mark.parametrize("backend", ["local", "http"])
def test_forged_tables_never_return_another_slices_values(backend: str, forged) -> None:
    srv, cases = forged
    assert len(cases) > 40
    for path, truth, levels in cases:
        target = path if backend == "local" else srv.url(path.name)
        # the table is checked entry by entry against the chunk headers, so the walk takes over
        _check(target, truth, levels)


def test_a_file_changed_after_open_is_caught_chunk_by_chunk(tmp_path: Path) -> None:
    """After a verified open, each chunk's header is checked against the index again on every path:
    a chunk rewritten in place (the index no longer true) raises, never decodes another slice."""
    original = tmp_path / "a.mrcz"
    truth = _varied_chunks(original)
    for z in (0, 3, NZ - 1):
        path = tmp_path / f"changed{z}.mrcz"
        shutil.copy(original, path)
        info = nm.open_mrc(path)
        index = info.chunk_index
        raw = bytearray(path.read_bytes())
        at = int(index.offsets[z]) + 12  # the chunk's own cbytes field
        raw[at : at + 4] = (int(index.cbytes[z]) - 4).to_bytes(4, "little")
        with open(path, "r+b") as fh:  # in place: the open descriptor sees it
            fh.write(bytes(raw))
        for read in (lambda: info.read_slices(z, z + 1), lambda: MrcArray(info)[z:z + 1, 17, :]):
            with pytest.raises(MrczError, match=f"compressed slice {z}"):
                read()
        assert np.array_equal(info.read_slices((z + 1) % NZ, (z + 1) % NZ + 1)[0], truth[(z + 1) % NZ])
