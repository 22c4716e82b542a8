"""A big tomogram in a real napari window: napari-mrcz's multiscale layer against a memory map.

    xvfb-run -a python bench/_window.py FILE.mrcz PLAIN.mrc [--async | --both] [--shots DIR] [--out JSON]

FILE.mrcz is opened with ``viewer.open(path, plugin="napari-mrcz")`` (a multiscale layer: level 0 read
by z-slice or region on demand, coarser levels from the file's stored pyramid or computed); PLAIN.mrc,
the same data as plain MRC, with ``viewer.add_image(mrcfile.mmap(path).data)`` (full resolution only).
Each tool runs in a fresh child process (its own Xvfb screen when ``xvfb-run`` is on PATH): a shown
``napari.Viewer`` whose canvas is fixed at 1200×900, with napari's synchronous slicing or, for
``--async``, its experimental async slicing (``settings.experimental.async_``, set in the child only,
with ``NAPARI_CONFIG`` pointing at a scratch file so no user setting changes). napari-mrcz and mrcfile
are imported before the clock starts (napari loads a reader plugin once per session). Actions:

1. open: from the call until the first picture;
2. z jumps at the fitted zoom (``reset_view``), random z;
3. zoom to full resolution (one screen pixel per voxel, centred), then random z jumps there;
4. roll to x-z (``dims.order``, ``reset_view``): first picture, then random y jumps;
5. back to x-y; 3-D (``ndisplay = 3``) first picture; 2-D; 3-D again (the memory map is not shown in
   3-D: its full-resolution volume exceeds any texture, napari would read all of it).

An action is timed from the call until its picture is on screen: no slicing task pending, every layer
``loaded``, and a canvas draw that started after the last ``set_data`` of a layer has ended, with
nothing new for 0.3 s after it. Also per action: when the data arrived (the last ``set_data``), the
pyramid level napari shows (``layer.data_level``), and a canvas screenshot (saved with ``--shots``;
its spread of grey values flags a blank canvas). A GUI-thread heartbeat (a 5 ms QTimer) gives the
longest time the GUI thread was blocked during each action; while a tick is 50 ms late, a watchdog
thread samples the GUI thread's Python stack every 10 ms (``sys._current_frames``), grouped by the
innermost napari-mrcz, napari or vispy frame. The watchdog needs the GIL: a C call that holds it
(numpy, Qt, OpenGL) is seen from its Python caller, after it returns, with fewer samples than its
time. (faulthandler's C watchdog sees inside such calls, but it reads a running thread's frames
without the GIL, and crashed a run.) Peak RSS (VmHWM) per child. napari's own first-use costs
(imports of pint, pandas, scipy; shader builds) are paid before the clock starts, by showing a small
image in 2-D and 3-D and removing it. Page cache warm (files as written).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CANVAS = (1200, 900)  # width, height in screen pixels
SCREEN = "-screen 0 1920x1200x24"
JUMPS = 8
TICK_MS, LATE_S, SAMPLE_S, QUIET_S, IDLE_S, TIMEOUT_S = 5, 0.05, 0.01, 0.3, 2.0, 300.0
TOOLS = ("ours", "mmap")
BLANK_STD = 2.0  # a screenshot whose grey values spread less than this is reported BLANK


def _peak_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _where(filename: str, function: str) -> str:
    """``package/module.py:function`` (paths below site-packages or this checkout)."""
    for root in ("site-packages/", f"{HERE.parent}/"):
        if root in filename:
            filename = filename.split(root, 1)[1]
            break
    return f"{filename}:{function}"


class Heartbeat:
    """Ticks of a QTimer on the GUI thread; while a tick is LATE_S late, a watchdog thread samples the
    GUI thread's Python stack every SAMPLE_S (``sys._current_frames``) into :attr:`samples`."""

    def __init__(self) -> None:
        from qtpy.QtCore import Qt, QTimer

        self.ticks: list[float] = [time.perf_counter()]
        self.samples: list[tuple[str, ...]] = []
        self.sampling = False
        self.main = threading.main_thread().ident
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))
        self.timer.start()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while True:
            time.sleep(SAMPLE_S)
            if not self.sampling or time.perf_counter() - self.ticks[-1] < LATE_S:
                continue
            frame, stack = sys._current_frames().get(self.main), []
            while frame is not None:
                stack.append(_where(frame.f_code.co_filename, frame.f_code.co_name))
                frame = frame.f_back
            self.samples.append(tuple(stack))

    def longest_gap(self, t0: float, t1: float) -> float:
        times = [t0] + [t for t in self.ticks if t0 < t < t1] + [t1]
        return float(np.max(np.diff(times)))


