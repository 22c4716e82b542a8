"""The file name decides plain MRC or MRCZ when no compressor is given, in every writer: ``write``,
``write_async``, ``MrczWriter`` and ``convert_file`` (and the CLI's ``convert`` through the same rule)."""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mrcfile
import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz import MrczError, MrczWarning
from napari_mrcz.cli.main import main
from napari_mrcz.format.names import BY_NAME, PLAIN_SUFFIXES, compressor_for, suffix_kind
from napari_mrcz.io.writer.convert import convert_file

DATA = np.arange(3 * 5 * 7, dtype=np.int16).reshape(3, 5, 7)


def _case_variants(suffix: str) -> list[str]:
    return [suffix, suffix.upper(), suffix[:2].upper() + suffix[2:]]


def _with_write(path: Path, **kw: Any) -> None:
    nm.write(path, DATA, **kw)


def _with_async(path: Path, **kw: Any) -> None:
    nm.write_async(path, DATA, **kw).result()


def _with_writer(path: Path, **kw: Any) -> None:
    with nm.MrczWriter(path, **kw) as writer:
        writer.write(DATA)


def _with_convert(path: Path, **kw: Any) -> None:
    source = path.parent / "source.mrcz"
    if not source.exists():
        nm.write(source, DATA, compressor="lz4")
    convert_file(source, path, overwrite=True, **kw)


WRITERS: dict[str, Callable[..., None]] = {
    "write": _with_write, "write_async": _with_async, "MrczWriter": _with_writer, "convert_file": _with_convert,
}


@pytest.mark.parametrize("how", sorted(WRITERS))
@pytest.mark.parametrize("suffix", [s for plain in PLAIN_SUFFIXES for s in _case_variants(plain)])
def test_plain_suffix_writes_plain_mrc(tmp_path: Path, how: str, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("error", MrczWarning)
        WRITERS[how](path)
    assert nm.open_mrc(path).header.compressor is None
    with mrcfile.open(path) as mrc:  # what IMOD, RELION and mrcfile need
        assert np.array_equal(mrc.data, DATA)


@pytest.mark.parametrize("how", sorted(WRITERS))
@pytest.mark.parametrize("name", ["out.mrcz", "out.MRCZ", "out", "out.tif", "out.mrc.part", "archive.v2"])
def test_mrcz_and_other_names_use_the_default_codec(tmp_path: Path, how: str, name: str) -> None:
    path = tmp_path / name
    WRITERS[how](path)
    assert nm.open_mrc(path).header.compressor == "zstd"
    assert np.array_equal(nm.read(path).data, DATA)


@pytest.mark.parametrize("how", sorted(WRITERS))
@pytest.mark.parametrize("compressor", ["zstd", "lz4", "zlib"])
@pytest.mark.parametrize("suffix", [".mrc", ".MAP", ".mrcs", ".rec"])
def test_explicit_compressor_with_plain_suffix_warns(tmp_path: Path, how: str, compressor: str, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    with pytest.warns(MrczWarning, match=r"only mrcz-aware readers"):
        WRITERS[how](path, compressor=compressor)
    assert nm.open_mrc(path).header.compressor == compressor


@pytest.mark.parametrize("how", sorted(WRITERS))
@pytest.mark.parametrize("name", ["out.mrcz", "out"])
def test_explicit_none_is_plain_under_any_name(tmp_path: Path, how: str, name: str) -> None:
    path = tmp_path / name
    with warnings.catch_warnings():
        warnings.simplefilter("error", MrczWarning)
        WRITERS[how](path, compressor=None)
    assert nm.open_mrc(path).header.compressor is None


@pytest.mark.parametrize("how", sorted(WRITERS))
@pytest.mark.parametrize("name", ["out.mrc.gz", "out.map.GZ", "out.mrcs.bz2", "out.gz"])
@pytest.mark.parametrize("compressor", [BY_NAME, None, "zstd"])
def test_gzip_names_are_not_written(tmp_path: Path, how: str, name: str, compressor: Any) -> None:
    path = tmp_path / name
    with pytest.raises(MrczError, match="gzip/bzip2 files are read but not written"):
        WRITERS[how](path, compressor=compressor)
    assert not path.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != "source.mrcz"] == []


def test_rule_is_one_function() -> None:
    assert [suffix_kind(n) for n in ("a.mrc", "a.MRCZ", "a.map.gz", "a.tif", b"a.st")] == [
        "plain", "mrcz", "stream", "other", "plain"]
    assert compressor_for("x.ccp4") is None and compressor_for("x.msk") is None
    assert compressor_for(Path("x.mrcz")) == "zstd" and compressor_for("x.mrcz", "lz4") == "lz4"
    assert pickle.loads(pickle.dumps(BY_NAME)) is BY_NAME  # write_async and dask may pickle arguments


@pytest.mark.parametrize(("name", "flags", "code", "compressed"), [
    ("o.mrc", [], 0, False), ("o.CCP4", [], 0, False), ("o.mrcz", [], 0, True), ("o.mrcz", ["--compressor", "lz4"], 0, True),
    ("o.mrc", ["--compressor", "zstd"], 2, None), ("o.mrcz", ["--compressor", "none"], 2, None), ("o.tif", [], 2, None),
])
def test_cli_convert_uses_the_rule(tmp_path: Path, name: str, flags: list[str], code: int, compressed: bool | None) -> None:
    source = tmp_path / "in.mrc"
    nm.write(source, DATA)
    assert main(["convert", str(source), str(tmp_path / name), "-q", *flags]) == code
    if compressed is not None:
        assert (nm.open_mrc(tmp_path / name).header.compressor is not None) == compressed
