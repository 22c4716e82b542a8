"""Peak memory of one case, measured in a fresh child process so cases cannot pollute each other.

    python bench/_memory.py '{"case": "lazy_open" | "one_slice" | "stream_write" | "stream_source", ...}'

Prints one JSON line: the peak resident memory above the resident memory before the step (Linux: the
VmHWM high-water mark, reset after the warm-up through /proc/self/clear_refs; elsewhere ru_maxrss, which
cannot be reset and so may overstate) and tracemalloc's peak of Python and numpy allocations.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402
import napari_mrcz  # noqa: E402

from napari_mrcz.io.writer.slabs import iter_blocks  # noqa: E402


def rss_now() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss()


def peak_rss() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def warm_up() -> None:
    """Load every lazily imported module and start the thread pools on a tiny file."""
    with tempfile.TemporaryDirectory() as tmp:
        small = _data.make_dask("movie", (2, 64, 64))
        path = Path(tmp) / "warm.mrcz"
        napari_mrcz.write(path, small, compressor="zstd")
        np.asarray(napari_mrcz.read(path, lazy=True).data[1])
        napari_mrcz.read(path)


def main() -> None:
    args = json.loads(sys.argv[1])
    case = args["case"]
    warm_up()
    if case == "one_slice":
        image = napari_mrcz.read(args["path"], lazy=True)
    elif case in ("stream_write", "stream_source"):
        source = _data.make_dask(args["kind"], tuple(args["shape"]))
    before = rss_now()
    resettable = reset_peak()
    tracemalloc.start()
    start = time.perf_counter()
    if case == "lazy_open":
        image = napari_mrcz.read(args["path"], lazy=True)
    elif case == "one_slice":
        np.asarray(image.data[args["z"]])
    elif case == "stream_write":
        napari_mrcz.write(args["path"], source, compressor=args["compressor"], clevel=args["clevel"])
    elif case == "stream_source":  # the dask chunks alone, computed as the writer does, not written
        for _ in iter_blocks(source):
            pass
    else:
        raise SystemExit(f"unknown case {case!r}")
    seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({"case": case, "peak_rss_delta": max(0, peak_rss() - before), "tracemalloc_peak": traced,
                      "seconds": seconds, "peak_reset": resettable}))


if __name__ == "__main__":
    main()