class Window:
    """A shown napari viewer with a fixed canvas, and when its picture is done."""

    def __init__(self) -> None:
        import napari
        from qtpy.QtWidgets import QApplication

        self.viewer = napari.Viewer(show=True)
        self.qt = self.viewer.window._qt_viewer
        self.qt.canvas.native.setFixedSize(*CANVAS)
        self.app = QApplication.instance()
        self.draws: list[tuple[float, float]] = []
        self.data: list[float] = []
        self._start = 0.0
        events = self.qt.canvas._scene_canvas.events.draw
        events.connect(self._draw_start, position="first")
        events.connect(self._draw_end, position="last")
        self.viewer.layers.events.inserted.connect(self._watch_layer, position="first")
        self.beat = Heartbeat()
        self.pump(1.0)

    def _draw_start(self, event=None) -> None:
        self._start = time.perf_counter()

    def _draw_end(self, event=None) -> None:
        self.draws.append((self._start, time.perf_counter()))

    def _watch_layer(self, event) -> None:
        event.value.events.set_data.connect(lambda e=None: self.data.append(time.perf_counter()))

    def pump(self, seconds: float) -> None:
        from qtpy.QtCore import QEventLoop

        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)

    def _busy(self) -> bool:
        return bool(self.viewer._layer_slicer._layers_to_task) or not all(l.loaded for l in self.viewer.layers)

    def settle(self, t0: float) -> float | None:
        """Process events until the picture of an action started at ``t0`` is on screen; its time, or
        None after TIMEOUT_S, or when nothing was sliced or drawn for IDLE_S (an action that changed
        nothing on screen)."""
        from qtpy.QtCore import QEventLoop

        while True:
            self.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
            now = time.perf_counter()
            last = max([t0] + [t for t in self.data if t >= t0])
            shown = next((end for start, end in self.draws if start > last), None)
            busy = self._busy()
            if shown is not None and not busy and now - shown > QUIET_S:
                return shown
            quiet = now - max([last] + [end for _, end in self.draws[-1:]])
            if now - t0 > TIMEOUT_S or (shown is None and not busy and quiet > IDLE_S):
                return None

    def act(self, name: str, fn, shots: Path | None, tag: str, steps: list | None = None) -> dict:
        """Time ``fn(step)`` for each step (or ``fn()`` once): seconds, longest GUI block, level shown,
        what the GUI thread was doing while blocked (:func:`_blame`); a screenshot after the last step."""
        times, gaps, levels, sampled, data, slices = [], [], [], [], [], []
        for step in steps if steps is not None else [None]:
            self.pump(0.05)
            self.beat.samples, self.beat.sampling = [], True
            t0 = time.perf_counter()
            fn() if step is None else fn(step)
            t1 = self.settle(t0)
            end = t1 if t1 is not None else time.perf_counter()
            self.beat.sampling = False
            sampled += self.beat.samples
            times.append(None if t1 is None else t1 - t0)
            got = [t - t0 for t in self.data if t0 <= t <= end]
            data.append(got[-1] if got else None)
            slices.append(len(got))
            gaps.append(self.beat.longest_gap(t0, end))
            layer = self.viewer.layers[-1] if len(self.viewer.layers) else None
            levels.append(int(layer.data_level) if layer is not None and layer.multiscale else 0)
        done = [t for t in times if t is not None]
        shot = self.viewer.screenshot(canvas_only=True)
        grey = shot[..., :3].astype(np.float32).mean(axis=2)
        if shots is not None:
            from imageio.v3 import imwrite

            imwrite(shots / f"{tag}-{name}.png", shot)
        return {"n": len(times), "timeouts": times.count(None), "first": times[0],
                "median": float(np.median(done)) if done else None, "max": max(done) if done else None,
                "gap_max": max(gaps), "gap_median": float(np.median(gaps)), "levels": levels, "slices": slices,
                "data_median": float(np.median([d for d in data if d is not None])) if any(data) else None,
                "blocked": _blame(sampled), "shot_std": float(grey.std()), "shot_lit": float((grey > 8).mean())}


