"""The evidence behind the defaults (``run.py --tune``): shuffle × block size per codec and data kind,
and the thread count.

Codec speed is measured as single-thread CPU time (``time.thread_time``), which a busy neighbour on a
shared machine disturbs far less than wall time; the thread sweep is wall time, best of the rounds.
"""

from __future__ import annotations

import time
from pathlib import Path

import blosc
import blosc2
import numpy as np

import napari_mrcz
from _peers import blosc_globals_restored  # noqa: E402 (bench/ is on sys.path)

SHUFFLES = {"bit": blosc.BITSHUFFLE, "byte": blosc.SHUFFLE}
BLOCKSIZES = (0, 2**16, 2**17, 2**18, 2**19, 2**20)
CODECS = (("zstd", 1), ("lz4", 9))
THREADS = (1, 2, 4)


def codec_sweep(arr: np.ndarray, rounds: int) -> list[dict]:
    """Ratio and one-thread compress/decompress MB/s for every shuffle × block size × codec."""
    out = np.empty_like(arr)
    flat = out.reshape(len(out), -1).view(np.uint8)
    rows = []
    for (cname, clevel), (sname, shuffle), block in (
        (c, s, b) for c in CODECS for s in SHUFFLES.items() for b in BLOCKSIZES
    ):
        comp = dec = float("inf")
        with blosc_globals_restored():
            blosc.set_nthreads(1)
            blosc.set_blocksize(block)
            for _ in range(rounds):
                start = time.thread_time()
                chunks = [blosc.compress_ptr(p.ctypes.data, p.size, p.itemsize, clevel, shuffle, cname) for p in arr]
                comp = min(comp, time.thread_time() - start)
                start = time.thread_time()
                for chunk, dst in zip(chunks, flat):
                    blosc2.decompress2(chunk, dst=dst, nthreads=1)
                dec = min(dec, time.thread_time() - start)
        rows.append({"codec": f"{cname}-{clevel}", "shuffle": sname, "blocksize": block,
                     "blocksize_used": int.from_bytes(chunks[0][8:12], "little"),
                     "ratio": arr.nbytes / sum(map(len, chunks)),
                     "compress_mb_s_1thread": arr.nbytes / comp / 1e6, "decompress_mb_s_1thread": arr.nbytes / dec / 1e6})
    return rows


def thread_sweep(arr: np.ndarray, tmp: Path, rounds: int, best_of) -> dict:
    """Write (zstd-1) and read MB/s of our defaults with n_threads = 1, 2, 4."""
    path = tmp / "threads.mrcz"
    napari_mrcz.write(path, arr)
    timed_w = best_of({n: (lambda n=n: napari_mrcz.write(tmp / f"w{n}.mrcz", arr, n_threads=n)) for n in THREADS}, rounds)
    timed_r = best_of({n: (lambda n=n: napari_mrcz.read(path, n_threads=n)) for n in THREADS}, rounds)
    return {"write": {n: arr.nbytes / t["best"] / 1e6 for n, t in timed_w.items()},
            "read": {n: arr.nbytes / t["best"] / 1e6 for n, t in timed_r.items()}}


def report(kind: str, tuning: dict) -> list[str]:
    lines = [f"{kind}: ratio / 1-thread compress MB/s / 1-thread decompress MB/s, by block size "
             f"({', '.join('auto' if b == 0 else f'{b // 1024}K' for b in BLOCKSIZES)}; lz4 scales forced sizes)"]
    for cname, clevel in CODECS:
        for sname in SHUFFLES:
            cells = [r for r in tuning["codec"] if r["codec"] == f"{cname}-{clevel}" and r["shuffle"] == sname]
            text = "  ".join(f"{r['ratio']:.2f}/{r['compress_mb_s_1thread']:.0f}/{r['decompress_mb_s_1thread']:.0f}"
                             for r in cells)
            lines.append(f"  {cname}-{clevel} {sname:4} {text}")
    th = tuning["threads"]
    lines.append("  n_threads " + ", ".join(f"{n}: write {th['write'][n]:.0f} read {th['read'][n]:.0f}" for n in THREADS)
                 + " MB/s")
    return lines
