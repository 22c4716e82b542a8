"""``napari-mrcz convert IN [IN ...] --out-dir DIR`` run for real in a subprocess: on a dask scheduler the
test starts, on the command's own local workers, killed mid-run and run again."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.cli import main
from napari_mrcz.io.batch.record import RECORD_NAME
from napari_mrcz.io.writer.convert import convert_file

from test_cli import run

pytest.importorskip("distributed")
mrcfile = pytest.importorskip("mrcfile")


@pytest.mark.slow
def test_table_json_and_exit_status(dask_scheduler: str, testdata: Path, tmp_path: Path) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(testdata / "mrcz", folder, ignore=shutil.ignore_patterns("*.npy"))
    shutil.copy(testdata / "bad/truncated_chunk.mrcz", folder / "hostile.mrcz")
    first = run("convert", folder, "--out-dir", out, "--scheduler", dask_scheduler, "--verify")
    assert first.returncode == 1, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].split()[:4] == ["status", "input", "output", "in"]
    hostile = next(line for line in lines if "hostile.mrcz" in line)
    assert hostile.startswith("failed") and "compressed slice 2 of 12" in hostile
    assert sum(line.startswith("done ") for line in lines) == 12
    assert lines[-1].startswith("13 files: 12 done, 0 skipped, 1 failed; converted") and "MB/s" in lines[-1]
    assert "Traceback" not in first.stderr

    again = run("convert", folder, "--out-dir", out, "--scheduler", dask_scheduler, "--verify", "--json")
    results = {Path(r["input"]).name: r for r in json.loads(again.stdout)}
    assert again.returncode == 1 and results["hostile.mrcz"]["status"] == "failed"
    assert {r["status"] for n, r in results.items() if n != "hostile.mrcz"} == {"skipped"}
    assert results["movie_int8_zstd1.mrcz"]["verified"] and results["movie_int8_zstd1.mrcz"]["ratio"] > 0

    (folder / "hostile.mrcz").unlink()
    quiet = run("convert", folder, "--out-dir", out, "--scheduler", dask_scheduler, "-q")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


@pytest.mark.parametrize("args, message", [
    (["a.mrc", "b.mrc", "c.mrc"], "give IN OUT, or IN [IN ...] --out-dir DIR"),
    (["a.mrc", "b.mrcz", "--verify"], "--verify needs --out-dir"),
    (["a.mrc", "b.mrcz", "--suffix", ".mrc", "--workers", "2"], "--suffix --workers needs --out-dir"),
    (["a.mrc", "--out-dir", "o", "--suffix", ".tif"], "cannot tell the output format"),
    (["a.mrc", "--out-dir", "o", "--suffix", ".mrc", "--compressor", "zstd"], "name it .mrcz"),
    (["a.mrc", "--out-dir", "o", "--workers", "0"], "--workers must be at least 1"),
    (["a.mrc", "--out-dir", "o", "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], "only without --scheduler"),
])
def test_usage_errors(args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # in-process: the subprocess form of these errors is tested in test_cli.py
    assert main(["convert", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "o").exists()


def make_session(folder: Path, count: int) -> list[Path]:
    """``count`` 0.5 MB float32 stacks of noise (slow to compress at zlib level 5)."""
    folder.mkdir()
    rng = np.random.default_rng(5)
    paths = [folder / f"frames_{i:03d}.mrc" for i in range(count)]
    for path in paths:
        nm.write(path, rng.normal(size=(8, 128, 128)).astype(np.float32), compressor=None, voxel_size=1.2,
                 metadata={"frame": path.name})
    return paths


def recorded(out: Path) -> list[str]:
    """Outputs whose record lines are complete."""
    try:
        text = (out / RECORD_NAME).read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line)["output"] for line in text.splitlines()[: text.count("\n")]]


def command(*args: Any) -> list[str]:
    return [sys.executable, "-m", "napari_mrcz", *map(str, args)]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_interrupted_run_completes_when_run_again(sig: signal.Signals, dask_scheduler: str, tmp_path: Path) -> None:
    """The command and its local workers are killed (SIGKILL: a batch system ending the job) or
    interrupted (SIGINT to the process group: Ctrl-C) after some files are done; running it again (here
    on a scheduler) converts the rest, rewrites none of the finished ones, and gives the files a clean
    run gives."""
    inputs, out = make_session(tmp_path / "session", 16), tmp_path / "out"
    options = ["--compressor", "zlib", "--clevel", "5", "--threads", "1", "--verify"]
    # a test run started in the background by a shell without job control (nohup ... &, CI runners) has
    # SIGINT ignored, and children inherit that: give the command the default, as a terminal does
    proc = subprocess.Popen(command("convert", inputs[0].parent, "--out-dir", out, *options, "--workers", "2"),
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(recorded(out)) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, f"the run ended before it could be interrupted: {proc.communicate()}"
        os.killpg(proc.pid, sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr, stderr
    else:
        assert proc.returncode == -signal.SIGKILL
    _wait_for_group_exit(proc.pid)
    finished = recorded(out)
    assert 3 <= len(finished) < len(inputs)
    before = {name: (out / name).stat() for name in finished}

    again = subprocess.run(command("convert", inputs[0].parent, "--out-dir", out, *options, "--json",
                                   "--scheduler", dask_scheduler),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    statuses = {Path(r["output"]).name: r["status"] for r in json.loads(again.stdout)}
    assert {n for n, s in statuses.items() if s == "skipped"} == set(finished)
    assert all((out / n).stat().st_ino == st.st_ino and (out / n).stat().st_mtime_ns == st.st_mtime_ns
               for n, st in before.items())
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [p.stem + ".mrcz" for p in inputs]
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]
    clean = tmp_path / "clean"
    clean.mkdir()
    for path in inputs[::5]:  # what converting alone gives, byte for byte
        reference = convert_file(path, clean / (path.stem + ".mrcz"), compressor="zlib", clevel=5, n_threads=1)
        assert (out / reference.name).read_bytes() == reference.read_bytes()


def _wait_for_group_exit(pgid: int, timeout: float = 30) -> None:
    """The command's worker processes go with it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.killpg(pgid, signal.SIGKILL)
    pytest.fail("worker processes outlived the interrupted command")