def _owner(stack: tuple[str, ...]) -> str:
    """Who to blame for a sampled stack: its innermost napari-mrcz, napari or vispy frame, with the
    innermost napari-mrcz frame outside it when there is one (``napari/...:f < napari_mrcz/...:g``)."""
    ours = ("napari_mrcz/", "napari/", "vispy/")
    inner = next((f for f in stack if f.startswith(ours)), stack[0])
    mrcz = next((f for f in stack if f.startswith("napari_mrcz/")), None)
    return inner if mrcz in (None, inner) else f"{inner} < {mrcz}"


def _blame(stacks: list[tuple[str, ...]]) -> list[dict]:
    """Stacks sampled while the GUI thread was blocked, grouped by :func:`_owner`, most samples first
    (each sample stands for about SAMPLE_S of blocking), with the innermost frame and one whole stack."""
    groups: dict[str, list] = {}
    for stack in stacks:
        groups.setdefault(_owner(stack), []).append(stack)
    out = [{"owner": owner, "n": len(got), "leaf": Counter(s[0] for s in got).most_common(1)[0][0],
            "stack": list(Counter(got).most_common(1)[0][0])} for owner, got in groups.items()]
    return sorted(out, key=lambda g: -g["n"])[:6]


def views(tool: str, path: str, mode: str, shots: str | None, jumps: int) -> dict:
    """Every action of the module docstring for ``tool`` in one fresh viewer."""
    from napari.settings import get_settings

    if mode == "async":
        get_settings().experimental.async_ = True
    import mrcfile
    import napari_mrcz.plugin.reader  # noqa: F401  (napari imports a reader plugin once per session)
    from napari_mrcz.io.codec.blosc import load_blosc1, load_blosc2

    load_blosc1(), load_blosc2()
    win = Window()
    viewer = win.viewer
    warm = viewer.add_image(np.random.default_rng(0).random((8, 64, 64), dtype=np.float32))
    viewer.dims.ndisplay = 3
    win.pump(0.5)
    viewer.dims.ndisplay = 2
    viewer.layers.remove(warm)
    win.pump(0.5)
    folder = Path(shots) if shots else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    tag = f"{tool}-{mode}"
    res: dict = {"tool": tool, "mode": mode, "async": bool(get_settings().experimental.async_),
                 "canvas": list(win.qt.canvas.size), "actions": {}}
    act = res["actions"]

    def open_file() -> None:
        if tool == "ours":
            viewer.open(path, plugin="napari-mrcz")
        else:
            viewer.add_image(mrcfile.mmap(path, mode="r", permissive=True).data, name=Path(path).stem)

    act["open"] = win.act("1-open", open_file, folder, tag)
    layer = viewer.layers[-1]
    shape = layer.level_shapes[0] if layer.multiscale else layer.data.shape
    res["levels"] = [list(map(int, s)) for s in (layer.level_shapes if layer.multiscale else [shape])]
    res["scale"] = [float(s) for s in layer.scale]
    rng = np.random.default_rng(11)

    def jumps_along(axis: int) -> list[int]:
        now = viewer.dims.current_step[axis]
        return [int(v) for v in rng.choice([v for v in range(shape[axis]) if v != now], jumps, replace=False)]

    def step(axis: int):
        return lambda v: viewer.dims.set_current_step(axis, v)

    act["z_fit"] = win.act("2-z-fit", step(0), folder, tag, jumps_along(0))

    def zoom_in() -> None:
        viewer.scene.camera.zoom = 1 / layer.scale[-1]  # one screen pixel per voxel

    act["zoom_full"] = win.act("3-zoom-full", zoom_in, folder, tag)
    act["z_full"] = win.act("3-z-full", step(0), folder, tag, jumps_along(0))

    def roll() -> None:
        viewer.dims.order = (1, 0, 2)
        viewer.reset_view()

    act["xz_first"] = win.act("4-xz-first", roll, folder, tag)
    act["xz_steps"] = win.act("4-xz-steps", step(1), folder, tag, jumps_along(1))

    def unroll() -> None:
        viewer.dims.order = (0, 1, 2)
        viewer.reset_view()

    act["xy_back"] = win.act("5-xy-back", unroll, folder, tag)
    if tool == "ours":
        def ndisplay(n: int):
            return lambda: setattr(viewer.dims, "ndisplay", n)

        act["3d_first"] = win.act("5-3d-first", ndisplay(3), folder, tag)
        act["2d_again"] = win.act("5-2d-again", ndisplay(2), folder, tag)
        act["3d_again"] = win.act("5-3d-again", ndisplay(3), folder, tag)
    res["rss_bytes"] = _peak_rss()
    viewer.close()
    return res


