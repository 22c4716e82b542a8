"""``napari-mrcz convert --tolerance`` / ``--dtype`` and ``info``'s precision line: the bound holds,
``auto`` says what it chose, bad values are one-line usage errors. One case runs the console script;
the others call ``main(argv)`` in this process (the same code, without an interpreter start each)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.cli.main import main

from test_cli import assert_one_line_error, run


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """``main(argv)`` in-process, returned like a finished subprocess."""

    def call(*args: Any) -> subprocess.CompletedProcess[str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return call


@pytest.fixture
def noisy(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(11)
    data = (np.linspace(-2, 2, 96)[None, None, :] + rng.normal(0, 0.7, (5, 80, 96))).astype(np.float32)
    path = tmp_path / "noisy.mrc"
    nm.write(path, data, compressor=None, metadata={"kept": True})
    return path, data


@pytest.mark.parametrize("spec, low, high", [("0.05", 0.05, 0.05), ("auto", 0.040, 0.048),
                                             ("auto:1/32", 0.020, 0.024), ("AUTO:0.125", 0.080, 0.096)])
def test_convert_with_tolerance(noisy: tuple[Path, np.ndarray], tmp_path: Path, spec: str, low: float,
                                high: float, cli: Any) -> None:
    src, data = noisy
    out = tmp_path / "out.mrcz"
    result = (run if spec == "auto" else cli)("convert", src, out, "--tolerance", spec)
    assert result.returncode == 0, result.stderr
    image = nm.read(out)
    assert low <= image.tolerance <= high
    assert np.abs(image.data.astype(np.float64) - data).max() <= image.tolerance
    assert image.metadata == {"kept": True}
    assert f"every value within {image.tolerance:g} of the input" in result.stdout
    if spec.lower().startswith("auto"):
        assert f"tolerance {spec} → {image.tolerance:g}" in result.stderr
    info = cli("info", out)
    assert f"precision    lossy by the writer's choice: every value within {image.tolerance:g}" in info.stdout
    assert json.loads(cli("info", "--json", out).stdout)[0]["tolerance"] == image.tolerance


def test_convert_lossless_and_integer_inputs(noisy: tuple[Path, np.ndarray], tmp_path: Path, cli: Any) -> None:
    src, data = noisy
    assert cli("convert", "-q", src, tmp_path / "same.mrcz").returncode == 0
    assert nm.read(tmp_path / "same.mrcz").data.tobytes() == data.tobytes()
    assert json.loads(cli("info", "--json", tmp_path / "same.mrcz").stdout)[0]["tolerance"] is None
    counts = tmp_path / "counts.mrc"
    nm.write(counts, np.arange(120, dtype=np.int16).reshape(2, 6, 10), compressor=None)
    auto = cli("convert", counts, tmp_path / "counts.mrcz", "--tolerance", "auto")
    assert auto.returncode == 0 and "int16 data is stored exactly" in auto.stderr
    fixed = cli("convert", counts, tmp_path / "counts2.mrcz", "--tolerance", "2")
    assert fixed.returncode == 0 and "napari-mrcz: warning: counts2.mrcz: tolerance=2 ignored" in fixed.stderr
    assert nm.read(tmp_path / "counts2.mrcz").tolerance is None


def test_convert_dtype_int(tmp_path: Path, cli: Any) -> None:
    src = tmp_path / "gain_normalised.mrc"
    counts = np.random.default_rng(12).poisson(5, (3, 20, 20)).astype(np.float32)
    nm.write(src, counts, compressor=None)
    assert cli("convert", "-q", src, tmp_path / "c.mrcz", "--dtype", "int").returncode == 0
    image = nm.read(tmp_path / "c.mrcz")
    assert image.data.dtype == np.int8 and np.array_equal(image.data, counts)
    assert cli("convert", "-q", src, tmp_path / "c16.mrc", "--dtype", "int16").returncode == 0
    assert nm.read(tmp_path / "c16.mrc").data.dtype == np.int16
    nm.write(src, counts + 0.5, compressor=None)
    assert_one_line_error(cli("convert", src, tmp_path / "x.mrcz", "--dtype", "int"), 1, "not all integers")
    assert not (tmp_path / "x.mrcz").exists()
    assert cli("convert", "-q", src, tmp_path / "r.mrcz", "--dtype", "int", "--tolerance", "0.5").returncode == 0


@pytest.mark.parametrize("spec, message", [("fast", "'auto' or 'auto:1/16'"), ("-1", "finite number >= 0"),
                                           ("auto:3", "(0, 1]"), ("nan", "finite number")])
def test_bad_tolerance_is_a_usage_error(noisy: tuple[Path, np.ndarray], tmp_path: Path, spec: str,
                                        message: str, cli: Any) -> None:
    src, _ = noisy
    assert_one_line_error(cli("convert", src, tmp_path / "o.mrcz", f"--tolerance={spec}"), 2, "--tolerance", message)
    assert_one_line_error(cli("convert", src, tmp_path / "o.mrcz", "--dtype", "float"), 2, "--dtype")
    assert not (tmp_path / "o.mrcz").exists()
