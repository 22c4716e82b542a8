#!/usr/bin/env python
"""napari-mrcz benchmark: ours vs ``mrcz`` vs ``mrcfile`` vs blosc's own limit, side by side.

    python bench/run.py [--small] [--repeats N] [--kinds movie,tomo,counts] [--out bench/results.json] [--tune]

Data is generated on the fly (``_data.py``), files go to a temporary folder that is removed at the end,
and every number of one kind comes from the same process and the same run: the tools are timed in
interleaved rounds and the best round of each is kept, so a noisy neighbour slows all of them alike.
Peak memory is measured in a fresh child process per case (``_memory.py``). ``--tune`` adds the sweep
behind the defaults (shuffle × block size × codec, thread count: ``_tune.py``). Missed targets are
reported, never fatal: the exit status is 0 unless something crashes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # the checkout this script is in, even where another copy is installed
import napari_mrcz  # noqa: E402

import numpy as np

import _bigdata
import _pyramid
import _data
import _mount
import _peers
import _precision
import _startup
from napari_mrcz.io.codec.blosc import default_threads
from napari_mrcz.io.reader.file import open_mrc

CODECS = (("zstd", 1), ("lz4", 9))
MB = 1e6
BUDGET_SLICES, BUDGET_MIB = 8, 64  # streaming-write memory budget: 8 slices or 64 MiB, the larger


def _cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (0 where getrusage is missing)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def best_of(funcs: dict, rounds: int) -> dict:
    """Time every function once per round, rotating the order; best and median seconds of each, and
    the least CPU time (all threads) one call took: on a shared machine the steadier measure of work.

    Each call starts with no dirty pages in the page cache (``os.sync``, untimed), so a tool that
    leaves its file to the kernel's background writeback does not slow the next one down.
    """
    times: dict = {name: [] for name in funcs}
    cpu: dict = {name: [] for name in funcs}
    names = list(funcs)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            gc.collect()
            if hasattr(os, "sync"):
                os.sync()
            used = _cpu_seconds()
            start = time.perf_counter()
            funcs[name]()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(_cpu_seconds() - used)
    return {name: {"best": min(t), "median": float(np.median(t)), "cpu": min(cpu[name])} for name, t in times.items()}


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 0
    versions = {}
    for name in ("napari-mrcz", "numpy", "dask", "blosc", "blosc2", "mrcz", "mrcfile"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "?"
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "usable_cores": default_threads(),
            "ram_gib": round(ram / 2**30, 1), "os": platform.platform(), "python": platform.python_version(),
            "versions": versions}


def child(case: dict) -> dict:
    """Run one memory case in a fresh interpreter."""
    out = subprocess.run([sys.executable, str(HERE / "_memory.py"), json.dumps(case)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_kind(kind: str, small: bool, rounds: int, threads: int, tmp: Path, tune: bool) -> dict:
    spec = _data.KINDS[kind]
    shape = spec.small if small else spec.full
    arr = _data.make_array(kind, shape)
    nbytes = arr.nbytes
    res: dict = {"description": spec.description, "shape": list(shape), "dtype": spec.dtype, "nbytes": nbytes,
                 "load_before": os.getloadavg()[0] if hasattr(os, "getloadavg") else None, "rows": {}}
    ours_path, mrcz_path, plain_path = tmp / f"{kind}.mrcz", tmp / f"{kind}-mrcz.mrcz", tmp / f"{kind}.mrc"

    def row(name: str, timed: dict, extra: dict | None = None) -> None:
        res["rows"][name] = {tool: {"seconds": t["best"], "median_seconds": t["median"], "cpu_seconds": t["cpu"],
                                    "mb_per_s": nbytes / t["best"] / MB} for tool, t in timed.items()}
        res["rows"][name].update(extra or {})

    def ours_write_no_fsync(**kw):  # what our durability (fsync before the rename) costs
        with mock.patch.object(os, "fsync", lambda fd: None), \
                mock.patch.object(os, "fdatasync", lambda fd: None, create=True):
            napari_mrcz.write(ours_path, arr, **kw)

    for cname, clevel in CODECS:
        label = f"{cname}-{clevel}"
        shuffle, blocksize = _peers.our_settings(arr, cname, clevel)
        limit = _peers.BloscLimit(arr, cname, clevel, shuffle, threads, blocksize)
        t = best_of({
            "ours": lambda: napari_mrcz.write(ours_path, arr, compressor=cname, clevel=clevel),
            "ours_no_fsync": lambda: ours_write_no_fsync(compressor=cname, clevel=clevel),
            "ours_stats": lambda: napari_mrcz.write(ours_path, arr, compressor=cname, clevel=clevel, stats=True),
            "mrcz": lambda: _peers.mrcz_write(mrcz_path, arr, cname, clevel, threads),
            "limit_split": limit.compress_split,
            "limit_pool": limit.compress_pool,
        }, rounds)
        t["limit"] = min(t["limit_split"], t["limit_pool"], key=lambda v: v["best"])
        row(f"write {label}", t, {"ratio_ours": nbytes / (ours_path.stat().st_size - 1024),
                                   "ratio_mrcz": nbytes / (mrcz_path.stat().st_size - 1024),
                                   "shuffle": shuffle, "blocksize": blocksize})
        assert np.array_equal(napari_mrcz.read(ours_path).data, arr)
        assert np.array_equal(_peers.mrcz_read(ours_path, threads), arr)
        t = best_of({
            "ours": lambda: napari_mrcz.read(ours_path).data,
            "mrcz": lambda: _peers.mrcz_read(ours_path, threads),
            "mrcz_own_file": lambda: _peers.mrcz_read(mrcz_path, threads),  # mrcz's own blocks and shuffle
            "limit_split": limit.decompress_split,
            "limit_pool": limit.decompress_pool,
            "limit_fresh": limit.decompress_fresh,
        }, rounds)
        t["limit"] = min(t["limit_split"], t["limit_pool"], key=lambda v: v["best"])
        row(f"read {label}", t)
        if cname == "zstd":
            res["lazy"] = bench_lazy(ours_path, limit, arr, max(rounds, 20))
            res["lazy"]["full_read_seconds"] = t["ours"]["best"]

    t = best_of({
        "ours": lambda: napari_mrcz.write(plain_path, arr, compressor=None),
        "ours_no_fsync": lambda: ours_write_no_fsync(compressor=None),
        "mrcfile": lambda: _peers.mrcfile_write(tmp / "mrcfile.mrc", arr),
        "mrcz": lambda: _peers.mrcz_write(tmp / "mrcz.mrc", arr, None, 0, threads),
    }, rounds)
    row("write plain", t)
    assert np.array_equal(_peers.mrcfile_read(plain_path), arr)
    t = best_of({
        "ours": lambda: napari_mrcz.read(plain_path).data,
        "mrcfile": lambda: _peers.mrcfile_read(plain_path),
        "mrcz": lambda: _peers.mrcz_read(plain_path, threads),
    }, rounds)
    row("read plain", t)
    if kind == "tomo":
        res["precision"] = _precision.bench(arr, _data.TOMO_NOISE, tmp, rounds, best_of)
    if tune:
        import _tune

        res["tuning"] = {"codec": _tune.codec_sweep(arr, max(2, rounds // 2)),
                         "threads": _tune.thread_sweep(arr, tmp, rounds, best_of)}
    for path in tmp.iterdir():
        path.unlink()
    del arr, limit
    gc.collect()
    res["memory"] = bench_memory(kind, shape, small, tmp, max(rounds, 20))
    res["load_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return res


def bench_lazy(path: Path, limit: _peers.BloscLimit, arr: np.ndarray, rounds: int) -> dict:
    """Lazy open, and one slice (through dask, and straight from the file) vs one chunk's decompression."""
    z = len(arr) // 2
    image = napari_mrcz.read(path, lazy=True)
    info = open_mrc(path)
    assert np.array_equal(np.asarray(image.data[z]), arr[z])
    t = best_of({
        "lazy_open": lambda: napari_mrcz.read(path, lazy=True),
        "slice_dask": lambda: image.data[z].compute(),
        "slice_direct": lambda: info.read_slices(z, z + 1),
        "chunk_decompress": lambda: limit.decompress_one(z),
    }, rounds)
    info.close()
    return {name: v["best"] for name, v in t.items()}