# ---------------------------------------------------------------- parent


def _child(tool: str, path: str, mode: str, shots: str | None, jumps: int) -> dict:
    """Run :func:`views` in a fresh process (on its own Xvfb screen when xvfb-run is there)."""
    scratch = tempfile.mkdtemp(prefix="napari-window-")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent), str(HERE)]),
               NAPARI_CONFIG=str(Path(scratch) / "settings.yaml"))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps([tool, path, mode, shots, jumps])]
    if shutil.which("xvfb-run"):
        cmd = ["xvfb-run", "-a", "-s", SCREEN, *cmd]
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if out.returncode:
        raise RuntimeError(f"{tool} {mode}: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(mrcz: str | os.PathLike, plain: str | os.PathLike, modes: tuple[str, ...] = ("sync", "async"),
        shots: str | os.PathLike | None = None, jumps: int = JUMPS) -> dict:
    """Every action of the module docstring, for both tools in each mode (``"sync"``, ``"async"``):
    ``{"mrcz", "plain", "mrcz_bytes", "plain_bytes", "modes": {mode: {"ours": views, "mmap": views}}}``
    with :func:`views`' results; screenshots go to ``shots`` when given."""
    res: dict = {"mrcz": str(mrcz), "plain": str(plain), "mrcz_bytes": os.path.getsize(mrcz),
                 "plain_bytes": os.path.getsize(plain), "modes": {}}
    for mode in modes:
        res["modes"][mode] = {tool: _child(tool, str(plain if tool == "mmap" else mrcz), mode,
                                           None if shots is None else str(shots), jumps) for tool in TOOLS}
    return res


ROWS = (("open", "open → first picture"), ("z_fit", "z jump, fitted"), ("zoom_full", "zoom to 1 px/voxel"),
        ("z_full", "z jump, full res"), ("xz_first", "x-z first picture"), ("xz_steps", "x-z y jump"),
        ("xy_back", "back to x-y"), ("3d_first", "3-D first"), ("2d_again", "2-D again"),
        ("3d_again", "3-D again"))


