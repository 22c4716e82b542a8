"""Bulk conversion throughput: :func:`napari_mrcz.convert_many` on a LocalCluster of 1 and 2 worker
processes, against converting the same files one after another in this process (no dask).

Inputs are plain MRC counting movies (int8, Poisson λ = 1, as a camera writes them) converted to MRCZ
(zstd level 1): many small files and a few large ones. Each cluster is started once and its start-up
time (with the workers' import of napari-mrcz) reported separately; every timed round converts all the files again (``force=True``).
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import _data
from napari_mrcz import convert_many, write
from napari_mrcz.io.codec.blosc import available_cores
from napari_mrcz.io.batch.run import local_cluster
from napari_mrcz.io.writer.convert import convert_file

# name: (file count, shape) for the full run and for --small
SETS = {
    "small files": ((64, (4, 512, 512)), (16, (2, 256, 256))),
    "large files": ((3, (32, 2048, 2048)), (2, (6, 1024, 1024))),
}
WORKERS = (1, 2)


def make_files(folder: Path, count: int, shape: tuple[int, int, int]) -> list[Path]:
    folder.mkdir()
    data = _data.make_array("movie", shape)
    paths = [folder / f"frames_{i:04d}.mrc" for i in range(count)]
    for path in paths:
        write(path, data, compressor=None, voxel_size=0.65)
    return paths


def bench_batch(small: bool, rounds: int, tmp: Path) -> dict:
    """files/s and MB/s of input per set and way of running; MB = 10^6 bytes of the (plain) inputs."""
    from distributed import Client

    cores = available_cores()
    sets = {}
    for name, sizes in SETS.items():
        count, shape = sizes[1 if small else 0]
        files = make_files(tmp / name.replace(" ", "_"), count, shape)
        sets[name] = {"files": files, "nbytes": sum(p.stat().st_size for p in files), "shape": list(shape),
                      "rows": {}}

    def timed(name: str, label: str, run) -> None:
        best = float("inf")
        for r in range(rounds):
            out = tmp / f"out-{label}-{r}".replace(" ", "_")
            out.mkdir()
            start = time.perf_counter()
            run(sets[name]["files"], out)
            best = min(best, time.perf_counter() - start)
            for path in out.iterdir():
                path.unlink()
            out.rmdir()
        s = sets[name]
        s["rows"][label] = {"seconds": best, "files_per_s": len(s["files"]) / best, "mb_per_s": s["nbytes"] / best / 1e6}

    def sequential(files: list[Path], out: Path) -> None:
        for path in files:
            convert_file(path, out / (path.stem + ".mrcz"), n_threads=cores)

    for name in sets:
        timed(name, "in-process", sequential)
    startup = {}
    for workers in (w for w in WORKERS if w <= max(cores, 1)):
        start = time.perf_counter()
        with local_cluster(workers) as cluster, Client(cluster, set_as_default=False) as client:
            for module in ("napari_mrcz.io.batch.task", "dask.array"):  # what each worker's first task pays
                client.run(importlib.import_module, module)
            startup[workers] = time.perf_counter() - start

            def on_cluster(files: list[Path], out: Path, client=client, workers=workers) -> None:
                results = convert_many(files, out, scheduler=client, threads=max(1, cores // workers), force=True)
                failed = [r for r in results if r.status != "done"]
                assert not failed, failed

            for name in sets:
                timed(name, f"{workers} worker{'s' if workers > 1 else ''}", on_cluster)
    for s in sets.values():
        s["files"] = len(s["files"])
    return {"sets": sets, "startup_seconds": startup, "rounds": rounds, "cores": cores}


def report(res: dict) -> list[str]:
    startup = ", ".join(f"{w} worker{'s' if w > 1 else ''} {s:.1f} s" for w, s in res["startup_seconds"].items())
    lines = [f"bulk conversion (convert_many; plain int8 movies → zstd-1; best of {res['rounds']}; "
             f"cluster start-up not included: {startup})"]
    labels = list(next(iter(res["sets"].values()))["rows"])
    lines.append(f"  {'':28}{'':8}" + "".join(f"{label:>12}" for label in labels)
                 + " │ 2 workers/1, 1 worker/in-process")
    for name, s in res["sets"].items():
        rows = s["rows"]
        each = s["nbytes"] / s["files"] / 1e6
        for unit, key in (("files/s", "files_per_s"), ("MB/s", "mb_per_s")):
            head = f"{s['files']} {name} ({each:.1f} MB)" if unit == "files/s" else ""
            cells = "".join(f"{rows[label][key]:>12.1f}" for label in labels)
            ratios = ""
            if unit == "files/s" and {"1 worker", "2 workers"} <= set(rows):
                ratios = (f" │ {rows['1 worker']['seconds'] / rows['2 workers']['seconds']:.2f}, "
                          f"{rows['in-process']['seconds'] / rows['1 worker']['seconds']:.2f}")
            lines.append(f"  {head:28}{unit:8}{cells}{ratios}")
    return lines
