"""Bulk conversion (:func:`napari_mrcz.convert_many`) on a real dask.distributed cluster of worker processes:
every kind of file in the shared corpus with the hostile ones among them, verification, resume, stale
temporary files, a full disk; and the planning rules (names, folders, globs, collisions).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.io.batch import BatchProgress, compare_files
from napari_mrcz.io.batch.plan import expand_inputs, output_name, plan_outputs
from napari_mrcz.io.batch.record import RECORD_NAME, RunRecord

distributed = pytest.importorskip("distributed")

GOOD_KINDS = ("mrcz", "real")


@pytest.fixture(scope="module")
def client(dask_scheduler: str) -> Iterator[distributed.Client]:
    """A client of the session's two worker processes (``scheduler=`` also takes a Client)."""
    with distributed.Client(dask_scheduler, set_as_default=False) as c:
        yield c


def copy_corpus(testdata: Path, folder: Path, kinds: tuple[str, ...]) -> dict[str, list[Path]]:
    """The corpus files of ``kinds`` copied into ``folder/kind`` (oracle .npy files left out)."""
    copies: dict[str, list[Path]] = {}
    for kind in kinds:
        (folder / kind).mkdir(parents=True)
        copies[kind] = [Path(shutil.copy2(p, folder / kind)) for p in sorted((testdata / kind).iterdir())
                        if p.is_file() and p.suffix not in (".npy", ".md", ".json")]
    return copies


def by_name(results: list[nm.ConvertResult]) -> dict[str, nm.ConvertResult]:
    return {Path(r.input).name: r for r in results}


