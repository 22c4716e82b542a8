"""Big-data rows of the benchmark: partial decode (x-z slice vs full decode), the napari slice step on
a lazy layer vs one chunk's decompression, and opening a multiscale file in napari.

Run by ``run.py`` (``--no-bigdata`` skips it); every number of a row comes from interleaved rounds of
the same process, and ratios are what to compare: the machine is shared.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import blosc2
import numpy as np

import _data
import _peers
import napari_mrcz
from napari_mrcz.io.reader.array import MrcArray
from napari_mrcz.io.codec.blosc import default_threads
from napari_mrcz.io.reader.file import open_mrc

STEP_CASES = {  # kind, slice shape (full run), slice shape (--small)
    "movie": ((2048, 2048), (1024, 1024)),
    "tomo": ((512, 512), (256, 256)),
    "counts": ((2048, 2048), (1024, 1024)),
    "tomo-2k": ((2048, 2048), (1024, 1024)),
}
STEP_SLICES = 16
SMALL_STEP_CASES = ("movie", "tomo")  # --small: a smoke run


def interleaved(funcs: dict[str, Callable[[], Any]], rounds: int) -> dict:
    """Best and median seconds of each function over ``rounds`` interleaved rounds (order rotated),
    with the garbage collector paused: these calls are milliseconds, and a collection with napari
    loaded takes a quarter of a second. Nothing here writes, so no ``os.sync`` either."""
    import gc

    times: dict = {name: [] for name in funcs}
    names = list(funcs)
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                start = time.perf_counter()
                funcs[name]()
                times[name].append(time.perf_counter() - start)
    finally:
        gc.enable()
    return {name: {"best": min(t), "median": float(np.median(t))} for name, t in times.items()}


def _chunks(info: Any) -> list[bytes]:
    index = info.chunk_index
    return [info.source.pread(int(c), int(o)) for o, c in zip(index.offsets, index.cbytes)]


def bench_partial(tmp: Path, small: bool, rounds: int) -> dict:
    """An x-z (and y-z) slice of a float32 tomogram through MrcArray and dask, vs decoding it whole."""
    nz, side = (8, 1024) if small else (32, 2048)
    arr = _data.make_array("tomo", (nz, side, side))
    out: dict = {"shape": [nz, side, side]}
    for writer in ("ours", "mrcz"):
        path = tmp / f"xz-{writer}.mrcz"
        if writer == "ours":
            napari_mrcz.write(path, arr)
        else:  # blosc1, bitshuffle, 64 KiB blocks
            _peers.mrcz_write(path, arr, "zstd", 1, default_threads())
        info = open_mrc(path)
        lazy = MrcArray(info)
        dask_data = napari_mrcz.read(path, lazy=True).data
        y = side // 3
        assert np.array_equal(lazy[:, y, :], arr[:, y, :])
        t = interleaved({
            "full_decode": lambda: info.read_slices(0, nz),
            "xz": lambda: lazy[:, y, :],
            "xz_dask": lambda: dask_data[:, y, :].compute(),
            "yz": lambda: lazy[:, :, y],
        }, rounds)
        out[writer] = {name: v["best"] for name, v in t.items()}
        out[writer]["compressed_nbytes"] = info.compressed_nbytes
        info.close()
        path.unlink()
    return out


def bench_steps(tmp: Path, small: bool, rounds: int, threads: int) -> dict:
    """One napari slice step (``dims.set_current_step`` on a ViewerModel) on a lazy layer: ours (an
    array-like over the file), the dask array napari got before, and an in-memory numpy layer
    (napari's own cost), against one chunk's decompression (blosc2 into a ready array)."""
    import npe2
    from napari.components import ViewerModel

    from napari_mrcz import config

    npe2.PluginManager.instance().discover()
    out: dict = {}
    with config.set({"reader.lazy_bytes": 0}):
        for case, shapes in STEP_CASES.items():
            if small and case not in SMALL_STEP_CASES:
                continue
            kind = case.split("-")[0]
            arr = _data.make_array(kind, (STEP_SLICES, *shapes[1 if small else 0]))
            path = tmp / f"step-{case}.mrcz"
            napari_mrcz.write(path, arr)
            info = open_mrc(path)
            chunks = _chunks(info)
            ready = np.zeros(arr[0].nbytes, dtype=np.uint8)
            viewers = {name: ViewerModel() for name in ("ours", "dask", "numpy")}
            (ours,) = viewers["ours"].open(str(path), plugin="napari-mrcz")
            assert type(ours.data).__name__ == "MrcArray"
            limits = list(ours.contrast_limits)
            # napari caches computed dask chunks (cache=True), so revisiting a slice would cost no read;
            # every step here reads, as a first visit does
            viewers["dask"].add_image(napari_mrcz.read(path, lazy=True).data, contrast_limits=limits, cache=False)
            viewers["numpy"].add_image(arr, contrast_limits=limits)
            counter = {name: 0 for name in (*viewers, "decode", "direct")}

            def step(name: str) -> Callable[[], None]:
                def run() -> None:
                    counter[name] += 1
                    viewers[name].dims.set_current_step(0, counter[name] % STEP_SLICES)
                return run

            def decode() -> None:
                counter["decode"] += 1
                blosc2.decompress2(chunks[counter["decode"] % STEP_SLICES], dst=ready, nthreads=threads)

            def direct() -> None:
                counter["direct"] += 1
                ours.data[counter["direct"] % STEP_SLICES]

            t = interleaved({"step_ours": step("ours"), "step_dask": step("dask"), "step_numpy": step("numpy"),
                         "chunk_decompress": decode, "slice_direct": direct}, max(rounds, 15))
            viewers["ours"].dims.set_current_step(0, 3)
            assert np.array_equal(ours._slice.image.raw, arr[3])
            out[case] = {name: v["best"] for name, v in t.items()}
            out[case]["slice_nbytes"] = arr[0].nbytes
            info.close()
            path.unlink()
    return out


def bench_multiscale(tmp: Path, small: bool, rounds: int) -> dict:
    """Open a big int8 volume (y, x > 2048: a pyramid) in a ViewerModel; steps at full and coarsest
    resolution; switching to 3-D (the coarsest level, computed from the whole file)."""
    import npe2
    from napari.components import ViewerModel

    from napari_mrcz.io.reader import multiscale

    npe2.PluginManager.instance().discover()
    shape = (4, 2304, 2304) if small else (16, 4096, 4096)
    path = tmp / "pyramid.mrcz"
    napari_mrcz.write(path, _data.make_dask("movie", shape))
    out: dict = {"shape": list(shape), "file_nbytes": path.stat().st_size}
    opened: list = []

    def open_layer() -> None:
        multiscale._CACHE.clear()
        viewer = ViewerModel()
        (layer,) = viewer.open(str(path), plugin="napari-mrcz")
        opened[:] = [viewer, layer]

    t = interleaved({"open": open_layer}, max(2, rounds // 2))
    viewer, layer = opened
    out["open"] = t["open"]["best"]
    out["levels"] = [[int(n) for n in s] for s in layer.level_shapes]
    counter = [0]

    def step_at(level: int) -> Callable[[], None]:
        def run() -> None:
            layer.locked_data_level = level
            counter[0] += 1
            viewer.dims.set_current_step(0, counter[0] % shape[0])
        return run

    t = interleaved({"step_level0": step_at(0), "step_coarsest": step_at(len(layer.data) - 1)}, max(rounds, 8))
    out.update({name: v["best"] for name, v in t.items()})
    layer.locked_data_level = None
    multiscale._CACHE.clear()
    start = time.perf_counter()
    viewer.dims.ndisplay = 3
    out["to_3d"] = time.perf_counter() - start
    out["data_level_3d"] = int(layer.data_level)
    out["full_decode"] = interleaved({"d": lambda: napari_mrcz.read(path).data}, 2)["d"]["best"]
    path.unlink()
    return out


def run(tmp: Path, small: bool, rounds: int, threads: int) -> dict:
    """Every big-data row."""
    return {"partial": bench_partial(tmp, small, rounds),
            "steps": bench_steps(tmp, small, rounds, threads),
            "multiscale": bench_multiscale(tmp, small, rounds)}


def targets(res: dict, check: Callable) -> None:
    """Register the big-data targets with run.py's ``check(kind, what, value, goal, above, unit)``."""
    for writer in ("ours", "mrcz"):
        row = res["partial"][writer]
        check("tomo", f"x-z slice ({writer} file) ≤ 0.25× full decode", row["xz"] / row["full_decode"], 0.25,
              above=False)
    for case, row in res["steps"].items():
        check(case, "napari slice step ≤ 1.5× one chunk's decompression",
              row["step_ours"] / row["chunk_decompress"], 1.5, above=False)


def report(res: dict) -> list[str]:
    """Lines for the printed report."""
    p = res["partial"]
    lines = [f"partial decode: float32 tomogram {'×'.join(map(str, p['shape']))} (zstd-1)"]
    for writer in ("ours", "mrcz"):
        r = p[writer]
        lines.append(
            f"  {writer + ' file':10} full decode {r['full_decode'] * 1e3:7.1f} ms; x-z slice {r['xz'] * 1e3:6.1f} ms "
            f"({r['xz'] / r['full_decode']:.3f}×; through dask {r['xz_dask'] * 1e3:.1f} ms); "
            f"y-z slice {r['yz'] * 1e3:.1f} ms ({r['yz'] / r['full_decode']:.2f}×)")
    lines.append("napari slice step (ViewerModel.dims.set_current_step), ms: ours / dask layer / numpy layer "
                 "(napari alone) / our read alone / one chunk's decompression; ours ÷ decompression, "
                 "(ours − numpy) ÷ decompression")
    for case, r in res["steps"].items():
        lines.append(
            f"  {case:8} {r['slice_nbytes'] / 2**20:4.0f} MiB: {r['step_ours'] * 1e3:6.2f} / {r['step_dask'] * 1e3:6.2f} / "
            f"{r['step_numpy'] * 1e3:6.2f} / {r['slice_direct'] * 1e3:6.2f} / {r['chunk_decompress'] * 1e3:6.2f}; "
            f"{r['step_ours'] / r['chunk_decompress']:.2f}×, "
            f"{(r['step_ours'] - r['step_numpy']) / r['chunk_decompress']:.2f}×")
    m = res["multiscale"]
    lines.append(
        f"multiscale: int8 {'×'.join(map(str, m['shape']))} ({m['file_nbytes'] / 1e6:.0f} MB file), levels "
        f"{' → '.join('×'.join(map(str, s)) for s in m['levels'])}: open in napari {m['open'] * 1e3:.0f} ms; "
        f"step at full resolution {m['step_level0'] * 1e3:.1f} ms, at the coarsest {m['step_coarsest'] * 1e3:.1f} ms; "
        f"to 3-D (level {m['data_level_3d']}) {m['to_3d'] * 1e3:.0f} ms; full eager read {m['full_decode'] * 1e3:.0f} ms")
    return lines
