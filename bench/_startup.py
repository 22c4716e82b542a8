"""Start-up cost: ``import napari_mrcz`` and ``napari-mrcz info FILE`` in fresh processes.

Each command runs in a new interpreter, in interleaved rounds (as ``run.best_of`` does), and the best
wall time is kept; CPU time (user + system of the child) is reported beside it because it barely
moves when a neighbour loads the machine. The import cost is a process's wall time minus that of a
bare ``python -c pass``.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import napari_mrcz as nm

IMPORT_GOAL_MS = 150
INFO_GOAL_S = 0.25


def _commands(path: Path) -> dict[str, list[str]]:
    py = sys.executable
    script = shutil.which("napari-mrcz", path=str(Path(py).parent))
    info = [script] if script else [py, "-m", "napari_mrcz"]
    return {
        "python": [py, "-c", "pass"],
        "import numpy": [py, "-c", "import numpy"],
        "import napari_mrcz": [py, "-c", "import napari_mrcz"],
        "import mrcfile": [py, "-c", "import mrcfile"],
        "import mrcz": [py, "-c", "import mrcz"],
        "napari-mrcz info": [*info, "info", str(path)],
    }


def bench_startup(tmp: Path, rounds: int) -> dict:
    """Best wall and CPU seconds of each start-up command over ``rounds`` interleaved rounds."""
    path = tmp / "startup.mrcz"
    nm.write(path, np.zeros((4, 64, 64), np.float32), metadata={"sample": "start-up"})
    commands = _commands(path)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(commands[name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            walls[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if done.returncode:
                walls[name][-1] = cpus[name][-1] = float("nan")
    return {name: {"wall": min(walls[name]), "wall_median": float(np.median(walls[name])),
                   "cpu": min(cpus[name])} for name in commands}


def import_ms(startup: dict, name: str) -> float:
    """Milliseconds ``name`` (an 'import ...' row) adds to a bare interpreter's start."""
    return (startup[name]["wall"] - startup["python"]["wall"]) * 1e3


def report(startup: dict) -> list[str]:
    lines = ["start-up (fresh process each; best wall of interleaved rounds, CPU = user + system):"]
    for name, row in startup.items():
        extra = f"  (+{import_ms(startup, name):.0f} ms over python)" if name.startswith("import") else ""
        lines.append(f"  {name:20}{row['wall'] * 1e3:7.0f} ms wall (median {row['wall_median'] * 1e3:.0f})"
                     f"{row['cpu'] * 1e3:7.0f} ms CPU{extra}")
    return lines
