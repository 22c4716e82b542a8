"""Batch runs and file names as users lay them out: an output folder inside the inputs (the same folder,
or under a ``**`` glob) resumes on the next run; one file in several wrappers (``X.map`` and
``X.map.bz2``) converts once and reports the others as duplicates, while a true clash fails naming the
fix; a URL whose server sends no validators is converted again on every run, never kept stale. Cases are
generated over layouts, suffixes and wrappers."""

from __future__ import annotations

import bz2
import gzip
import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm

pytest.importorskip("distributed")

WRAPPERS = {"": lambda b: b, ".gz": gzip.compress, ".bz2": bz2.compress}


def _write(path: Path, seed: int) -> np.ndarray:
    data = np.random.default_rng(seed).normal(size=(3, 8, 10)).astype(np.float32)
    nm.write(path, data, compressor=None, voxel_size=2.0)
    return data


def _stats(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


LAYOUTS = {
    "same folder": lambda root: ([root], root),
    "under a ** glob": lambda root: ([str(root / "**" / "*")], root / "out"),
    "folder and ** glob": lambda root: ([root, str(root / "**")], root / "sub" / "out"),
}


@pytest.mark.parametrize(("layout", "suffix"), list(itertools.product(LAYOUTS, (".mrcz", ".mrc", ".msk"))))
def test_an_output_folder_inside_the_inputs_resumes(dask_scheduler: str, tmp_path: Path, layout: str,
                                                    suffix: str) -> None:
    root = tmp_path / "session"
    root.mkdir()
    for i, name in enumerate(("a.map", "b.st", "c.rec.gz")):
        _write(root / name.removesuffix(".gz"), i)
        if name.endswith(".gz"):
            (root / name).write_bytes(gzip.compress((root / "c.rec").read_bytes()))
            (root / "c.rec").unlink()
    inputs, out = LAYOUTS[layout](root)
    first = nm.convert_many(inputs, out, suffix=suffix, scheduler=dask_scheduler, verify=True)
    assert sorted(r.status for r in first) == ["done"] * 3, first
    before = _stats(root)
    second = nm.convert_many(inputs, out, suffix=suffix, scheduler=dask_scheduler, verify=True)
    assert sorted(Path(r.input).name for r in second) == ["a.map", "b.st", "c.rec.gz"]
    assert {r.status for r in second} == {"skipped"}, second
    assert _stats(root) == before  # nothing rewritten, nothing added


@pytest.mark.parametrize("wrappers", [("", ".bz2"), ("", ".gz"), (".gz", ".bz2"), ("", ".gz", ".bz2"), (".bz2", ".gz")])
def test_one_file_in_several_wrappers_converts_once(dask_scheduler: str, tmp_path: Path, wrappers: tuple[str, ...]) -> None:
    raw = tmp_path / "raw.map"
    data = _write(raw, 7)
    folder = tmp_path / "EMDB"
    folder.mkdir()
    for wrapper in wrappers:  # .gz as .GZ: suffixes match in any case
        (folder / f"EMD-1.map{wrapper.replace('.gz', '.GZ')}").write_bytes(WRAPPERS[wrapper](raw.read_bytes()))
    results = {Path(r.input).name: r for r in nm.convert_many([folder], tmp_path / "out", scheduler=dask_scheduler)}
    names = sorted(results)  # the order a folder lists them in
    kept = "EMD-1.map" if "" in wrappers else names[0]  # unwrapped first, else the first found
    assert results[kept].status == "done", results
    for name in names:
        if name != kept:
            r = results[name]
            assert r.status == "skipped" and f"the same file as {folder / kept}" in r.reason, r
            assert r.output == str(tmp_path / "out" / "EMD-1.mrcz")
    assert np.array_equal(nm.read(tmp_path / "out" / "EMD-1.mrcz").data, data)


@pytest.mark.parametrize("wrapper", [".gz", ".bz2"])
def test_a_true_clash_fails_naming_the_fix(dask_scheduler: str, tmp_path: Path, wrapper: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _write(folder / "X.map", 1)
    _write(tmp_path / "other.map", 2)  # another map under the same stem
    (folder / f"X.map{wrapper}").write_bytes(WRAPPERS[wrapper]((tmp_path / "other.map").read_bytes()))
    results = nm.convert_many([folder], tmp_path / "out", scheduler=dask_scheduler)
    assert [r.status for r in results] == ["failed", "failed"]
    assert all("would also be written to X.mrcz" in r.reason and "--out-dir" in r.reason for r in results)


def test_a_url_without_validators_is_never_kept_stale(dask_scheduler: str, tmp_path: Path) -> None:
    pytest.importorskip("fsspec")
    pytest.importorskip("aiohttp")
    from loopback_http import LoopbackServer

    served, out = tmp_path / "served", tmp_path / "out"
    served.mkdir()
    _write(served / "tomo.mrc", 1)
    with LoopbackServer(served) as srv:
        srv.validators = False
        url = srv.url("tomo.mrc")
        for seed in (2, 3, 3):  # changed at the same size, then unchanged: converted every time
            size = (served / "tomo.mrc").stat().st_size
            new = _write(served / "tomo.mrc", seed)
            assert (served / "tomo.mrc").stat().st_size == size
            (result,) = nm.convert_many([url], out, scheduler=dask_scheduler, verify=True)
            assert result.status == "done", result
            assert np.array_equal(nm.read(out / "tomo.mrcz").data, new)
        srv.validators = True  # with an ETag the unchanged file is skipped again
        nm.convert_many([url], out, scheduler=dask_scheduler)
        (result,) = nm.convert_many([url], out, scheduler=dask_scheduler)
        assert result.status == "skipped"