def output_stats(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.mrcz")}


def assert_same_image(source: Path, output: Path) -> None:
    a, b = nm.read(source, strict=False), nm.read(output)
    assert np.array_equal(a.data, b.data, equal_nan=True), output
    assert np.allclose(b.voxel_size, [v if np.isfinite(v) else 0 for v in a.voxel_size], rtol=1e-6)
    assert np.allclose(b.origin, a.origin, rtol=1e-6, equal_nan=True)
    added = {} if "tilt_angles" in a.metadata else {"tilt_angles"}  # where no extended header holds them
    assert {k: v for k, v in b.metadata.items() if k not in added} == a.metadata
    assert (a.tilt_angles is None and b.tilt_angles is None) or np.array_equal(a.tilt_angles, b.tilt_angles)


# -------------------------------------------------------------------------------- a corpus run


@pytest.mark.slow
def test_corpus_with_hostile_files(client: distributed.Client, testdata: Path, tmp_path: Path) -> None:
    """Every good file converts and verifies, every hostile one fails alone with its reason, the EMDB map
    beside its own .bz2 converts once (the .bz2 reported as a duplicate), and nothing else is left."""
    copies = copy_corpus(testdata, tmp_path / "in", (*GOOD_KINDS, "bad"))
    out = tmp_path / "out"
    seen: list[BatchProgress] = []
    results = nm.convert_many([tmp_path / "in" / k for k in (*GOOD_KINDS, "bad")], out, scheduler=client,
                              verify=True, progress=lambda r, s: seen.append(s))
    got = by_name(results)
    assert len(results) == sum(map(len, copies.values()))
    duplicate = "EMD-3197.map.bz2"  # EMD-3197.map compressed: converted once, from the .map
    for path in copies["mrcz"] + copies["real"]:
        result = got[path.name]
        if path.name == duplicate:
            assert result.status == "skipped" and "the same file as" in result.reason and "EMD-3197.map " in result.reason
            assert result.output == got["EMD-3197.map"].output
            continue
        assert result.status == "done" and result.verified, result
        assert result.bytes_out == Path(result.output).stat().st_size > 0 and result.ratio > 0
        assert_same_image(path, Path(result.output))
    for path in copies["bad"]:
        result = got[path.name]
        assert result.status == "failed" and result.reason and not Path(result.output).exists(), result
    fei = got["fei-extended.mrc"]  # its FEI1 extended header (per-section records) is carried over
    assert not fei.warnings and nm.open_mrc(fei.output).extended_header == nm.open_mrc(fei.input).extended_header
    emd = got["emd_3001.map.gz"]  # an untyped extended header is not (mrcfile.validate refuses it)
    assert emd.warnings and "untyped extended header" in emd.warnings[0]
    assert got["emd_3001.map.gz"].output == str(out / "emd_3001.mrcz")
    expected = {Path(r.output).name for r in results if r.status == "done"} | {RECORD_NAME, ".napari-mrcz-convert.lock"}
    assert {p.name for p in out.iterdir()} == expected  # no temporary files, no outputs of failed files
    assert seen[0].files == 1 and seen[-1].files == seen[-1].total_files == len(results)
    assert seen[-1].total_bytes == sum(r.bytes_in for r in results)


@pytest.mark.slow
def test_plain_suffix_and_settings(client: distributed.Client, testdata: Path, tmp_path: Path) -> None:
    copies = copy_corpus(testdata, tmp_path / "in", ("mrcz",))
    results = nm.convert_many(tmp_path / "in" / "mrcz" / "*.mrcz", tmp_path / "plain", suffix=".mrc",
                              keep_metadata=False, scheduler=client, verify=True)
    assert [Path(r.output).name for r in results] == [p.name[:-5] + ".mrc" for p in copies["mrcz"] if p.suffix == ".mrcz"]
    for r in results:
        image = nm.read(r.output)
        assert r.status == "done" and image.header.compressor is None and image.metadata == {}
    with pytest.raises(nm.MrczError, match="plain MRC"):
        nm.convert_many([], tmp_path / "x", suffix=".mrc", compressor="zstd")
    with pytest.raises(nm.MrczError, match="not an MRC suffix"):
        nm.convert_many([], tmp_path / "x", suffix=".tif")


# ----------------------------------------------------------------------------------- resume


def test_resume_skips_complete_outputs_and_redoes_changed_ones(client: distributed.Client, testdata: Path,
                                                              tmp_path: Path) -> None:
    copy_corpus(testdata, tmp_path / "in", ("mrcz",))
    inputs, out = [tmp_path / "in" / "mrcz"], tmp_path / "out"
    first = nm.convert_many(inputs, out, scheduler=client)
    assert {r.status for r in first} == {"done"} and not any(r.verified for r in first)
    before, record = output_stats(out), (out / RECORD_NAME).read_bytes()

    again = nm.convert_many(inputs, out, scheduler=client)
    assert {r.status for r in again} == {"skipped"}
    assert output_stats(out) == before and (out / RECORD_NAME).read_bytes() == record  # nothing rewritten

    changed = tmp_path / "in/mrcz/int32_zstd.mrcz"
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    (out / "movie_int8_zstd1.mrcz").unlink()
    with open(out / "tomo_float32_lz4_9_nm.mrcz", "ab") as f:  # an output changed after it was recorded
        f.write(b"\0")
    third = by_name(nm.convert_many(inputs, out, scheduler=client))
    redone = {"int32_zstd.mrcz", "movie_int8_zstd1.mrcz", "tomo_float32_lz4_9_nm.mrcz"}
    assert {n for n, r in third.items() if r.status == "done"} == redone
    after = output_stats(out)
    assert all(after[n] == before[n] for n in before if n not in redone)
    assert all(after[n] != before[n] for n in redone)

    fourth = nm.convert_many(inputs, out, scheduler=client, clevel=5)  # other settings: other bytes
    assert {r.status for r in fourth} == {"done"}


def test_verify_rereads_outputs_of_unverified_runs(client: distributed.Client, testdata: Path, tmp_path: Path) -> None:
    """A run with verify=True checks outputs an earlier run made without it, without rewriting good ones;
    an output corrupted in place (same size and modification time) is found and converted again."""
    copy_corpus(testdata, tmp_path / "in", ("real",))
    inputs, out = [tmp_path / "in/real/mrcfile_stack.mrcs", tmp_path / "in/real/test.ccp4"], tmp_path / "out"
    nm.convert_many(inputs, out, suffix=".mrc", scheduler=client)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("*.mrc")}
    bad = out / "mrcfile_stack.mrc"
    stat = bad.stat()
    with open(bad, "r+b") as f:  # flip one data byte of the plain output, keep size and time
        f.seek(stat.st_size - 7)
        byte = f.read(1)
        f.seek(stat.st_size - 7)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(bad, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(nm.VerifyError, match="z-slice"):
        compare_files(inputs[0], bad)

    results = by_name(nm.convert_many(inputs, out, suffix=".mrc", scheduler=client, verify=True))
    assert results["test.ccp4"].status == "skipped" and results["test.ccp4"].verified
    assert results["mrcfile_stack.mrcs"].status == "done" and "did not match" in results["mrcfile_stack.mrcs"].reason
    assert (out / "test.mrc").stat().st_ino == before["test.mrc"][0]
    compare_files(inputs[0], bad)  # converted again: equal now
    assert {r.status for r in nm.convert_many(inputs, out, suffix=".mrc", scheduler=client, verify=True)} == {"skipped"}


# ---------------------------------------------------------------------- verification, by field

FIELDS = {
    "values": ({"data_change": (3, 5)}, "z-slice 3"),
    "first slice": ({"data_change": (0, 0)}, "z-slice 0"),
    "last slice": ({"data_change": (7, 99)}, "z-slice 7"),
    "nan payload": ({"nan_at": 4}, "z-slice 4"),
    "voxel size": ({"voxel_size": (2.0, 1.0, 1.5)}, "voxel size"),
    "origin": ({"origin": (5.0, -3.0, 2.5)}, "origin"),
    "metadata": ({"metadata": {"sample": "other"}}, "metadata"),
    "no metadata": ({"metadata": None}, "metadata"),
    "voltage": ({"voltage": 200.0}, "voltage"),
    "c3": ({"c3": 0.01}, "c3"),
    "gain": ({"gain": 2.0}, "gain"),
    "dtype": ({"dtype": np.int32}, "dtype"),
    "shape": ({"drop_slice": True}, "shape"),
}


@pytest.mark.parametrize("compressor", [None, "zstd"], ids=["plain", "zstd"])
@pytest.mark.parametrize("field", sorted(FIELDS))
def test_verify_finds_each_kind_of_difference(field: str, compressor: str | None, tmp_path: Path) -> None:
    """A converted file that differs from its source in any carried field fails verification with that
    field named; the faithful file passes."""
    data = np.random.default_rng(7).normal(size=(8, 12, 10)).astype(np.float32)
    data[4, 2, 2] = np.nan
    base = dict(voxel_size=(2.0, 1.0, 1.0), origin=(5.0, -3.0, 2.0), metadata={"sample": "apoferritin"},
                voltage=300.0, c3=2.7, gain=1.5)
    source = tmp_path / "source.mrc"
    nm.write(source, data, compressor=None, **base)
    good = tmp_path / "good.mrcz"
    nm.write(good, data, compressor=compressor or "zstd", **base)
    compare_files(source, good)

    change, message = FIELDS[field]
    options, tampered = dict(base), data.copy()
    if "data_change" in change:
        z, i = change["data_change"]
        tampered[z].flat[i] += 1e-3
    if "nan_at" in change:  # another NaN: equal as a value, not as bits
        tampered[change["nan_at"], 2, 2] = np.frombuffer(np.uint32(0x7FC00001).tobytes(), np.float32)[0]
    if "drop_slice" in change:
        tampered = tampered[:-1]
    if "dtype" in change:
        tampered = np.nan_to_num(np.round(tampered * 100)).astype(change["dtype"])
    options.update({k: v for k, v in change.items() if k in base})
    bad = tmp_path / ("bad.mrcz" if compressor else "bad.mrc")
    nm.write(bad, tampered, compressor=compressor, **options)
    with pytest.raises(nm.VerifyError, match=message):
        compare_files(source, bad)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.float16])
