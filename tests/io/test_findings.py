"""Findings are values: checks return them, readers warn with them, ``validate`` lists them, and no
warning filter of the process is touched on the way; names with ': ' in them stay whole. Genuine
EMDB/CCP4 maps (NVERSION 0) are explained, not just called invalid."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.errors import Finding, MrczWarning
from napari_mrcz.io.validate import PRE_2014_NOTE

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "real"


def _broken_seek_table(path: Path) -> None:
    nm.write(path, np.arange(4 * 6 * 8, dtype=np.float32).reshape(4, 6, 8))
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF  # the table's CRC no longer matches
    path.write_bytes(bytes(raw))


def _bad_json(path: Path) -> None:
    nm.write(path, np.zeros((2, 4, 4), np.float32), metadata={"a": 1})
    raw = bytearray(path.read_bytes())
    start = raw.index(b'{"a"')
    raw[start] = ord("[")  # not an object, not valid JSON
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("name", ["run: 3.mrcz", "a: b: c.mrcz", "plain.mrcz", "x:.mrcz"])
@pytest.mark.parametrize("damage", [_broken_seek_table, _bad_json])
def test_one_message_two_outlets(tmp_path: Path, name: str, damage: object) -> None:
    path = tmp_path / name
    damage(path)  # type: ignore[operator]
    info = nm.open_mrc(path, warn=False)
    assert len(info.findings) == 1 and isinstance(info.findings[0], Finding)
    finding = info.findings[0]
    assert finding.source == str(path)
    info.close()
    with pytest.warns(MrczWarning) as caught:
        nm.open_mrc(path).close()
    assert [str(w.message) for w in caught] == [str(finding)]
    assert str(caught[0].message).startswith(str(path) + ": ")
    problems = [p.message for p in nm.validate(path) if p.severity != "warning"]
    # the same finding: its message, or with the file's full name, never a piece of the name
    assert any(finding.message.startswith(m) or str(finding) == m for m in problems)
    assert not any(m.startswith(name.split(": ")[-1]) for m in problems)


def test_validate_and_open_touch_no_warning_filter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """catch_warnings and simplefilter change process-wide state: the library calls neither."""
    _broken_seek_table(tmp_path / "t.mrcz")
    _bad_json(tmp_path / "j.mrcz")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process-wide warning filter was changed")

    with warnings.catch_warnings(record=True):  # the test's own, outside the library
        warnings.simplefilter("always")
        with monkeypatch.context() as patch:
            patch.setattr(warnings, "catch_warnings", refuse)
            patch.setattr(warnings, "simplefilter", refuse)
            patch.setattr(warnings, "filterwarnings", refuse)
            for name in ("t.mrcz", "j.mrcz"):
                assert nm.validate(tmp_path / name)
                nm.read(tmp_path / name)


def test_a_pre_2014_header_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "old.map"
    nm.write(path, np.ones((2, 4, 4), np.float32))
    raw = bytearray(path.read_bytes())
    raw[108:112] = (0).to_bytes(4, "little")  # NVERSION, word 28
    path.write_bytes(bytes(raw))
    (problem,) = nm.validate(path)
    assert problem.severity == "error"  # the exit status rule stays: invalid (as mrcfile.validate)
    assert problem.message.startswith("NVERSION=0: ") and "pre-2014" in problem.message
    assert "harmless for reading" in problem.message and "convert" in problem.message
    run = subprocess.run([sys.executable, "-m", "napari_mrcz", "validate", "--no-stats", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and PRE_2014_NOTE in run.stdout
    help_text = subprocess.run([sys.executable, "-m", "napari_mrcz", "validate", "--help"],
                               capture_output=True, text=True, timeout=120).stdout
    assert "pre-2014" in " ".join(help_text.split())
    nm.convert_file(path, tmp_path / "new.map")
    assert nm.validate(tmp_path / "new.map") == []


@pytest.mark.parametrize("name", ["EMD-3197.map", "test.ccp4", "emd_3001.map.gz"])
def test_genuine_maps(name: str) -> None:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} is not there")
    messages = [p.message for p in nm.validate(path, check_stats=False)]
    assert any(m.startswith("NVERSION=0") and PRE_2014_NOTE in m for m in messages)
