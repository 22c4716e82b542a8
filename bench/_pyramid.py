"""Stored pyramids: a big tomogram browsed like napari does, against a memory map of the same plain file.

One float32 tomogram (``_data`` "tomo") is written as plain MRC (the memory map's file, mrcfile.mmap)
and from it as MRCZ with and without a stored pyramid (write time, CPU time and size of each). The
views napari makes run in a fresh child process per tool and place (peak RSS per child), on the files
as they are after writing (page cache warm: the machine has no way to drop it for one process):

- first picture: open, then the middle plane of the level napari shows zoomed out (ours: the coarsest;
  the memory map has only full resolution);
- z jump: at random z, at every level, what napari reads there: the part of the plane a 900×1200
  canvas shows at that level's zoom (napari crops multiscale planes to the view; its thumbnail comes
  from the coarsest plane, already read), and for reference whole level-0 planes; the memory map's
  layer is not multiscale, so napari copies its whole full-resolution plane;
- 3-D: the whole coarsest level, then again (napari slices it twice: picture and thumbnail);
- x-z: ``[:, y, :]`` of the coarsest level and level 1 (memory map: full resolution), first and steps;
- the same over loopback HTTP with 20 ms added per request, with the bytes the server sent for open + 3-D.

For the MRCZ file without a pyramid: computing the levels into the per-user cache (one streaming pass)
against one streaming read of the file, then a second open and 3-D from the cache.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SMALL, FULL = (16, 512, 512), (128, 4096, 4096)
DELAY_S = 0.02
JUMPS, STEPS = 8, 8
VIEW = (900, 1200)  # canvas rows, columns


def _child(mode: str, target: str, cache: str | None = None) -> dict:
    """Run the views of ``mode`` (ours, mmap) on ``target`` (a path or URL) in a fresh process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent), str(HERE)]))
    if cache:
        env["NAPARI_MRCZ_PYRAMID_CACHE_DIR"] = cache
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), mode, target], env=env,
                         capture_output=True, text=True, timeout=3600)
    if out.returncode:
        raise RuntimeError(f"{mode} {target}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _peak_rss() -> int:
    """This process's peak RSS: VmHWM (ru_maxrss carries the forking parent's peak across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    got = fn()
    return time.perf_counter() - t0, got


def _summary(times: list[float]) -> dict:
    return {"first": times[0], "median": float(np.median(times)), "max": max(times)}


def views_ours(target: str, only_open_3d: bool = False) -> dict:
    """napari's reads on our levels (stored, cached or computed), timed."""
    import napari.layers  # noqa: F401 - these reads run inside napari, with its modules (numpy.ma, ...) loaded
    import napari_mrcz as nm
    from napari_mrcz.io.reader.multiscale import display_levels

    from napari_mrcz.io.codec.blosc import load_blosc1, load_blosc2

    load_blosc1(), load_blosc2()  # imported before napari opens a file (the plugin is loaded at start)
    nm.open_mrc(target).close()  # and, for URLs, fsspec and the HTTP session (as _remote.py warms up)
    rng = np.random.default_rng(7)
    res: dict = {}
    t, levels = _timed(lambda: display_levels(nm.open_mrc(target)))
    res["open_s"], res["levels"] = t, [list(lv.shape) for lv in levels]
    res["kinds"] = [type(lv).__name__ for lv in levels]
    top = levels[-1]
    res["first_picture_s"] = t + _timed(lambda: np.asarray(top[top.shape[0] // 2]))[0]
    res["3d_s"] = _timed(lambda: np.asarray(top))[0]
    res["3d_again_s"] = _timed(lambda: np.asarray(top))[0]
    if only_open_3d:
        return res
    res["z_jump_s"] = {}
    for k, level in enumerate(levels):
        zs = rng.integers(0, level.shape[0], JUMPS)
        view = tuple(slice((n - min(n, v)) // 2, (n - min(n, v)) // 2 + min(n, v)) for n, v in zip(level.shape[1:], VIEW))
        res["z_jump_s"][k] = _summary([_timed(lambda z=z: np.asarray(level[(int(z), *view)]))[0] for z in zs])
    zs = rng.integers(0, levels[0].shape[0], JUMPS)
    res["z_whole_plane_s"] = _summary([_timed(lambda z=z: np.asarray(levels[0][int(z)]))[0] for z in zs])
    res["xz_s"] = {}
    for k in sorted({len(levels) - 1, 1} & set(range(1, len(levels)))):
        level = levels[k]
        y0 = level.shape[1] // 2 - STEPS // 2
        res["xz_s"][k] = _summary([_timed(lambda y=y: np.asarray(level[:, y, :]))[0] for y in range(y0, y0 + STEPS)])
    return res


def views_mmap(path: str) -> dict:
    """The same views on a memory map (full resolution only; no 3-D: napari cannot show it)."""
    import mrcfile
    import napari.layers  # noqa: F401 - as for ours

    rng = np.random.default_rng(7)
    res: dict = {}
    t, mm = _timed(lambda: mrcfile.mmap(path, mode="r", permissive=True))
    data = mm.data
    res["open_s"] = t
    res["first_picture_s"] = t + _timed(lambda: np.array(data[data.shape[0] // 2]))[0]
    res["z_jump_s"] = {0: _summary([_timed(lambda z=z: np.array(data[int(z)]))[0]
                                    for z in rng.integers(0, data.shape[0], JUMPS)])}
    y0 = data.shape[1] // 2
    res["xz_s"] = {0: _summary([_timed(lambda y=y: np.array(data[:, y, :]))[0] for y in range(y0, y0 + STEPS)])}
    return res


def _write(folder: Path, shape: tuple[int, int, int], rounds: int) -> dict:
    import napari_mrcz as nm
    import _data

    plain = folder / "tomo.mrc"
    nz, ny, nx = shape
    t0 = time.perf_counter()
    with nm.MrczWriter(plain, compressor=None, stats=False) as writer:
        for z in range(nz):
            writer.write(_data.make_slice("tomo", z, ny, nx))
    out: dict = {"shape": list(shape), "plain_bytes": plain.stat().st_size, "generate_s": time.perf_counter() - t0,
                 "write": {}}
    for r in range(rounds):
        for name, pyramid in (("without", False), ("with", True))[:: 1 if r % 2 == 0 else -1]:
            os.sync()
            image = nm.read(plain, lazy=True)
            c0, t0 = time.process_time(), time.perf_counter()
            nm.write(folder / f"{name}.mrcz", image, pyramid=pyramid)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            best = out["write"].get(name)
            if best is None or wall < best["wall_s"]:
                out["write"][name] = {"wall_s": wall, "cpu_s": cpu, "bytes": (folder / f"{name}.mrcz").stat().st_size}
    w = out["write"]
    out["time_ratio"] = w["with"]["wall_s"] / w["without"]["wall_s"]
    out["cpu_ratio"] = w["with"]["cpu_s"] / w["without"]["cpu_s"]
    out["size_ratio"] = w["with"]["bytes"] / w["without"]["bytes"]
    return out


def run(tmp: Path, small: bool, rounds: int, shape: tuple[int, int, int] | None = None, window: bool = False) -> dict:
    """Every measurement of the module docstring; with ``window`` (and xvfb-run), also the same files in a
    real napari window (:mod:`_window`, both slicing modes); files are removed at the end."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from loopback_http import LoopbackServer

    shape = shape or (SMALL if small else FULL)
    folder = tmp / "pyramid"
    folder.mkdir(exist_ok=True)
    env_small = {"NAPARI_MRCZ_MULTISCALE_SIDE": "128", "NAPARI_MRCZ_MULTISCALE_LEVEL_SIDE": "128"} if small else {}
    saved = {k: os.environ.get(k) for k in env_small}
    os.environ.update(env_small)
    try:
        res = _write(folder, shape, rounds if small else 2)  # two rounds, order swapped: the page cache favours the second
        res["local"] = {"mmap": _child("mmap", str(folder / "tomo.mrc")),
                        "stored": _child("ours", str(folder / "with.mrcz"))}
        if window and shutil.which("xvfb-run"):
            import _window

            res["window"] = _window.run(folder / "with.mrcz", folder / "tomo.mrc")
        with LoopbackServer(folder, delay=DELAY_S) as srv:
            srv.reset()
            res["http_open_3d"] = _child("ours-open3d", srv.url("with.mrcz"))
            res["http_open_3d"]["bytes_moved"] = srv.bytes_sent
            res["http_open_3d"]["file_bytes"] = (folder / "with.mrcz").stat().st_size
            res["http"] = _child("ours", srv.url("with.mrcz"))
        cache = tempfile.mkdtemp(prefix="cache-", dir=folder)
        res["cache"] = _child("cache", str(folder / "without.mrcz"), cache)
        res["cache"]["second_open"] = _child("ours-open3d", str(folder / "without.mrcz"), cache)
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        for path in folder.rglob("*"):
            if path.is_file():
                path.unlink()
    return res


def build_cache(path: str) -> dict:
    """Computing the levels into the cache (one streaming pass) against one streaming read."""
    import napari_mrcz as nm
    from napari_mrcz.io.writer.pyramid_cache import build_cached

    info = nm.open_mrc(path)
    h = info.header
    read_s = _timed(lambda: [info.read_slices(z, min(h.nz, z + 4)) for z in range(0, h.nz, 4)])[0]
    build_s = _timed(lambda: build_cached(nm.open_mrc(path)))[0]
    return {"stream_read_s": read_s, "build_s": build_s, "ratio": build_s / read_s}


def report(res: dict) -> list[str]:
    w = res["write"]
    shape = "×".join(map(str, res["shape"]))
    lines = [f"stored pyramid: {shape} float32 tomogram ({res['plain_bytes'] / 1e9:.2f} GB plain), levels "
             f"{res['local']['stored']['levels']}",
             f"  write MRCZ: {w['without']['wall_s']:.1f} s, {w['without']['bytes'] / 1e9:.2f} GB without; "
             f"{w['with']['wall_s']:.1f} s, {w['with']['bytes'] / 1e9:.2f} GB with a pyramid: time ×{res['time_ratio']:.2f} "
             f"(CPU ×{res['cpu_ratio']:.2f}), size ×{res['size_ratio']:.3f}"]
    mm, ours, http = res["local"]["mmap"], res["local"]["stored"], res["http"]
    lines.append(f"  {'':24}{'memory map':>12}{'ours local':>12}{'ours HTTP':>12}")

    def row(name: str, a: float | None, b: float | None, c: float | None) -> None:
        cells = ["—" if v is None else f"{v:.3f}" for v in (a, b, c)]
        lines.append(f"  {name:24}{cells[0]:>12}{cells[1]:>12}{cells[2]:>12}")

    row("first picture s", mm["first_picture_s"], ours["first_picture_s"], http["first_picture_s"])
    for k in ours["z_jump_s"]:
        row(f"z jump level {k} med/max", None, ours["z_jump_s"][k]["median"], http["z_jump_s"][k]["median"])
        row("", None, ours["z_jump_s"][k]["max"], http["z_jump_s"][k]["max"])
    row("z jump memory map med", mm["z_jump_s"]["0"]["median"], None, None)
    row("whole level-0 plane med", None, ours["z_whole_plane_s"]["median"], http["z_whole_plane_s"]["median"])
    row("3-D s (again)", None, ours["3d_s"], http["3d_s"])
    row("", None, ours["3d_again_s"], http["3d_again_s"])
    for k in ours["xz_s"]:
        row(f"x-z level {k} first", None, ours["xz_s"][k]["first"], http["xz_s"][k]["first"])
        row("    step med / max", None, ours["xz_s"][k]["median"], http["xz_s"][k]["median"])
        row("", None, ours["xz_s"][k]["max"], http["xz_s"][k]["max"])
    row("x-z memory map first/med", mm["xz_s"]["0"]["first"], None, None)
    row("", mm["xz_s"]["0"]["median"], None, None)
    row("peak RSS GB", mm["rss_bytes"] / 1e9, ours["rss_bytes"] / 1e9, http["rss_bytes"] / 1e9)
    o3 = res["http_open_3d"]
    lines.append(f"  HTTP open + 3-D: {o3['open_s'] + o3['3d_s']:.2f} s, {o3['bytes_moved'] / 1e6:.1f} MB moved "
                 f"= {100 * o3['bytes_moved'] / o3['file_bytes']:.2f} % of the file")
    c = res["cache"]
    lines.append(f"  no stored pyramid: levels into the cache {c['build_s']:.1f} s vs one streaming read "
                 f"{c['stream_read_s']:.1f} s (×{c['ratio']:.2f}); second open + 3-D "
                 f"{c['second_open']['open_s'] + c['second_open']['3d_s']:.2f} s ({c['second_open']['kinds'][-1]})")
    if "window" in res:
        import _window

        lines += _window.report(res["window"])
    return lines


def targets(res: dict, check) -> None:
    """The issue's targets, as rows of run.py's target table."""
    if "window" in res:
        import _window

        _window.targets(res["window"], check)
    mm, ours, http = res["local"]["mmap"], res["local"]["stored"], res["http"]
    check("pyramid", "first picture ≤ 1.5× memory map", ours["first_picture_s"] / mm["first_picture_s"], 1.5, above=False)
    worst = max(v["median"] for v in ours["z_jump_s"].values())
    check("pyramid", "z jump (any level, median) ≤ 1.5× memory map", worst / mm["z_jump_s"]["0"]["median"], 1.5, above=False)
    check("pyramid", "z jump over HTTP ≤ 0.25 s", max(v["median"] for v in http["z_jump_s"].values()), 0.25, above=False, unit=" s")
    check("pyramid", "3-D ≤ 3 s (local)", ours["3d_s"], 3.0, above=False, unit=" s")
    for name, r in (("local", ours), ("HTTP", http)):
        check("pyramid", f"x-z first ≤ 1 s ({name})", max(v["first"] for v in r["xz_s"].values()), 1.0, above=False, unit=" s")
        check("pyramid", f"x-z step ≤ 0.3 s ({name}, max)", max(v["max"] for v in r["xz_s"].values()), 0.3, above=False, unit=" s")
    o3 = res["http_open_3d"]
    check("pyramid", "HTTP bytes for open + 3-D ≤ 2 %", 100 * o3["bytes_moved"] / o3["file_bytes"], 2.0, above=False, unit=" %")
    check("pyramid", "RSS ≤ 1.5 GB", max(ours["rss_bytes"], http["rss_bytes"]) / 1e9, 1.5, above=False, unit=" GB")
    check("pyramid", "write time ≤ 1.15×", res["time_ratio"], 1.15, above=False)
    check("pyramid", "write size ≤ 1.10×", res["size_ratio"], 1.10, above=False)
    check("pyramid", "second open + 3-D ≤ 3 s", res["cache"]["second_open"]["open_s"] + res["cache"]["second_open"]["3d_s"],
          3.0, above=False, unit=" s")


if __name__ == "__main__":
    mode, target = sys.argv[1], sys.argv[2]
    if mode == "cache":
        result = build_cache(target)
    elif mode == "mmap":
        result = views_mmap(target)
    else:
        result = views_ours(target, only_open_3d=mode == "ours-open3d")
    result["rss_bytes"] = _peak_rss()
    print(json.dumps(result))
