"""Remote reads: open and one-slice latency over HTTP with an added delay per request.

A loopback HTTP server (the tests' ``loopback_http.LoopbackServer``) adds ``DELAY_S`` to every request,
standing in for a server 20 ms away. Each file kind is opened lazily (``open_mrc(url)``) and one
middle z-slice read (``read_slices``); the requests and bytes the server sent are counted. Compared:
plain MRC, our MRCZ (with its seek table) and the same data written by mrcz (no table: the open walks
the chunk headers with read-ahead blocks).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import mrcz
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from loopback_http import LoopbackServer  # noqa: E402

import napari_mrcz as nm  # noqa: E402

DELAY_S = 0.02


def bench(tmp: Path, small: bool, rounds: int) -> dict:
    """Best-of-``rounds`` open and slice times (s), request counts and bytes per file kind."""
    shape = (32, 128, 128) if small else (256, 256, 256)
    rng = np.random.default_rng(1)
    data = (rng.normal(size=shape) * 10).astype(np.int16)  # counts-like, compresses ~2×
    folder = tmp / "remote"
    folder.mkdir()
    nm.write(folder / "plain.mrc", data, compressor=None)
    nm.write(folder / "table.mrcz", data, compressor="zstd")
    mrcz.writeMRC(data, str(folder / "no_table.mrcz"), compressor="zstd", clevel=1)
    out: dict = {"shape": list(shape), "dtype": str(data.dtype), "delay_ms": DELAY_S * 1e3, "files": {}}
    with LoopbackServer(folder, delay=DELAY_S) as srv:
        nm.open_mrc(srv.url("plain.mrc"))  # warm-up: imports fsspec and aiohttp, starts the session
        for name in ("plain.mrc", "table.mrcz", "no_table.mrcz"):
            url, best = srv.url(name), {}
            for _ in range(rounds):
                srv.reset()
                t0 = time.perf_counter()
                info = nm.open_mrc(url)
                opened = time.perf_counter() - t0
                open_requests, open_bytes = len(srv.requests), srv.bytes_sent
                info.close()  # drop the cached first block: the slice comes from the server
                srv.reset()
                t0 = time.perf_counter()
                info.read_slices(shape[0] // 2, shape[0] // 2 + 1)
                sliced = time.perf_counter() - t0
                if not best or opened + sliced < best["open_s"] + best["slice_s"]:
                    best = {"open_s": opened, "open_requests": open_requests, "open_bytes": open_bytes,
                            "slice_s": sliced, "slice_requests": len(srv.requests)}
            best["file_bytes"] = (folder / name).stat().st_size
            out["files"][name] = best
    return out


def report(res: dict) -> list[str]:
    lines = [f"remote (HTTP on 127.0.0.1 with {res['delay_ms']:.0f} ms added per request): "
             f"{'×'.join(map(str, res['shape']))} {res['dtype']}",
             f"  {'file':15}{'open ms':>9}{'requests':>9}{'MB moved':>9}{'/ file':>7} │{'slice ms':>9}{'requests':>9}"]
    for name, r in res["files"].items():
        lines.append(f"  {name:15}{r['open_s'] * 1e3:9.0f}{r['open_requests']:9d}{r['open_bytes'] / 1e6:9.2f}"
                     f"{r['open_bytes'] / r['file_bytes']:7.2f} │{r['slice_s'] * 1e3:9.0f}{r['slice_requests']:9d}")
    return lines
