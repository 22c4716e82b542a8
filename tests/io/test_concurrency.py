"""Concurrency: many lazy readers of one file (threads, processes, a dask.distributed cluster), and
writers racing to one path.

Readers must all see the file's exact data. Writers replace the target atomically, so every read
while they race returns one complete file (the old one, or one writer's), never a mix, and the
result is exactly one writer's array. A lazy array keeps reading the file it opened, or raises
MrczError, after someone replaces the file under it; it never returns bytes of the new file read at
the old file's offsets.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import napari_mrcz as nm

da = pytest.importorskip("dask.array")

SUBPROCESS_TIMEOUT = 120


def digest(array: np.ndarray) -> str:
    """SHA-256 of an array's shape, dtype and bytes (to compare results across processes)."""
    a = np.ascontiguousarray(array)
    return hashlib.sha256(f"{a.shape}{a.dtype.str}".encode() + a.tobytes()).hexdigest()


def counts(shape: tuple[int, ...], seed: int, dtype: Any = np.int16) -> np.ndarray:
    """Poisson counts (exact integer sums, so dask and numpy reductions agree bit for bit)."""
    return np.random.default_rng(seed).poisson(5.0, shape).astype(dtype)


@pytest.fixture(scope="module", params=[None, "zstd"], ids=["plain", "zstd"])
def shared_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A 40-slice int16 file (plain MRC or MRCZ) and the array written to it."""
    data = counts((40, 64, 48), seed=11)
    path = tmp_path_factory.mktemp("shared") / ("shared.mrc" if request.param is None else "shared.mrcz")
    nm.write(path, data, compressor=request.param, metadata={"run": 1})
    return path, data


def test_threads_share_one_lazy_array(shared_file: tuple[Path, np.ndarray]) -> None:
    """16 threads index and reduce one lazy dask array at once; every result is exact."""
    path, data = shared_file
    lazy = nm.read(path, lazy=True).data
    rng = np.random.default_rng(5)
    jobs = [sorted(rng.choice(40, size=int(rng.integers(1, 12)), replace=False).tolist()) for _ in range(32)]
    total = int(data.sum(dtype=np.int64))

    def work(zs: list[int]) -> bool:
        block = lazy[zs].compute(scheduler="threads")
        whole = int(lazy.sum(dtype=np.int64).compute(scheduler="sync")) if len(zs) % 3 == 0 else total
        plane = lazy[zs[0], 10:50, 5:40].compute()
        return (np.array_equal(block, data[zs]) and whole == total
                and np.array_equal(plane, data[zs[0], 10:50, 5:40]))

    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(work, jobs))


@pytest.mark.slow
def test_threads_each_open_the_file(shared_file: tuple[Path, np.ndarray]) -> None:
    """16 threads each open the file lazily and eagerly at the same time."""
    path, data = shared_file

    def work(i: int) -> bool:
        lazy = nm.read(path, lazy=True)
        eager = nm.read(path)
        return (np.array_equal(lazy.data.compute(), data) and np.array_equal(eager.data, data)
                and lazy.metadata == eager.metadata == {"run": 1})

    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(work, range(24)))


_PROCESS_READER = textwrap.dedent(
    """
    import hashlib, json, sys
    import numpy as np
    import napari_mrcz as nm
    lazy = nm.read(sys.argv[1], lazy=True).data
    a = np.ascontiguousarray(lazy.compute())
    z = int(sys.argv[2])
    part = np.ascontiguousarray(lazy[z].compute())
    h = lambda x: hashlib.sha256(f"{x.shape}{x.dtype.str}".encode() + x.tobytes()).hexdigest()
    print(json.dumps([h(a), h(part)]))
    """
)


@pytest.mark.slow
def test_processes_read_one_file_lazily(shared_file: tuple[Path, np.ndarray]) -> None:
    """Three processes read the same file lazily at the same time and agree with the data."""
    path, data = shared_file
    procs = [subprocess.Popen([sys.executable, "-c", _PROCESS_READER, str(path), str(z)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for z in (0, 27, 39)]
    for z, proc in zip((0, 27, 39), procs):
        out, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
        assert proc.returncode == 0, err[-2000:]
        assert json.loads(out) == [digest(data), digest(data[z])]


@pytest.mark.slow
def test_dask_process_scheduler(shared_file: tuple[Path, np.ndarray]) -> None:
    """The lazy array pickles to dask's process pool (each worker reopens the file)."""
    path, data = shared_file
    lazy = nm.read(path, lazy=True).data
    got = lazy.compute(scheduler="processes", num_workers=2)
    assert np.array_equal(got, data)


