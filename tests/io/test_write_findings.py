"""The write side's findings are values too: ``write``, ``convert_file``, ``compare_files`` and a batch
task given ``findings=[...]`` collect what they find (float64 rounded, a tolerance ignored, a compressor
under a plain name, tilt angles or a seek table or JSON metadata of the input ignored) instead of
warning, with the very messages they warn with otherwise. Calls running at once on several threads
each get exactly their own, and none touches the process's warning filters or dask's configuration;
a batch task computes its dask graphs (an input stored in another axis order, an OME-Zarr output read
back) on its worker's threads, never as tasks of the cluster."""

from __future__ import annotations

import struct
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.errors import Finding, MrczWarning
from napari_mrcz.io.batch.task import Job, Settings, run_job
from napari_mrcz.io.batch.verify import compare_files
from napari_mrcz.io.codec.settings import CodecSettings

ROUNDS = 4


def _crc_broken(folder: Path) -> Path:
    """An MRCZ file whose seek table fails its CRC (read without it, with a finding)."""
    path = nm.write(folder / "table.mrcz", np.arange(3 * 6 * 8, dtype=np.float32).reshape(3, 6, 8))
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path


def _json_broken(folder: Path) -> Path:
    """A file whose JSON extended header is not an object (ignored, with a finding)."""
    path = nm.write(folder / "json.mrcz", np.ones((2, 4, 4), np.float32), metadata={"k": 1})
    raw = bytearray(path.read_bytes())
    raw[raw.index(b'{"k"')] = ord("[")
    path.write_bytes(bytes(raw))
    return path


def _counts(folder: Path) -> Path:
    return nm.write(folder / "counts.mrc", np.arange(2 * 4 * 6, dtype=np.int16).reshape(2, 4, 6))


def _tilt_series(folder: Path) -> Path:
    """A stack beside a .rawtlt listing 2 angles for its 3 sections (ignored, with a finding)."""
    path = nm.write(folder / "series.mrc", np.zeros((3, 4, 4), np.float32))
    (folder / "series.rawtlt").write_text("-3\n3\n")
    return path


def _reordered(folder: Path, name: str = "reordered.mrcz") -> Path:
    """A file stored in axis order MAPC/MAPR/MAPS = 3, 1, 2 (read through dask)."""
    path = nm.write(folder / name, np.random.default_rng(1).normal(size=(4, 6, 8)).astype(np.float32))
    raw = bytearray(path.read_bytes())
    struct.pack_into("<3i", raw, 64, 3, 1, 2)
    path.write_bytes(bytes(raw))
    return path


Call = Callable[[Path, "list[Finding] | None"], Any]


def _cases(folder: Path) -> dict[str, tuple[Call, str]]:
    """name -> (a call writing into a given folder with ``findings``, what its one finding says)."""
    folder.mkdir()
    table, broken_json, counts, series = _crc_broken(folder), _json_broken(folder), _counts(folder), _tilt_series(folder)
    f64 = np.random.default_rng(0).normal(size=(3, 8, 8))
    return {
        "float64": (lambda out, found: nm.write(out / "o.mrcz", f64, lossy_cast=True, findings=found),
                    "o.mrcz: float64 values stored as float32"),
        "plain name": (lambda out, found: nm.write(out / "o.mrc", f64.astype(np.float32), compressor="lz4",
                                                   findings=found), "o.mrc: written as MRCZ (lz4-compressed)"),
        "seek table": (lambda out, found: nm.convert_file(table, out / "o.mrcz", findings=found),
                       f"{table}: seek table"),
        "json": (lambda out, found: nm.convert_file(broken_json, out / "o.mrc", findings=found),
                 f"{broken_json}: JSON extended header ignored"),
        "tolerance": (lambda out, found: nm.convert_file(counts, out / "o.mrcz", tolerance=2, findings=found),
                      "o.mrcz: tolerance=2 ignored: int16 data is always stored exactly"),
        "tilt angles": (lambda out, found: nm.convert_file(series, out / "o.mrcz", findings=found),
                        f"{folder / 'series.rawtlt'}: tilt angles ignored: 2 angles for 3 sections"),
    }