@pytest.mark.parametrize("suffix", [".msk", ".PREALI"])  # every suffix: tests/format/test_names.py
def test_every_plain_suffix_single_file_convert_writes_is_a_batch_suffix(suffix: str, dask_scheduler: str,
                                                                         tmp_path: Path) -> None:
    """One rule for names: whatever plain suffix ``convert IN OUT`` writes, ``--suffix`` accepts (.msk too)."""
    source = make_session(tmp_path / "in", 1)[0]
    single = run("convert", source, tmp_path / f"single{suffix}", "-q")
    assert single.returncode == 0, single.stderr
    many = run("convert", source, "--out-dir", tmp_path / "out", "--suffix", suffix, "--scheduler", dask_scheduler,
               "--verify", "--json")
    assert many.returncode == 0, many.stderr
    (result,) = json.loads(many.stdout)
    assert result["status"] == "done" and result["output"] == str(tmp_path / "out" / f"frames_000{suffix}")
    with mrcfile.open(result["output"]) as plain:  # plain MRC2014
        assert np.array_equal(plain.data, nm.read(source).data)


@pytest.mark.parametrize("layout", ["same folder", "** glob"])
def test_output_folder_inside_the_inputs_resumes(layout: str, dask_scheduler: str, tmp_path: Path) -> None:
    inputs = make_session(tmp_path / "session", 3)
    folder = inputs[0].parent
    args = [folder, "--out-dir", folder] if layout == "same folder" else [folder / "**", "--out-dir", folder / "out"]
    first = run("convert", *args, "--scheduler", dask_scheduler)
    assert first.returncode == 0, first.stderr
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*.mrc*")}
    again = run("convert", *args, "--scheduler", dask_scheduler)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1].startswith("3 files: 0 done, 3 skipped, 0 failed")
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*.mrc*")} == before


def test_map_beside_its_bz2_converts_once(dask_scheduler: str, tmp_path: Path) -> None:
    """A typical EMDB download folder: EMD-1.map and EMD-1.map.bz2 are one map; a third, different
    EMD-2.map.gz beside a different EMD-2.map is a true clash, named with its fix."""
    folder = tmp_path / "emdb"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name in ("EMD-1.map", "EMD-2.map", "other.map"):
        nm.write(folder / name, rng.normal(size=(4, 6, 6)).astype(np.float32), compressor=None)
    (folder / "EMD-1.map.bz2").write_bytes(bz2.compress((folder / "EMD-1.map").read_bytes()))
    result = run("convert", folder / "EMD-1.map.bz2", folder / "EMD-1.map", "--out-dir", tmp_path / "out",
                 "--scheduler", dask_scheduler, "--json")
    assert result.returncode == 0, result.stderr
    got = {Path(r["input"]).name: r for r in json.loads(result.stdout)}
    assert got["EMD-1.map"]["status"] == "done" and got["EMD-1.map.bz2"]["status"] == "skipped"
    assert "the same file as" in got["EMD-1.map.bz2"]["reason"]
    (folder / "EMD-2.map.gz").write_bytes(gzip.compress((folder / "other.map").read_bytes()))
    clash = run("convert", folder / "EMD-2.map", folder / "EMD-2.map.gz", "--out-dir", tmp_path / "out",
                "--scheduler", dask_scheduler)
    assert clash.returncode == 1
    assert "would also be written to EMD-2.mrcz" in clash.stdout and "rename one" in clash.stdout