@pytest.mark.slow
def test_distributed_local_cluster(tmp_path: Path) -> None:
    """A two-process dask.distributed cluster computes reductions and the whole array of a lazily
    read MRCZ file, equal to the eager read."""
    distributed = pytest.importorskip("distributed")
    data = counts((24, 96, 80), seed=3, dtype=np.uint16)
    path = tmp_path / "cluster.mrcz"
    nm.write(path, data, compressor="zstd")
    lazy = nm.read(path, lazy=True).data
    eager = nm.read(path).data
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            total, mean, maximum = client.compute([lazy.sum(dtype=np.int64), lazy.mean(), lazy.max()], sync=True)
            whole = client.compute(lazy, sync=True)
            per_slice = client.compute(lazy.sum(axis=(1, 2), dtype=np.int64), sync=True)
    assert int(total) == int(eager.sum(dtype=np.int64))
    assert float(mean) == pytest.approx(float(eager.mean()), rel=1e-12)
    assert int(maximum) == int(eager.max())
    assert np.array_equal(whole, eager)
    assert np.array_equal(per_slice, eager.sum(axis=(1, 2), dtype=np.int64))


# ------------------------------------------------------------------------------ racing writers


def _candidates() -> dict[str, tuple[np.ndarray, dict[str, Any], str | None]]:
    """Three different files for one path: shapes, dtypes, codecs and metadata all differ, so a
    mix of two would show."""
    return {
        "old": (counts((5, 40, 40), 1, np.uint16), {"who": "old"}, None),
        "A": (counts((12, 64, 64), 2, np.int16), {"who": "A", "pad": "a" * 300}, "zstd"),
        "B": (np.random.default_rng(3).standard_normal((7, 50, 30)).astype(np.float32), {"who": "B"}, "lz4"),
    }


def _identify(path: Path, files: dict[str, tuple[np.ndarray, dict[str, Any], str | None]], lazy: bool = False) -> str:
    """Which candidate the file at ``path`` holds (data, dtype and metadata); raises if none.

    Parameters
    ----------
    path
        The file being raced over.
    files
        From :func:`_candidates`.
    lazy
        Read lazily (one open, then compute) instead of eagerly.
    """
    image = nm.read(path, lazy=lazy)
    got = np.asarray(image.data.compute() if lazy else image.data)
    for name, (data, meta, _) in files.items():
        if got.shape == data.shape and got.dtype == data.dtype and np.array_equal(got, data) and image.metadata == meta:
            return name
    raise AssertionError(
        f"{'lazy' if lazy else 'eager'} read of {path} holds none of the written files, but a mix: "
        f"{got.shape} {got.dtype} {image.metadata}"
    )


def test_two_writer_threads_one_path(tmp_path: Path) -> None:
    """Two threads rewrite one path 15 times each while a third reads it: every read is one whole
    file, the writers never fail, the end result is one writer's array, no temporary is left."""
    files = _candidates()
    path = tmp_path / "race.mrcz"
    data, meta, comp = files["old"]
    nm.write(path, data, metadata=meta, compressor=comp)
    start = threading.Barrier(3)
    stop = threading.Event()
    seen: list[str] = []
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        d, m, c = files[name]
        start.wait()
        for _ in range(15):
            nm.write(path, d, metadata=m, compressor=c)

    def reader() -> None:
        start.wait()
        while not stop.is_set():
            try:
                seen.append(_identify(path, files, lazy=len(seen) % 2 == 1))
            except BaseException as err:  # noqa: BLE001 - reported below
                errors.append(err)
                return

    with ThreadPoolExecutor(3) as pool:
        watcher = pool.submit(reader)
        writers = [pool.submit(writer, n) for n in ("A", "B")]
        for w in writers:
            w.result(timeout=SUBPROCESS_TIMEOUT)
        stop.set()
        watcher.result(timeout=SUBPROCESS_TIMEOUT)
    assert not errors, f"a read during the race failed: {errors[0]!r}"
    assert seen, "the reader never ran"
    assert _identify(path, files) in ("A", "B")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.mrcz"]