def report(res: dict) -> list[str]:
    """Text lines of the results: per mode, seconds (first / median / max) and longest GUI block (ms)
    per action for both tools, the levels napari showed, and what blocked the GUI thread longest."""
    lines = [f"napari window: {res['mrcz']} ({res['mrcz_bytes'] / 1e9:.2f} GB) vs memory map of {res['plain']} "
             f"({res['plain_bytes'] / 1e9:.2f} GB)"]
    for mode, tools in res["modes"].items():
        ours, mm = tools["ours"], tools["mmap"]
        lines.append(f"  {mode} slicing; canvas {ours['canvas']}; our levels {ours['levels']}; per action: seconds "
                     "to the picture (first/median/max), to the data (median), longest GUI block, level(s) shown")
        lines.append(f"  {'':22}{'ours':>36}{'memory map':>38}")
        for key, label in ROWS:
            cells = []
            for r in (ours, mm):
                a = r["actions"].get(key)
                if a is None:
                    cells.append("—")
                    continue
                fmt = lambda v, none="t/o": none if v is None else f"{v:.2f}"
                times = fmt(a["first"]) if a["n"] == 1 else f"{fmt(a['first'])}/{fmt(a['median'])}/{fmt(a['max'])}"
                lv = ",".join(map(str, sorted(set(a["levels"]))))
                blank = " BLANK" if a["shot_std"] < BLANK_STD else ""
                cells.append(f"{times} d{fmt(a.get('data_median'), '—')} {a['gap_max'] * 1e3:.0f}ms L{lv}{blank}")
            lines.append(f"  {label:22}{cells[0]:>36}{cells[1]:>38}")
        lines.append(f"  peak RSS GB: ours {ours['rss_bytes'] / 1e9:.2f}, memory map {mm['rss_bytes'] / 1e9:.2f}")
        for key, label in ROWS:
            a = ours["actions"].get(key)
            if a and a["gap_max"] > 0.1 and a["blocked"]:
                who = "; ".join(f"{g['owner']} ({g['n']}× in {g['leaf'].rsplit('/', 1)[-1]})" for g in a["blocked"][:3])
                lines.append(f"    ours {label}: GUI blocked up to {a['gap_max'] * 1e3:.0f} ms in {who}")
    return lines


def targets(res: dict, check) -> None:
    """The issue's targets, as rows of run.py's target table (per slicing mode)."""
    for mode, tools in res["modes"].items():
        ours, mm = tools["ours"]["actions"], tools["mmap"]["actions"]
        k = f"window {mode}"
        if ours["open"]["first"] and mm["open"]["first"]:
            check(k, "first picture ≤ 1.5× memory map", ours["open"]["first"] / mm["open"]["first"], 1.5, above=False)
        worst = max(ours["z_fit"]["median"] or np.inf, ours["z_full"]["median"] or np.inf)
        check(k, "z jump (median, any zoom) ≤ 1.5× memory map full res", worst / mm["z_full"]["median"], 1.5,
              above=False)
        if "3d_first" in ours:
            check(k, "3-D ≤ 3 s", ours["3d_first"]["first"] or np.inf, 3.0, above=False, unit=" s")
        check(k, "x-z first picture ≤ 1 s", ours["xz_first"]["first"] or np.inf, 1.0, above=False, unit=" s")
        check(k, "x-z step ≤ 0.3 s (max)", ours["xz_steps"]["max"] or np.inf, 0.3, above=False, unit=" s")
        check(k, "GUI thread blocked ≤ 0.1 s (max over actions)", max(a["gap_max"] for a in ours.values()), 0.1,
              above=False, unit=" s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mrcz", help="the MRCZ file (opened with napari-mrcz)")
    parser.add_argument("plain", help="the same data as plain MRC (memory-mapped with mrcfile)")
    parser.add_argument("--async", dest="async_", action="store_true", help="napari's async slicing only")
    parser.add_argument("--both", action="store_true", help="sync and async slicing")
    parser.add_argument("--shots", default=None, help="folder for one canvas screenshot per action")
    parser.add_argument("--jumps", type=int, default=JUMPS, help=f"z and y jumps per action (default {JUMPS})")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    args = parser.parse_args(argv)
    modes = ("sync", "async") if args.both else ("async",) if args.async_ else ("sync",)
    res = run(args.mrcz, args.plain, modes, args.shots, args.jumps)
    print("\n".join(report(res)))
    found: list[str] = []
    targets(res, lambda kind, what, value, goal, above=True, unit="×": found.append(
        f"  {'met ' if (value >= goal if above else value <= goal) else 'MISS'} {kind:13} {what:50} {value:.2f}{unit}"))
    print("targets:\n" + "\n".join(found))
    if args.out:
        args.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(views(*json.loads(sys.argv[2]))))
    else:
        sys.exit(main())
