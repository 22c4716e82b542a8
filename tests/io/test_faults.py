"""Fault injection on writes: disk full, permission denied, an exception inside a dask chunk, a
killed process.

In every case the file already at the target path keeps its bytes, no temporary file is left in the
folder (except after SIGKILL, which no code can clean up after: there only the target is checked),
and the error reaches the caller: from :func:`napari_mrcz.write`, from ``write_async(...).result()``,
from a streaming :class:`~napari_mrcz.MrczWriter`, and from the napari writer (through npe2).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import napari_mrcz as nm

SUBPROCESS_TIMEOUT = 120
OLD = np.arange(2 * 8 * 8, dtype=np.float32).reshape(2, 8, 8)  # what the target holds before each fault


def make_target(folder: Path, name: str = "target.mrcz") -> tuple[Path, bytes]:
    """Write the 'old' file a failed write must leave alone; returns its path and bytes."""
    path = folder / name
    nm.write(path, OLD)
    return path, path.read_bytes()


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    """Names in ``folder`` other than ``keep`` (temporary files a failed write left behind)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def assert_untouched(path: Path, old: bytes) -> None:
    """The target has its old bytes and still reads as the old array."""
    assert path.read_bytes() == old, f"{path} was changed by a failed write"
    assert np.array_equal(nm.read(path).data, OLD)


# ---------------------------------------------------------------------------------------- writers


class ChunkBoom(RuntimeError):
    """Raised from inside one dask chunk."""


def _write_sync(path: Path, data: Any, **options: Any) -> None:
    nm.write(path, data, **options)


def _write_async(path: Path, data: Any, **options: Any) -> None:
    nm.write_async(path, data, **options).result(timeout=SUBPROCESS_TIMEOUT)


def _write_streaming(path: Path, data: Any, **options: Any) -> None:
    with nm.MrczWriter(path, **options) as writer:
        for z in range(data.shape[0]):
            writer.write(np.asarray(data[z]))


def _write_napari(path: Path, data: Any, **options: Any) -> None:
    """The napari writer hook, found and called through npe2 as napari does on File > Save."""
    npe2 = pytest.importorskip("npe2")
    pytest.importorskip("napari")
    manager = npe2.PluginManager.instance()
    manager.discover()
    if "napari-mrcz" not in {m.name for m in manager.iter_manifests()}:
        pytest.skip("the napari-mrcz manifest is not installed (pip install -e .)")
    ext = ".mrc" if options.get("compressor", "zstd") is None else ".mrcz"
    npe2.write(str(path.with_suffix(ext)), [(data, {"name": "fault"}, "image")], plugin_name="napari-mrcz")


WRITERS: dict[str, Callable[..., None]] = {
    "write": _write_sync,
    "write_async": _write_async,
    "MrczWriter": _write_streaming,
    "napari": _write_napari,
}


# -------------------------------------------------------------------- an exception in a dask chunk


def failing_dask(nz: int, bad: int) -> Any:
    """A (nz, 32, 32) float32 dask array, one chunk per slice, whose chunk ``bad`` raises ChunkBoom."""
    da = pytest.importorskip("dask.array")

    def block(b: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        assert block_info is not None
        if block_info[0]["chunk-location"][0] == bad:
            raise ChunkBoom(f"chunk {bad} failed")
        return b + block_info[0]["chunk-location"][0]

    return da.zeros((nz, 32, 32), chunks=(1, 32, 32), dtype=np.float32).map_blocks(block, dtype=np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("bad", [0, 5, 11], ids=["first", "middle", "last"])
@pytest.mark.parametrize("compressor", [None, "zstd"], ids=["plain", "zstd"])
def test_exception_inside_dask_chunk(writer: str, bad: int, compressor: str | None, tmp_path: Path) -> None:
    """The chunk's own exception reaches the caller; the old file is intact; no temporary is left."""
    ext = ".mrc" if compressor is None else ".mrcz"
    target, old = make_target(tmp_path, "target" + ext)
    with pytest.raises(ChunkBoom, match=f"chunk {bad} failed"):
        WRITERS[writer](target, failing_dask(12, bad), compressor=compressor)
    assert_untouched(target, old)
    assert leftovers(tmp_path, {target.name}) == []


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit, ChunkBoom])
def test_streaming_writer_aborts_on_any_exception(interrupt: type[BaseException], tmp_path: Path) -> None:
    """Leaving a MrczWriter block by any exception (Ctrl-C included) discards the temporary."""
    target, old = make_target(tmp_path)
    with pytest.raises(interrupt):
        with nm.MrczWriter(target) as writer:
            writer.write(np.ones((3, 8, 8), np.float32))
            raise interrupt()
    assert_untouched(target, old)
    assert leftovers(tmp_path, {target.name}) == []


