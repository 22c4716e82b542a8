"""The ``napari-mrcz`` console script, run for real in a subprocess: output, files and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import napari_mrcz as nm

SCRIPT = shutil.which("napari-mrcz", path=os.path.dirname(sys.executable))


def run(*args: Any, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The console script (``python -m napari_mrcz`` only if it is not installed; see the test below)."""
    command = [SCRIPT] if SCRIPT else [sys.executable, "-m", "napari_mrcz"]
    env = {**os.environ, "COLUMNS": "120", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, encoding="utf-8",
                          timeout=timeout, env=env)


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *parts: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for part in parts:
        assert part in lines[0]


@pytest.fixture
def volume(tmp_path: Path) -> tuple[Path, np.ndarray]:
    data = np.random.default_rng(1).normal(size=(6, 40, 30)).astype(np.float32)
    path = tmp_path / "in.mrc"
    nm.write(path, data, compressor=None, voxel_size=(3.0, 2.0, 2.0), metadata={"sample": "Zoë"},
             voltage=300.0, c3=2.7, gain=1.5)
    return path, data


def test_console_script_is_installed() -> None:
    assert SCRIPT, "napari-mrcz is not on PATH next to python: pip install -e ."


@pytest.mark.slow
def test_help_everywhere_with_examples() -> None:
    top = run("--help")
    assert top.returncode == 0 and "examples:" in top.stdout
    for command in ("info", "convert", "validate", "view"):
        result = run(command, "--help")
        assert result.returncode == 0 and "examples:" in result.stdout and f"napari-mrcz {command}" in result.stdout
    module = subprocess.run([sys.executable, "-m", "napari_mrcz", "--help"], capture_output=True, text=True)
    assert module.returncode == 0 and module.stdout.startswith("usage: napari-mrcz")


@pytest.mark.slow
def test_usage_errors_exit_2_in_one_line(tmp_path: Path) -> None:
    assert run().returncode == 2
    assert_one_line_error(run("frobnicate"), 2, "invalid choice")
    assert_one_line_error(run("convert", "a.mrc", "b.mrcz", "--clevel", "12"), 2, "--clevel")


@pytest.mark.slow
def test_info_text_and_json(volume: tuple[Path, np.ndarray], testdata: Path) -> None:
    path, _ = volume
    text = run("info", path)
    assert text.returncode == 0
    for part in ("plain MRC2014", "mode 2 (float32)", "6 × 40 × 30 (z, y, x)", "3 × 2 × 2 Å (z, y, x)",
                 "300 kV, C3 2.7 mm, gain 1.5", "ext. header  json", '"sample": "Zoë"'):
        assert part in text.stdout, text.stdout
    mrcz_file = testdata / "mrcz/tomo_float32_lz4_9_nm.mrcz"
    result = run("info", "--json", "--stats", path, mrcz_file)
    first, second = json.loads(result.stdout)
    assert first["shape"] == [6, 40, 30] and first["voxel_size"] == [3.0, 2.0, 2.0]
    assert first["metadata"] == {"sample": "Zoë"} and first["compressor"] is None
    assert second["compressor"] == "lz4" and second["ratio"] > 1 and second["stats"]["source"] == "data"
    assert second["stats"]["rms"] == pytest.approx(np.load(testdata / "mrcz/tomo_float32_lz4_9_nm.mrcz.npy").std(),
                                                   rel=1e-4)  # the header's RMS is mrcz's 0


@pytest.mark.slow
def test_info_error_is_one_line(tmp_path: Path, testdata: Path) -> None:
    assert_one_line_error(run("info", tmp_path / "missing.mrc"), 1, "missing.mrc", "No such file")
    assert_one_line_error(run("info", testdata / "bad/dims_bomb.mrc"), 1, "truncated")