_RACING_WRITER = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import napari_mrcz as nm
    path, spec, go = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
    data = np.load(spec["npy"])
    while time.time() < go:
        time.sleep(0.001)
    for _ in range(15):
        nm.write(path, data, metadata=spec["meta"], compressor=spec["comp"])
    print("done")
    """
)


@pytest.mark.slow
def test_two_writer_processes_one_path(tmp_path: Path) -> None:
    """Two processes rewrite one path 15 times each, starting together, while this process reads it:
    every read is one whole file, the end result is one writer's, no temporary is left."""
    files = _candidates()
    path = tmp_path / "race.mrcz"
    data, meta, comp = files["old"]
    nm.write(path, data, metadata=meta, compressor=comp)
    go = time.time() + 3.0  # both interpreters are up by then
    procs = []
    for name in ("A", "B"):
        d, m, c = files[name]
        np.save(tmp_path.parent / f"race-{name}.npy", d)
        spec = json.dumps({"npy": str(tmp_path.parent / f"race-{name}.npy"), "meta": m, "comp": c})
        procs.append(subprocess.Popen([sys.executable, "-c", _RACING_WRITER, str(path), spec, str(go)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    seen: list[str] = []
    while any(p.poll() is None for p in procs):
        seen.append(_identify(path, files, lazy=len(seen) % 2 == 1))
    for proc in procs:
        out, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
        assert proc.returncode == 0 and out.strip() == "done", err[-2000:]
    assert {"A", "B"} & set(seen), "the reads never overlapped the writes"
    assert _identify(path, files) in ("A", "B")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.mrcz"]


# ------------------------------------------------------------- a file replaced under a lazy array


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", ["threads", "processes"])
@pytest.mark.parametrize("compressor", [None, "zstd"], ids=["plain", "zstd"])
def test_lazy_array_after_file_replaced(compressor: str | None, scheduler: str, tmp_path: Path) -> None:
    """A file replaced (atomically, by our writer) after a lazy open: computing the old lazy array
    gives the old data or raises MrczError, never the new file's bytes read at the old layout."""
    path = tmp_path / "replaced.mrc"
    old = counts((6, 32, 32), 8, np.int16)
    nm.write(path, old, compressor=compressor)
    lazy = nm.read(path, lazy=True).data
    new = counts((6, 32, 32), 9, np.int16) + 1000
    nm.write(path, new, compressor=compressor, metadata={"shifts the data by": "x" * 64})
    try:
        got = lazy.compute(scheduler=scheduler)
    except nm.MrczError:
        return
    assert np.array_equal(got, old), (
        f"the lazy array of the replaced file returned neither its data nor an error "
        f"(equal to the new data: {np.array_equal(got, new)})"
    )


def test_close_while_other_threads_read(tmp_path: Path) -> None:
    """close() from one thread while others read (napari closes a file its background jobs still read):
    the reads in flight finish on their descriptor, later reads reopen the file, nothing fails."""
    import threading

    data = np.arange(64 * 256 * 256, dtype=np.uint16).reshape(64, 256, 256)
    for name in ("c.mrc", "c.mrcz"):
        info = nm.open_mrc(nm.write(tmp_path / name, data))
        errors: list[BaseException] = []
        stop = threading.Event()

        def reader() -> None:
            try:
                while not stop.is_set():
                    z = int(np.random.default_rng().integers(0, 64))
                    assert np.array_equal(info.read_slices(z, z + 1)[0], data[z])
            except BaseException as err:  # noqa: BLE001 - reported by the test
                errors.append(err)

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        for _ in range(300):
            info.close()
        stop.set()
        for t in threads:
            t.join()
        assert not errors, errors[0]