def _warned(call: Call, out: Path) -> list[str]:
    out.mkdir(parents=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(out, None)
    return [str(w.message) for w in caught if issubclass(w.category, MrczWarning)]


def test_each_call_collects_what_it_would_warn(tmp_path: Path) -> None:
    for name, (call, says) in _cases(tmp_path / "in").items():
        warned = _warned(call, tmp_path / name / "warned")
        found: list[Finding] = []
        (tmp_path / name / "collected").mkdir()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call(tmp_path / name / "collected", found)
        assert not [w for w in caught if issubclass(w.category, MrczWarning)], name  # collected, not warned
        assert all(isinstance(f, Finding) for f in found)
        assert [str(f) for f in found] == warned, name  # one message, two outlets
        assert len(found) == 1 and str(found[0]).startswith(says), (name, found)


def test_calls_on_many_threads_each_get_their_own_findings(tmp_path: Path) -> None:
    """All cases at once, on one thread each, several rounds in step: each call's list holds exactly
    what that call warns when alone (under catch_warnings, these would mix or be lost)."""
    cases = _cases(tmp_path / "in")
    alone = {name: _warned(call, tmp_path / "alone" / name) for name, (call, _) in cases.items()}
    assert len({tuple(v) for v in alone.values()}) == len(cases)  # every case finds something else
    start = threading.Barrier(len(cases))
    got: dict[str, list[list[str]]] = {name: [] for name in cases}
    failures: list[BaseException] = []

    def run(name: str, call: Call) -> None:
        try:
            for i in range(ROUNDS):
                out = tmp_path / "threads" / name / str(i)
                out.mkdir(parents=True)
                found: list[Finding] = []
                start.wait(timeout=60)
                call(out, found)
                got[name].append([str(f) for f in found])
        except BaseException as err:  # noqa: BLE001 - reported below, in the test's thread
            failures.append(err)
            start.abort()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=run, args=(name, call)) for name, (call, _) in cases.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not failures, failures
    assert not [str(w.message) for w in caught if issubclass(w.category, MrczWarning)]
    assert got == {name: [alone[name]] * ROUNDS for name in cases}


def _settings(**changes: Any) -> Settings:
    base = dict(codec=CodecSettings(threads=1), keep_metadata=True, verify=True, strict="auto")
    return Settings(**{**base, **changes})  # type: ignore[arg-type]


def test_batch_tasks_on_two_threads_record_their_own_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batch tasks at once on one worker's threads (converting and verifying): each result lists its own
    file's findings, as run alone, and none changes dask's configuration."""
    import dask

    folder = tmp_path / "in"
    folder.mkdir()
    table, counts, reordered = _crc_broken(folder), _counts(folder), _reordered(folder)
    jobs = {
        "table": (Job(table, tmp_path / "out" / "table.mrcz", table.stat().st_size), _settings()),
        "counts": (Job(counts, tmp_path / "out" / "counts.mrcz", counts.stat().st_size), _settings(tolerance=2.0)),
        "reordered": (Job(reordered, tmp_path / "out" / "reordered.mrc", reordered.stat().st_size), _settings()),
    }
    (tmp_path / "out").mkdir()
    alone = {name: run_job(job, settings) for name, (job, settings) in jobs.items()}
    assert all(r.status == "done" and r.verified for r in alone.values()), alone
    assert [len(alone[n].warnings) for n in jobs] == [1, 1, 0]
    assert alone["table"].warnings[0].startswith(f"{table}: seek table")
    assert alone["counts"].warnings[0] == "counts.mrcz: tolerance=2 ignored: int16 data is always stored exactly"

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("dask.config.set called by a batch task")

    start = threading.Barrier(len(jobs))
    got: dict[str, list[tuple[str, ...]]] = {name: [] for name in jobs}

    def run(name: str) -> None:
        job, settings = jobs[name]
        for _ in range(ROUNDS):
            start.wait(timeout=60)
            result = run_job(job, settings)
            got[name].append(result.warnings if result.status == "done" else (result.reason,))

    # (dask's own code enters catch_warnings while it builds graphs: what the library itself calls is
    # checked by test_process_state.py's scan of the source)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with monkeypatch.context() as patch:
            patch.setattr(dask.config, "set", refuse)
            threads = [threading.Thread(target=run, args=(name,)) for name in jobs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    assert not [str(w.message) for w in caught if issubclass(w.category, MrczWarning)]
    assert got == {name: [alone[name].warnings] * ROUNDS for name in jobs}


def test_verifying_collects_the_findings_of_both_files(tmp_path: Path) -> None:
    table = _crc_broken(tmp_path)
    out = nm.convert_file(table, tmp_path / "copy.mrcz", findings=[])
    found: list[Finding] = []
    compare_files(table, out, findings=found)
    assert [f.source for f in found] == [str(table)] and "seek table" in found[0].message


def test_batch_graphs_run_on_the_worker_not_the_cluster(dask_scheduler: str, tmp_path: Path) -> None:
    """An input stored in another axis order is reordered through dask, and an OME-Zarr output is read
    back through dask: both on the task's worker, so the cluster sees only the conversion tasks."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("zarr")
    folder = tmp_path / "in"
    folder.mkdir()
    source = _reordered(folder)
    truth = nm.read(source).data
    with distributed.Client(dask_scheduler, set_as_default=False) as client:
        with distributed.get_task_stream(client) as stream:
            results = [
                *nm.convert_many([source], tmp_path / "mrcz", verify=True, scheduler=client),
                *nm.convert_many([source], tmp_path / "zarr", suffix=".ome.zarr", verify=True, scheduler=client),
            ]
    assert [(r.status, r.verified) for r in results] == [("done", True)] * 2, results
    assert np.array_equal(nm.read(results[0].output).data, truth)
    keys = [str(task["key"]) for task in stream.data]
    assert len(keys) == 2 and all(k.startswith("napari-mrcz-convert-") for k in keys), keys