def bench_memory(kind: str, shape: tuple, small: bool, tmp: Path, rounds: int) -> dict:
    """Streaming write of a dask array of ~1 GiB (a few MiB with --small), then lazy open and one slice
    of the file it made, each in its own child process; and lazy open time of that file."""
    spec = _data.KINDS[kind]
    big_shape = (spec.stream_nz[1 if small else 0], *shape[1:])
    slice_bytes = int(np.prod(shape[1:])) * np.dtype(spec.dtype).itemsize
    big = tmp / f"{kind}-stream.mrcz"
    common = {"kind": kind, "shape": list(big_shape)}
    out = {"stream_shape": list(big_shape), "stream_nbytes": slice_bytes * big_shape[0],
           "slice_nbytes": slice_bytes, "budget_nbytes": max(BUDGET_SLICES * slice_bytes, BUDGET_MIB * 2**20)}
    out["stream_write"] = child({"case": "stream_write", "path": str(big), "compressor": "zstd", "clevel": 1,
                                 **common})
    out["stream_source"] = child({"case": "stream_source", **common})
    if big.exists():
        out["file_nbytes"] = big.stat().st_size
        out["lazy_open"] = child({"case": "lazy_open", "path": str(big)})
        out["one_slice"] = child({"case": "one_slice", "path": str(big), "z": big_shape[0] // 2})
        t = best_of({"lazy_open": lambda: napari_mrcz.read(big, lazy=True)}, rounds)
        out["lazy_open_seconds"] = t["lazy_open"]["best"]
        big.unlink()
    return out


# ---------------------------------------------------------------- report


def ratio(row: dict, a: str, b: str) -> float | None:
    if a in row and b in row:
        return row[a]["mb_per_s"] / row[b]["mb_per_s"]
    return None


def cpu_ratio(row: dict, a: str, b: str) -> float | None:
    """How many times less CPU ``a`` used than ``b`` (all threads, best call of each)."""
    if a in row and b in row and row[a].get("cpu_seconds"):
        return row[b]["cpu_seconds"] / row[a]["cpu_seconds"]
    return None


def targets(results: dict) -> list[dict]:
    """Each target of the issue, with the measured value and whether it is met."""
    found = []

    def check(kind: str, what: str, value: float | None, goal: float, above: bool = True, unit: str = "×"):
        if value is None:
            return
        met = value >= goal if above else value < goal
        found.append({"kind": kind, "target": what, "value": value, "goal": goal, "unit": unit, "met": met})

    for kind, res in results["kinds"].items():
        rows = res["rows"]
        for cname, clevel in CODECS:
            label = f"{cname}-{clevel}"
            check(kind, f"read {label} vs mrcz ≥ 1.3×", ratio(rows[f"read {label}"], "ours", "mrcz"), 1.3)
            check(kind, f"read {label} vs limit ≥ 0.9×", ratio(rows[f"read {label}"], "ours", "limit"), 0.9)
            check(kind, f"read {label} vs limit into fresh memory ≥ 0.9×",
                  ratio(rows[f"read {label}"], "ours", "limit_fresh"), 0.9)
            check(kind, f"write {label} vs mrcz ≥ 1.1×", ratio(rows[f"write {label}"], "ours", "mrcz"), 1.1)
            check(kind, f"write {label} vs limit ≥ 0.9×", ratio(rows[f"write {label}"], "ours", "limit"), 0.9)
        check(kind, "read plain vs mrcfile ≥ 1.5×", ratio(rows["read plain"], "ours", "mrcfile"), 1.5)
        check(kind, "write plain vs mrcfile ≥ 3×", ratio(rows["write plain"], "ours", "mrcfile"), 3)
        check(kind, "write plain vs mrcz ≥ 0.75×", ratio(rows["write plain"], "ours", "mrcz"), 0.75)
        lazy, mem = res["lazy"], res["memory"]
        if "lazy_open_seconds" in mem:
            gb = mem["stream_nbytes"] / 1e9
            check(kind, f"lazy open of a {gb:.2f} GB MRCZ < 50 ms", mem["lazy_open_seconds"] * 1e3, 50,
                  above=False, unit=" ms")
        check(kind, "one slice (dask) < 2× one chunk's decompression",
              lazy["slice_dask"] / lazy["chunk_decompress"], 2, above=False)
        check(kind, "one slice (direct) < 2× one chunk's decompression",
              lazy["slice_direct"] / lazy["chunk_decompress"], 2, above=False)
        for what, value, goal in _precision.targets(res["precision"]) if "precision" in res else ():
            check(kind, what, value, goal)
        sw = mem.get("stream_write", {})
        if "tracemalloc_peak" in sw:
            check(kind, f"streaming write peak < budget {mem['budget_nbytes'] / 2**20:.0f} MiB",
                  sw["tracemalloc_peak"] / 2**20, mem["budget_nbytes"] / 2**20, above=False, unit=" MiB")
    if "startup" in results:
        up = results["startup"]
        check("start", f"import napari_mrcz ≤ {_startup.IMPORT_GOAL_MS} ms", _startup.import_ms(up, "import napari_mrcz"),
              _startup.IMPORT_GOAL_MS + 1e-9, above=False, unit=" ms")
        check("start", f"napari-mrcz info ≤ {_startup.INFO_GOAL_S} s wall", up["napari-mrcz info"]["wall"],
              _startup.INFO_GOAL_S + 1e-9, above=False, unit=" s")
    if "bigdata" in results:
        _bigdata.targets(results["bigdata"], check)
    if "mount" in results:
        _mount.targets(results["mount"], check)
    if "zarr" in results:
        import _zarr

        _zarr.targets(results["zarr"], check)
    if "pyramid" in results:
        _pyramid.targets(results["pyramid"], check)
    return found


def fmt(v: float | None, spec: str = ".0f") -> str:
    return "–" if v is None else format(v, spec)


def report(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"machine: {m['cpu']}, {m['logical_cores']} logical cores ({m['usable_cores']} usable), "
        f"{m['ram_gib']} GiB RAM, {m['os']}, Python {m['python']}",
        "versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"threads: {results['threads']} (ours: default settings, so MRCZ statistics not determined and plain ones exact; "
        "+stats: stats=True; mrcz: n_threads; limit: same; fresh: limit into a new array; cpu/mrcz: mrcz's CPU "
        "time over ours, all threads); best of "
        f"{results['rounds']} interleaved rounds; MB/s = 10^6 bytes of uncompressed data per second; "
        "reads from a warm page cache",
        "",
    ]
    tools = ("ours", "ours_no_fsync", "ours_stats", "mrcz", "mrcfile", "limit", "limit_fresh")
    widths = (7, 9, 7, 7, 8, 7, 7)
    head = (f"{'':16}{'ours':>7}{'no fsync':>9}{'+stats':>7}{'mrcz':>7}{'mrcfile':>8}{'limit':>7}{'fresh':>7} │"
            f"{'/mrcz':>7}{'/mrcfile':>9}{'/limit':>8}{'cpu/mrcz':>9} │ {'ratio ours (mrcz), our shuffle and block size'}")
    for kind, res in results["kinds"].items():
        shape = "×".join(map(str, res["shape"]))
        load = f"; load average {res['load_before']:.1f} → {res['load_after']:.1f}" if res.get("load_before") is not None else ""
        lines += [f"{kind}: {res['description']} — {shape} {res['dtype']}, {res['nbytes'] / MB:.0f} MB{load}", head]
        for name, row in res["rows"].items():
            cells = "".join(f"{fmt(row[t]['mb_per_s'] if t in row else None):>{w}}"
                            for t, w in zip(tools, widths))
            ratios = (f"{fmt(ratio(row, 'ours', 'mrcz'), '.2f'):>7}{fmt(ratio(row, 'ours', 'mrcfile'), '.2f'):>9}"
                      f"{fmt(ratio(row, 'ours', 'limit'), '.2f'):>8}{fmt(cpu_ratio(row, 'ours', 'mrcz'), '.2f'):>9}")
            comp = (f" │ {row['ratio_ours']:.2f} ({row['ratio_mrcz']:.2f}) {row['shuffle']}, block "
                    f"{row['blocksize'] // 1024 if row['blocksize'] else 'auto'}{'K' if row['blocksize'] else ''}"
                    if "ratio_ours" in row else " │")
            lines.append(f"  {name:14}{cells} │{ratios}{comp}")
        lz, mem = res["lazy"], res["memory"]
        lines.append(
            f"  lazy open {lz['lazy_open'] * 1e3:.1f} ms; one slice: dask {lz['slice_dask'] * 1e3:.2f} ms, direct "
            f"{lz['slice_direct'] * 1e3:.2f} ms, one chunk's decompression {lz['chunk_decompress'] * 1e3:.2f} ms; "
            f"full read {lz['full_read_seconds'] * 1e3:.0f} ms")
        sl = mem["slice_nbytes"]

        def mib(case: str) -> str:
            c = mem.get(case, {})
            if "peak_rss_delta" not in c:
                return f"n/a ({c.get('error', 'not run')})"
            return (f"{c['tracemalloc_peak'] / 2**20:.1f} MiB = {c['tracemalloc_peak'] / sl:.1f} slices "
                    f"(RSS +{c['peak_rss_delta'] / 2**20:.1f} MiB)")

        big = "×".join(map(str, mem["stream_shape"]))
        if "lazy_open_seconds" in mem:
            lines.append(f"  {big} MRCZ ({mem['stream_nbytes'] / 1e9:.2f} GB data, {mem['file_nbytes'] / 1e9:.2f} GB "
                         f"file): lazy open {mem['lazy_open_seconds'] * 1e3:.1f} ms")
        lines += [
            f"  peak memory (tracemalloc: numpy and Python allocations; RSS also counts the allocator's caches), "
            f"slice = {sl / 2**20:.2f} MiB:",
            f"    lazy open {mib('lazy_open')}",
            f"    one slice {mib('one_slice')}",
            f"    streaming write of a {mem['stream_nbytes'] / 2**30:.2f} GiB dask array (budget "
            f"{mem['budget_nbytes'] / 2**20:.0f} MiB) {mib('stream_write')}",
            f"    of which computing the dask chunks alone {mib('stream_source')}",
            "",
        ]
        if "precision" in res:
            lines += _precision.report(res["precision"]) + [""]
        if "tuning" in res:
            import _tune

            lines += _tune.report(kind, res["tuning"]) + [""]
    if "remote" in results:
        import _remote

        lines += _remote.report(results["remote"]) + [""]
    if "startup" in results:
        lines += _startup.report(results["startup"]) + [""]
    if "batch" in results:
        import _batch

        lines += _batch.report(results["batch"]) + [""]
    if "bigdata" in results:
        lines += _bigdata.report(results["bigdata"]) + [""]
    if "mount" in results:
        lines += _mount.report(results["mount"]) + [""]
    if "zarr" in results:
        import _zarr

        lines += _zarr.report(results["zarr"]) + [""]
    if "pyramid" in results:
        lines += _pyramid.report(results["pyramid"]) + [""]
    lines.append("targets:")
    for t in results["targets"]:
        lines.append(f"  {'met ' if t['met'] else 'MISS'} {t['kind']:7} {t['target']:48} "
                     f"{t['value']:.2f}{t['unit']}")
    met = sum(t["met"] for t in results["targets"])
    lines.append(f"{met} of {len(results['targets'])} targets met")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="small data sets: a quick smoke run")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per measurement (default 5)")
    parser.add_argument("--kinds", default=",".join(_data.KINDS), help="comma-separated: movie,tomo,counts")
    parser.add_argument("--out", type=Path, default=HERE / "results.json", help="JSON results file")
    parser.add_argument("--tune", action="store_true", help="also sweep shuffle, block size and thread count")
    parser.add_argument("--no-batch", action="store_true", help="skip bulk conversion (convert_many, 1 vs 2 workers)")
    parser.add_argument("--no-bigdata", action="store_true", help="skip partial decode, napari steps, multiscale")
    parser.add_argument("--no-mount", action="store_true", help="skip the FUSE mount's sequential read")
    parser.add_argument("--no-zarr", action="store_true", help="skip OME-Zarr conversion and kerchunk slice reads")
    parser.add_argument("--no-pyramid", action="store_true", help="skip the stored-pyramid views (big tomogram)")
    parser.add_argument("--pyramid-only", action="store_true", help="run only the stored-pyramid views")
    parser.add_argument("--window", action="store_true",
                        help="also the pyramid files in a real napari window (xvfb-run; sync and async slicing)")
    parser.add_argument("--pyramid-shape", default=None, metavar="Z,Y,X",
                        help=f"tomogram of the pyramid views (default {','.join(map(str, _pyramid.FULL))})")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in _data.KINDS]
    if unknown:
        parser.error(f"unknown kinds {unknown}; choose from {', '.join(_data.KINDS)}")
    threads = default_threads()
    results = {"machine": machine(), "small": args.small, "rounds": args.repeats, "threads": threads, "kinds": {}}
    m = results["machine"]
    print(f"napari-mrcz benchmark on {m['cpu']}, {m['logical_cores']} cores, {threads} threads"
          f"{' (--small)' if args.small else ''}", flush=True)
    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="napari-mrcz-bench-"))
    try:
        if not args.pyramid_only:
            for kind in kinds:
                t0 = time.perf_counter()
                results["kinds"][kind] = bench_kind(kind, args.small, args.repeats, threads, tmp, args.tune)
                print(f"  {kind} done in {time.perf_counter() - t0:.0f} s", flush=True)
            import _remote

            results["remote"] = _remote.bench(tmp, args.small, args.repeats)
            results["startup"] = _startup.bench_startup(tmp, max(args.repeats, 5))
            if not args.no_batch:
                import _batch

                t0 = time.perf_counter()
                results["batch"] = _batch.bench_batch(args.small, min(args.repeats, 3), tmp)
                print(f"  bulk conversion done in {time.perf_counter() - t0:.0f} s", flush=True)
            if not args.no_bigdata:
                t0 = time.perf_counter()
                results["bigdata"] = _bigdata.run(tmp, args.small, args.repeats, threads)
                print(f"  big data done in {time.perf_counter() - t0:.0f} s", flush=True)
            if not args.no_mount:
                t0 = time.perf_counter()
                results["mount"] = _mount.bench(tmp, args.small, args.repeats, threads)
                print(f"  mount done in {time.perf_counter() - t0:.0f} s", flush=True)
            if not args.no_zarr:
                import _zarr

                t0 = time.perf_counter()
                results["zarr"] = _zarr.bench(tmp, args.small, args.repeats)
                print(f"  zarr bridges done in {time.perf_counter() - t0:.0f} s", flush=True)
        if not args.no_pyramid:
            t0 = time.perf_counter()
            shape = tuple(int(n) for n in args.pyramid_shape.split(",")) if args.pyramid_shape else None
            results["pyramid"] = _pyramid.run(tmp, args.small, args.repeats, shape, args.window)
            print(f"  stored pyramid done in {time.perf_counter() - t0:.0f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["targets"] = targets(results)
    results["seconds"] = time.perf_counter() - start
    print()
    print(report(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"\nresults: {args.out} ({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