def test_convert_streams_with_progress(volume: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, data = volume
    out = tmp_path / "out.mrcz"
    result = run("convert", path, out, "--compressor", "lz4", "--clevel", "5", "--threads", "1", "--progress")
    assert result.returncode == 0, result.stderr
    assert "100%" in result.stderr and "ratio" in result.stderr and "B/s" in result.stderr
    assert "out.mrcz" in result.stdout and "MB/s" in result.stdout
    image = nm.read(out)
    assert np.array_equal(image.data, data) and image.header.compressor == "lz4"
    assert image.voxel_size == (3.0, 2.0, 2.0) and image.metadata == {"sample": "Zoë"}
    assert (image.header.voltage, image.header.gain) == (300.0, 1.5)
    assert image.header.c3 == pytest.approx(2.7)


@pytest.mark.slow
def test_convert_refuses_to_overwrite_without_force(volume: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, data = volume
    out = tmp_path / "out.mrcz"
    out.write_bytes(b"precious")
    assert_one_line_error(run("convert", path, out), 1, "exists", "--force")
    assert out.read_bytes() == b"precious"
    assert run("convert", "-q", path, out, "--force").returncode == 0
    assert np.array_equal(nm.read(out).data, data)


@pytest.mark.slow
def test_convert_suffix_policy(volume: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = volume
    assert_one_line_error(run("convert", path, tmp_path / "o.tif"), 2, "'.tif'", ".mrcz")
    assert_one_line_error(run("convert", path, tmp_path / "o.mrc", "--compressor", "zstd"), 2, "name it .mrcz")
    assert_one_line_error(run("convert", path, tmp_path / "o.mrcz", "--compressor", "none"), 2, ".mrc for plain")
    assert not list(tmp_path.glob("o.*"))
    assert run("convert", "-q", path, tmp_path / "o.mrcz").returncode == 0
    assert nm.open_mrc(tmp_path / "o.mrcz").header.compressor == "zstd"  # the default


@pytest.mark.slow
def test_convert_mrcz_library_file_to_valid_files(testdata: Path, tmp_path: Path) -> None:
    source = testdata / "mrcz/movie_int8_zstd1.mrcz"
    assert run("validate", source).returncode == 1  # mrcz's NVERSION 0 and first-frame statistics
    for name, extra in (("fixed.mrcz", []), ("plain.mrc", ["--no-metadata"])):
        assert run("convert", "-q", source, tmp_path / name, *extra).returncode == 0
        assert run("validate", tmp_path / name).returncode == 0
    mrcfile = pytest.importorskip("mrcfile")
    assert mrcfile.validate(str(tmp_path / "plain.mrc"), print_file=open(os.devnull, "w"))
    assert np.array_equal(nm.read(tmp_path / "plain.mrc").data, np.load(testdata / "mrcz/movie_int8_zstd1.mrcz.npy"))


@pytest.mark.slow
def test_convert_gzip_input_warns_about_dropped_extended_header(testdata: Path, tmp_path: Path) -> None:
    result = run("convert", "-q", testdata / "real/emd_3001.map.gz", tmp_path / "emd.mrcz")
    assert result.returncode == 0
    assert result.stderr.strip() == (f"napari-mrcz: warning: {testdata / 'real/emd_3001.map.gz'}: the untyped "
                                     "extended header (160 bytes) is not carried over")
    assert np.array_equal(nm.read(tmp_path / "emd.mrcz").data, nm.read(testdata / "real/emd_3001.map.gz").data)


@pytest.mark.slow
def test_convert_failing_midway_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "corrupt.mrcz"
    nm.write(source, np.ones((5, 30, 30), np.float32) * np.arange(30))
    info = nm.open_mrc(source)
    start, size = int(info.chunk_index.offsets[3]), int(info.chunk_index.cbytes[3])
    info.close()
    raw = bytearray(source.read_bytes())
    raw[start + 16 : start + size] = bytes(size - 16)  # slice 3 decodes to an error, its header intact
    source.write_bytes(bytes(raw))
    assert_one_line_error(run("convert", "-q", source, tmp_path / "out.mrcz"), 1, "compressed slice 3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.mrcz"]  # no OUT, no temporary file


@pytest.mark.slow
def test_validate_exit_codes(tmp_path: Path, testdata: Path) -> None:
    good = tmp_path / "good.mrcz"
    nm.write(good, np.zeros((2, 4, 4), np.int16))
    invalid, unreadable = testdata / "real/test.ccp4", testdata / "bad/truncated_chunk.mrcz"
    result = run("validate", good)
    assert (result.returncode, result.stdout.strip()) == (0, f"{good}: valid")
    result = run("validate", good, invalid)
    assert result.returncode == 1 and f"{invalid}: invalid\n  error: NVERSION=0" in result.stdout
    result = run("validate", "--json", good, invalid, unreadable)
    assert result.returncode == 2
    statuses = [(r["valid"], r["status"]) for r in json.loads(result.stdout)]
    assert statuses == [(True, "valid"), (False, "invalid"), (False, "unreadable")]
    assert run("validate", "-q", good).stdout == ""


@pytest.mark.slow
@pytest.mark.gui
def test_view_screenshot(volume: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("no DISPLAY: run the suite under xvfb-run -a")
    pytest.importorskip("napari")
    path, _ = volume
    shot = tmp_path / "shot.png"
    result = run("view", path, "--screenshot", shot, timeout=180)
    assert result.returncode == 0, result.stderr
    assert shot.stat().st_size > 1000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import imageio.v3 as iio

    pixels = iio.imread(shot)[..., :3]
    assert pixels.max() > pixels.min()  # the slice is drawn, not a blank canvas


@pytest.mark.slow
def test_view_errors_before_napari(tmp_path: Path, testdata: Path) -> None:
    assert_one_line_error(run("view", testdata / "bad/empty.mrc"), 1, "shorter than the 1024-byte")
    assert_one_line_error(run("view"), 2, "FILE or --sample")
