"""The mount: a sequential read (1 MiB reads) of a mounted tomogram's plain view, against
``napari_mrcz.read`` of the same .mrcz and against reading the plain .mrc from a warm page cache.

Each mount round mounts afresh (startup not timed) so neither our slice cache nor the kernel's page
cache holds the file; the plain .mrc is read once untimed first, so its rounds are page-cache reads.
Skipped (with the reason) where there is no /dev/fuse, fusermount3 or mfusepy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

import _data
import napari_mrcz as nm
from napari_mrcz.io.writer.plain_view import DEFAULT_CACHE_BYTES, DEFAULT_READAHEAD_BYTES

READ_BYTES = 2**20


def _read_all(path: Path) -> int:
    buf = bytearray(READ_BYTES)
    done = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            got = f.readinto(buf)
            if not got:
                return done
            done += got


def available() -> str | None:
    """Why the mount cannot be measured here, or None."""
    if not os.path.exists("/dev/fuse") or shutil.which("fusermount3") is None:
        return "no /dev/fuse or fusermount3"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as err:
        return f"mfusepy unusable: {err}"
    return None


def bench(tmp: Path, small: bool, rounds: int, threads: int) -> dict:
    """Best-of-``rounds`` seconds and MB/s of the three reads, their ratios and the settings."""
    why = available()
    if why:
        return {"skipped": why}
    shape = (32, 256, 256) if small else (256, 1024, 1024)  # 8 MiB / 1 GiB float32 (zstd-1)
    shape = tuple(int(v) for v in os.environ.get("NAPARI_MRCZ_BENCH_MOUNT_SHAPE", "").split(",") if v) or shape
    folder = tmp / "mount_src"
    folder.mkdir()
    nm.write(folder / "tomo.mrcz", _data.make_dask("tomo", shape))
    nm.write(tmp / "tomo.mrc", nm.read(folder / "tomo.mrcz").data)
    nbytes = int(np.prod(shape)) * 4
    settings = {"cache_bytes": DEFAULT_CACHE_BYTES, "readahead": DEFAULT_READAHEAD_BYTES, "workers": threads}

    def mounted() -> float:
        mnt = Path(tempfile.mkdtemp(prefix="mnt-", dir=tmp))
        with nm.mount(folder, mnt, cache_bytes=settings["cache_bytes"], readahead=settings["readahead"],
                      workers=threads) as root:
            start = time.perf_counter()
            got = _read_all(root / "tomo.mrc")
            took = time.perf_counter() - start
        mnt.rmdir()
        assert got == (tmp / "tomo.mrc").stat().st_size
        return took

    def timed(func: Callable[[], object]) -> float:
        start = time.perf_counter()
        func()
        return time.perf_counter() - start

    _read_all(tmp / "tomo.mrc")  # warm the page cache
    best: dict[str, float] = {"mount": float("inf"), "direct": float("inf"), "plain_warm": float("inf")}
    for _ in range(max(1, min(rounds, 3))):
        best["mount"] = min(best["mount"], mounted())
        best["direct"] = min(best["direct"], timed(lambda: nm.read(folder / "tomo.mrcz")))
        best["plain_warm"] = min(best["plain_warm"], timed(lambda: _read_all(tmp / "tomo.mrc")))
    return {
        "shape": list(shape),
        "nbytes": nbytes,
        "seconds": best,
        "mb_s": {k: nbytes / v / 1e6 for k, v in best.items()},
        "mount_vs_direct": best["direct"] / best["mount"],
        "mount_vs_plain_warm": best["plain_warm"] / best["mount"],
        "settings": settings,
    }


def targets(res: dict, check: Callable) -> None:
    """Register the mount's target with run.py's ``check``."""
    if "skipped" not in res:
        check("tomo", "mounted sequential read vs napari_mrcz.read ≥ 0.5×", res["mount_vs_direct"], 0.5)


def report(res: dict) -> list[str]:
    """Lines for the printed report."""
    if "skipped" in res:
        return [f"mount: skipped ({res['skipped']})"]
    s, mb = res["settings"], res["mb_s"]
    return [
        f"mount: sequential 1 MiB reads of a float32 tomogram {'×'.join(map(str, res['shape']))} (zstd-1), "
        f"cache {s['cache_bytes'] >> 20} MiB, read-ahead {s['readahead'] >> 20} MiB, {s['workers']} decode threads",
        f"  mounted .mrc   {mb['mount']:8.0f} MB/s",
        f"  nm.read .mrcz  {mb['direct']:8.0f} MB/s   mount = {res['mount_vs_direct']:.2f}× of it",
        f"  plain .mrc warm{mb['plain_warm']:8.0f} MB/s   mount = {res['mount_vs_plain_warm']:.2f}× of it",
    ]
