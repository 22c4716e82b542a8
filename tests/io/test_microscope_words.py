"""Bytes 132-143 are mrcz's voltage, C3 and gain only in headers mrcz-style writers made; elsewhere
MRC2014 calls them EXTRA. Other files read None there, and converting or saving them stores what
``mrcz.writeMRC`` stores when it is told nothing (never 0 where mrcz puts its default)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import mrcfile
import mrcz
import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.cli.main import main
from napari_mrcz.format.constants import MICROSCOPE_DEFAULTS
from napari_mrcz.io.writer.convert import convert_file
from napari_mrcz.rsciio import file_reader

MODES = {0: np.int8, 1: np.int16, 2: np.float32, 4: np.complex64, 6: np.uint16, 12: np.float16}
EXTRA_FILLS = {
    "zeros": bytes(12),
    "random": bytes(np.random.default_rng(1).integers(0, 256, 12, dtype=np.uint8)),
    "plausible": np.array([200.0, 2.0, 0.0], "<f4").tobytes(),  # looks like physics, is another writer's EXTRA
}


def _foreign(path: Path, dtype: type, fill: bytes, order: str = "<") -> Path:
    """A plain MRC file from mrcfile with ``fill`` in bytes 132-143 (EXTRA to MRC2014)."""
    data = np.arange(2 * 6 * 5).reshape(2, 6, 5).astype(dtype)
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(data.astype(np.dtype(dtype).newbyteorder(order)))
    raw = bytearray(path.read_bytes())
    raw[132:144] = fill
    path.write_bytes(bytes(raw))
    return path


def _mrcz_default_words(tmp_path: Path) -> bytes:
    """Bytes 132-143 of a file mrcz 0.6.0 writes when given no voltage, C3 or gain."""
    mrcz.writeMRC(np.zeros((2, 4, 4), np.float32), str(tmp_path / "mrcz_default.mrcz"), compressor="zstd")
    return (tmp_path / "mrcz_default.mrcz").read_bytes()[132:144]


@pytest.mark.parametrize("fill", sorted(EXTRA_FILLS))
@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("order", ["<", ">"])
def test_foreign_extra_bytes_are_not_physics(tmp_path: Path, fill: str, mode: int, order: str) -> None:
    path = _foreign(tmp_path / "f.mrc", MODES[mode], EXTRA_FILLS[fill], order)
    header = nm.open_mrc(path).header
    assert (header.voltage, header.c3, header.gain) == (None, None, None)
    assert header.to_dict()["voltage"] is None
    target = tmp_path / "f.mrcz"
    convert_file(path, target)
    assert target.read_bytes()[132:144] == _mrcz_default_words(tmp_path)
    h = nm.open_mrc(target).header
    assert (h.voltage, h.c3, h.gain) == (MICROSCOPE_DEFAULTS["voltage"], MICROSCOPE_DEFAULTS["c3"], MICROSCOPE_DEFAULTS["gain"])
    if mode == 12:
        return  # mrcz cannot read float16 headers
    header_mrcz, _ = mrcz.readMRCHeader(str(target))
    assert (header_mrcz["voltage"], header_mrcz["C3"], header_mrcz["gain"]) == (0.0, 0.0, 1.0)


def test_defaults_are_mrczs(tmp_path: Path) -> None:
    words = np.frombuffer(_mrcz_default_words(tmp_path), "<f4")
    assert tuple(words) == (MICROSCOPE_DEFAULTS["voltage"], MICROSCOPE_DEFAULTS["c3"], MICROSCOPE_DEFAULTS["gain"])


@pytest.mark.parametrize("compressor", [None, "zstd", "lz4"])
@pytest.mark.parametrize("words", [(300.0, 2.7, 0.8), (200.0, 0.0, 1.0), (120.0, 1.2, 3.5)])
def test_mrcz_written_words_are_read_and_carried(tmp_path: Path, compressor: str | None, words: tuple) -> None:
    voltage, c3, gain = words
    source = tmp_path / "by_mrcz.mrcz"
    mrcz.writeMRC(np.ones((2, 4, 4), np.float32), str(source), voltage=voltage, C3=c3, gain=gain, compressor=compressor)
    h = nm.open_mrc(source).header
    assert (h.voltage, round(h.c3, 5), round(h.gain, 5)) == words
    for suffix in (".mrc", ".mrcz"):
        target = tmp_path / f"copy{suffix}"
        convert_file(source, target, overwrite=True)
        got = nm.open_mrc(target).header
        assert (got.voltage, round(got.c3, 5), round(got.gain, 5)) == words


@pytest.mark.parametrize("suffix", [".mrc", ".mrcz"])
def test_our_own_files_keep_their_words(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"ours{suffix}"
    nm.write(path, np.zeros((2, 4, 4), np.int16), voltage=300, c3=2.7, gain=0.5)
    h = nm.open_mrc(path).header
    assert (h.voltage, round(h.c3, 5), h.gain) == (300.0, 2.7, 0.5)
    nm.write(path, np.zeros((2, 4, 4), np.int16), voltage=None, c3=None, gain=None)
    h = nm.open_mrc(path).header
    assert (h.voltage, h.c3, h.gain) == (0.0, 0.0, 1.0)


def test_front_ends_show_no_physics_for_foreign_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _foreign(tmp_path / "f.mrc", np.float32, EXTRA_FILLS["plausible"])
    signal = file_reader(str(path))[0]
    assert signal["original_metadata"]["mrcz_header"]["voltage"] is None
    assert "beam_energy" not in json.dumps(signal["metadata"])
    assert main(["info", "--json", str(path)]) == 0
    described = json.loads(capsys.readouterr().out)[0]
    assert (described["voltage_kV"], described["c3_mm"], described["gain"]) == (None, None, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["convert", str(path), str(tmp_path / "f.mrcz"), "-q"]) == 0
    assert nm.open_mrc(tmp_path / "f.mrcz").header.gain == 1.0