# ------------------------------------------------------------------- disk full: RLIMIT_FSIZE (EFBIG)

_FSIZE_RUNNER = textwrap.dedent(
    """
    import json, os, resource, signal, sys, traceback
    from pathlib import Path
    import numpy as np
    import napari_mrcz as nm

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills us instead of failing write()
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    old_data = np.arange(2 * 8 * 8, dtype=np.float32).reshape(2, 8, 8)
    new_data = np.random.default_rng(1).standard_normal((16, 64, 64)).astype(np.float32)
    big_meta = {"notes": "x" * 100_000}

    def streaming(path, data, **kw):
        with nm.MrczWriter(path, **kw) as w:
            for plane in data:
                w.write(plane)

    apis = {"write": nm.write, "write_async": lambda p, d, **kw: nm.write_async(p, d, **kw).result(),
            "MrczWriter": streaming}
    results = {}
    for compressor in (None, "zstd"):
        probe = folder / "probe"
        nm.write(probe, new_data, compressor=compressor)
        full = probe.stat().st_size
        probe.unlink()
        for stage, limit, meta in (("metadata", 20_000, big_meta), ("data", full // 3, None),
                                   ("close", full - 100, None)):
            for api, call in apis.items():
                case = f"{compressor or 'plain'}-{stage}-{api}"
                sub = folder / case
                sub.mkdir()
                target = sub / "target.mrcz"
                nm.write(target, old_data)
                old = target.read_bytes()
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
                try:
                    call(target, new_data, compressor=compressor, metadata=meta)
                    raised = None
                except BaseException as err:
                    raised = (type(err).__name__, getattr(err, "errno", None), str(err),
                              traceback.format_exc()[-1500:])
                finally:
                    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                results[case] = {
                    "raised": raised,
                    "old_intact": target.read_bytes() == old,
                    "leftovers": sorted(p.name for p in sub.iterdir() if p.name != "target.mrcz"),
                }
    out.write_text(json.dumps(results))
    """
)