def test_verify_within_a_tolerance(dtype: Any, tmp_path: Path) -> None:
    """Lossy outputs pass within the tolerance they were written with and fail below it."""
    rng = np.random.default_rng(11)
    data = (rng.normal(size=(6, 16, 12)) + (1j * rng.normal(size=(6, 16, 12)) if dtype == np.complex64 else 0)).astype(dtype)
    data.flat[5] = np.nan if dtype != np.complex64 else data.flat[5]
    source, lossy = tmp_path / "source.mrc", tmp_path / "lossy.mrcz"
    nm.write(source, data, compressor=None)
    nm.write(lossy, data, tolerance=0.1)
    compare_files(source, lossy, tolerance=0.1)
    with pytest.raises(nm.VerifyError, match="differs by more than 0.01"):
        compare_files(source, lossy, tolerance=0.01)
    with pytest.raises(nm.VerifyError, match="differs from"):
        compare_files(source, lossy)


def test_lossy_and_integer_runs(client: distributed.Client, tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    noise, counts = tmp_path / "noise.mrc", tmp_path / "counts.mrc"
    nm.write(noise, rng.normal(size=(8, 32, 32)).astype(np.float32), compressor=None)
    nm.write(counts, rng.poisson(3.0, size=(8, 32, 32)).astype(np.float32), compressor=None)
    out = tmp_path / "out"
    auto = by_name(nm.convert_many([noise, counts], out, tolerance="auto", scheduler=client, verify=True))
    assert {r.status for r in auto.values()} == {"done"} and nm.read(out / "noise.mrcz").tolerance
    again = nm.convert_many([noise, counts], out, tolerance="auto", scheduler=client, verify=True)
    assert {r.status for r in again} == {"skipped"}
    ints = by_name(nm.convert_many([noise, counts], out, dtype="int", scheduler=client, verify=True))
    assert ints["counts.mrc"].status == "done" and nm.read(out / "counts.mrcz").data.dtype == np.int8
    assert ints["noise.mrc"].status == "failed" and "int" in ints["noise.mrc"].reason
    with pytest.raises(nm.MrczError, match="tolerance"):
        nm.convert_many([noise], out, tolerance="sometimes")
    with pytest.raises(nm.MrczError, match="dtype"):
        nm.convert_many([noise], out, dtype="float64")


def test_urls_as_inputs(client: distributed.Client, tmp_path: Path) -> None:
    """URLs (served by a real HTTP server on 127.0.0.1) convert on the workers beside local files, verify,
    resume by the server's size and version, and an unreachable one fails alone."""
    pytest.importorskip("fsspec")
    pytest.importorskip("aiohttp")
    from loopback_http import LoopbackServer

    served, local = tmp_path / "served", tmp_path / "local.mrc"
    served.mkdir()
    rng = np.random.default_rng(4)
    nm.write(served / "a.mrcz", rng.normal(size=(5, 20, 24)).astype(np.float32), metadata={"n": 1})
    nm.write(served / "b.map", rng.integers(0, 9, size=(3, 16, 16)).astype(np.int16), compressor=None)
    nm.write(local, np.ones((2, 8, 8), np.float32), compressor=None)
    out = tmp_path / "out"
    with LoopbackServer(served) as srv:
        inputs = [srv.url("a.mrcz"), srv.url("b.map?token=x"), str(local), srv.url("gone.mrc")]
        results = by_name(nm.convert_many(inputs, out, scheduler=client, verify=True))
        assert [results[n].status for n in ("a.mrcz", "b.map?token=x", "local.mrc")] == ["done"] * 3
        assert results["gone.mrc"].status == "failed" and "not found" in results["gone.mrc"].reason
        for name, output in (("a.mrcz", "a.mrcz"), ("b.map", "b.mrcz")):
            assert_same_image(served / name, out / output)
        assert results["a.mrcz"].bytes_in == (served / "a.mrcz").stat().st_size

        again = by_name(nm.convert_many(inputs[:3], out, scheduler=client))
        assert {r.status for r in again.values()} == {"skipped"}
        nm.write(served / "a.mrcz", rng.normal(size=(6, 20, 24)).astype(np.float32))  # a new version
        third = by_name(nm.convert_many(inputs[:3], out, scheduler=client))
        assert third["a.mrcz"].status == "done" and third["local.mrc"].status == "skipped"
        assert nm.read(out / "a.mrcz").data.shape == (6, 20, 24)


# ------------------------------------------------------------------ temporary files, lock, disk


def test_stale_temporary_files_are_removed(client: distributed.Client, testdata: Path, tmp_path: Path) -> None:
    """A killed writer's ``.NAME.XXXXXXXX.part`` is deleted when a run (re)writes NAME; others stay."""
    copy_corpus(testdata, tmp_path / "in", ("real",))
    out = tmp_path / "out"
    out.mkdir()
    stale = [out / ".test.mrcz.k2j4h5g6.part", out / ".mrcfile_stack.mrcz.abcdefgh.part"]
    foreign = [out / ".notes.txt.abcdefgh.part", out / "keep.part"]
    for path in stale + foreign:
        path.write_bytes(b"half a file")
    results = nm.convert_many([tmp_path / "in/real/test.ccp4", tmp_path / "in/real/mrcfile_stack.mrcs"], out,
                              scheduler=client)
    assert {r.status for r in results} == {"done"}
    assert not any(p.exists() for p in stale) and all(p.exists() for p in foreign)


def test_one_run_per_folder(tmp_path: Path) -> None:
    with RunRecord(tmp_path):
        with pytest.raises(nm.MrczError, match="another conversion is writing into"):
            nm.convert_many([], tmp_path)
    assert nm.convert_many([], tmp_path) == []


def test_broken_record_lines_are_ignored(client: distributed.Client, testdata: Path, tmp_path: Path) -> None:
    """A record line cut short by a kill (or any line not ours) costs that file a re-conversion, nothing more."""
    copy_corpus(testdata, tmp_path / "in", ("real",))
    inputs, out = [tmp_path / "in/real/test.ccp4", tmp_path / "in/real/mrcfile_float16.mrc"], tmp_path / "out"
    nm.convert_many(inputs, out, scheduler=client)
    lines = (out / RECORD_NAME).read_text().splitlines()
    (out / RECORD_NAME).write_text(lines[0] + "\n[1, 2]\n" + lines[1][: len(lines[1]) // 2])
    kept, cut = (json.loads(lines[0])["output"], json.loads(lines[1])["output"])  # in the order they finished
    results = nm.convert_many(inputs, out, scheduler=client)
    assert {Path(r.output).name: r.status for r in results} == {kept: "skipped", cut: "done"}
    assert all(json.loads(line)["version"] == 1 for line in (out / RECORD_NAME).read_text().splitlines())


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (skips unless mount is permitted, e.g. as root)."""
    point = tmp_path / "disk"
    point.mkdir()
    if not (shutil.which("mount") and shutil.which("umount")):
        pytest.skip("no mount/umount command")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(point)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_disk_full_fails_that_file_only(client: distributed.Client, small_disk: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    big = tmp_path / "big.mrc"
    nm.write(big, rng.normal(size=(32, 128, 128)).astype(np.float32), compressor=None)  # 2 MB, incompressible
    smalls = []
    for i in range(3):
        smalls.append(tmp_path / f"small{i}.mrc")
        nm.write(smalls[-1], np.full((2, 8, 8), i, np.int16), compressor=None)
    results = by_name(nm.convert_many([big, *smalls], small_disk, scheduler=client, verify=True))
    assert results["big.mrc"].status == "failed" and "No space left on device" in results["big.mrc"].reason
    done = [n for n, r in results.items() if r.status == "done"]
    assert done and all("No space" in r.reason for r in results.values() if r.status == "failed")
    assert not [p for p in small_disk.iterdir() if p.name.endswith(".part")]


# --------------------------------------------------------------------------------- planning


@pytest.mark.parametrize("name, suffix, expected", [
    ("EMD-3001.map", ".mrcz", "EMD-3001.mrcz"),
    ("x.mrc.gz", ".mrcz", "x.mrcz"),
    ("x.MRC.BZ2", ".mrc", "x.mrc"),
    ("a.b.mrcs", ".mrcz", "a.b.mrcz"),
    ("tomo.rec", ".map", "tomo.map"),
    ("movie.mrcz", ".mrc", "movie.mrc"),
    ("test.ccp4", ".mrcz", "test.mrcz"),
    ("frames.tif", ".mrcz", "frames.mrcz"),  # a file named explicitly, whatever its suffix
    ("raw.gz", ".mrcz", "raw.mrcz"),
    ("noext", ".mrcz", "noext.mrcz"),
])
def test_output_names_keep_the_stem(name: str, suffix: str, expected: str) -> None:
    assert output_name(Path("/data") / name, suffix) == expected


def test_folders_globs_and_missing_inputs(tmp_path: Path) -> None:
    names = ["a.mrc", "b.MRCZ", "c.map.gz", "d.txt", ".hidden.mrc", ".e.mrcz.abcd1234.part", "sub/f.mrcs", "sub/g.jpg"]
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    files, failed = expand_inputs([tmp_path, str(tmp_path / "**" / "*"), tmp_path / "a.mrc", tmp_path / "d.txt",
                                   tmp_path / "missing.mrc", str(tmp_path / "*.none"), str(tmp_path / "sub" / "*.jpg"),
                                   tmp_path / "sub" / "g.jpg"])
    assert [p.relative_to(tmp_path).as_posix() for p in files] == ["a.mrc", "b.MRCZ", "c.map.gz", "sub/f.mrcs",
                                                                   "d.txt", "sub/g.jpg"]
    assert [(Path(r.input).name, r.reason) for r in failed] == [
        ("missing.mrc", "no such file or folder"), ("*.none", "matches nothing"), ("*.jpg", "matches no MRC file")]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "has no MRC files" in expand_inputs([empty])[1][0].reason


def test_collisions_fail_instead_of_overwriting(tmp_path: Path) -> None:
    files = [tmp_path / n for n in ("x.mrc", "x.map.gz", "X.mrcs", "y.mrc", "y.mrcz", "z.mrc", "w.mrcz")]
    pairs, failed = plan_outputs(files, tmp_path, ".mrcz")
    assert [(p.name, o.name) for p, o in pairs] == [("z.mrc", "z.mrcz")]
    reasons = {Path(r.input).name: r.reason for r in failed}
    assert "x.map.gz, " in reasons["x.mrc"] and "X.mrcs" in reasons["x.mrc"] and "would also be written" in reasons["x.mrc"]
    assert "y.mrcz would also be written" in reasons["y.mrc"] and "y.mrc would also be written" in reasons["y.mrcz"]
    assert "is an input" in reasons["w.mrcz"]  # converted into its own folder with its own suffix
    assert plan_outputs(files[-1:], tmp_path / "out", ".mrcz")[0] == [(files[-1], tmp_path / "out" / "w.mrcz")]