@pytest.fixture(scope="module")
def fsize_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Writes that hit RLIMIT_FSIZE (EFBIG) at the metadata, in the data and at close, run once in
    a subprocess (the limit and SIGXFSZ are per process)."""
    folder = tmp_path_factory.mktemp("fsize")
    out = folder / "results.json"
    proc = subprocess.run([sys.executable, "-c", _FSIZE_RUNNER, str(folder), str(out)],
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    assert proc.returncode == 0, f"the RLIMIT_FSIZE runner died ({proc.returncode}): {proc.stderr[-3000:]}"
    return json.loads(out.read_text())


@pytest.mark.parametrize("api", ["write", "write_async", "MrczWriter"])
@pytest.mark.parametrize("stage", ["metadata", "data", "close"])
@pytest.mark.parametrize("compressor", ["plain", "zstd"])
def test_file_size_limit(compressor: str, stage: str, api: str, fsize_results: dict[str, dict[str, Any]]) -> None:
    """A write that exceeds the file-size limit raises OSError(EFBIG) to the caller, leaves the old
    file intact and no temporary behind."""
    got = fsize_results[f"{compressor}-{stage}-{api}"]
    assert got["raised"] is not None, "the write succeeded beyond the file-size limit"
    name, code, message, trace = got["raised"]
    assert code == errno.EFBIG, f"{name} (errno {code}) instead of OSError EFBIG: {message}\n{trace}"
    assert got["old_intact"], "the old file at the target was changed"
    assert got["leftovers"] == [], f"temporary files left behind: {got['leftovers']}\n{trace}"


# -------------------------------------------------------------------------- disk full: tiny tmpfs


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted in ``tmp_path`` (skips unless mount is permitted, e.g. as root)."""
    mount, umount = shutil.which("mount"), shutil.which("umount")
    point = tmp_path / "tiny"
    point.mkdir()
    if mount is None or umount is None:
        pytest.skip("no mount/umount command")
    proc = subprocess.run([mount, "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(point)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run([umount, "-l", str(point)], capture_output=True)


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("compressor", [None, "zstd"], ids=["plain", "zstd"])
def test_disk_full_tmpfs(writer: str, compressor: str | None, tiny_tmpfs: Path) -> None:
    """Filling a real (1 MiB) filesystem raises OSError(ENOSPC); the old file is intact; the folder
    holds nothing new, and its space is free again."""
    ext = ".mrc" if compressor is None else ".mrcz"
    target, old = make_target(tiny_tmpfs, "target" + ext)
    free_before = shutil.disk_usage(tiny_tmpfs).free
    data = np.random.default_rng(3).standard_normal((24, 128, 128)).astype(np.float32)  # 1.5 MiB, incompressible
    with pytest.raises(OSError) as info:
        WRITERS[writer](target, data, compressor=compressor)
    assert info.value.errno == errno.ENOSPC, info.value
    assert_untouched(target, old)
    assert leftovers(tiny_tmpfs, {target.name}) == []
    assert shutil.disk_usage(tiny_tmpfs).free == free_before


# --------------------------------------------------------------------------------- permission denied


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder holding an old target file, in which no file can be created.

    Not root: mode 0555. Root bypasses modes, so there the folder is made immutable with
    ``chattr +i`` (skipped where the filesystem or the container does not allow it).
    """
    folder = tmp_path / "ro"
    folder.mkdir()
    make_target(folder)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    proc = subprocess.run([chattr, "+i", str(folder)], capture_output=True, text=True) if chattr else None
    if proc is None or proc.returncode != 0:
        pytest.skip(f"running as root and chattr +i is unavailable: {proc.stderr.strip() if proc else 'no chattr'}")
    try:
        yield folder
    finally:
        subprocess.run([chattr, "-i", str(folder)], capture_output=True)


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_permission_denied(writer: str, read_only_folder: Path) -> None:
    """Writing into a folder where files cannot be created raises PermissionError to the caller and
    changes nothing."""
    target = read_only_folder / "target.mrcz"
    old = target.read_bytes()
    with pytest.raises(PermissionError):
        WRITERS[writer](target, np.ones((3, 8, 8), np.float32))
    assert_untouched(target, old)
    assert leftovers(read_only_folder, {target.name}) == []


# ------------------------------------------------------------------------------ SIGKILL mid-write

_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import dask.array as da
    import napari_mrcz as nm

    def slow(block, block_info=None):
        time.sleep(0.02)
        z = block_info[0]["chunk-location"][0]
        return block + np.random.default_rng(z).standard_normal(block.shape).astype(np.float32)

    data = da.zeros((500, 128, 128), chunks=(1, 128, 128), dtype=np.float32).map_blocks(slow, dtype=np.float32)
    print("writing", flush=True)
    nm.write(sys.argv[1], data, compressor=sys.argv[2] if sys.argv[2] != "none" else None)
    print("finished", flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("compressor", ["none", "zstd"])
def test_sigkill_mid_write_leaves_target_intact(compressor: str, tmp_path: Path) -> None:
    """SIGKILL while a large dask array streams to disk: the target keeps its old bytes and reads;
    the only thing left behind is the writer's own ``.<name>.*.part`` temporary."""
    target, old = make_target(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(target), compressor],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        part: list[Path] = []
        while time.monotonic() < deadline and proc.poll() is None:
            part = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
            if part and part[0].stat().st_size > 256 * 1024:  # some slices are on disk
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"the writer ended before it could be killed: {proc.communicate()}"
        assert part, "no temporary file appeared beside the target"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert_untouched(target, old)
    left = leftovers(tmp_path, {target.name})
    assert all(name.startswith(f".{target.name}.") and name.endswith(".part") for name in left), left
    assert len(left) <= 1, left
    # the stale temporary does not stop the next write, which leaves only its own result
    nm.write(target, np.ones((2, 4, 4), np.float32))
    assert np.array_equal(nm.read(target).data, np.ones((2, 4, 4), np.float32))
    assert leftovers(tmp_path, {target.name}) == left
