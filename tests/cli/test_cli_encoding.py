"""``info --json`` and ``validate --json`` print standard JSON whatever stdout's encoding (issue 17,
item 18): non-ASCII metadata, file names and messages under latin-1, ASCII, cp1252 and the C locale."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import napari_mrcz as nm

ENCODINGS = {
    "ascii": {"PYTHONIOENCODING": "ascii"},
    "latin-1": {"PYTHONIOENCODING": "latin-1"},
    "cp1252": {"PYTHONIOENCODING": "cp1252"},
    # the C locale without Python's UTF-8 coercion: stdout is ASCII
    "C-locale": {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
}
TEXTS = ["Å", "µm", "Zoë", "蛋白质", "🧬 ribosome", "tab\tand \"quotes\"", "\u2028 line separator"]


def _run(env: dict[str, str], *args: Any) -> subprocess.CompletedProcess[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHONIOENCODING", "PYTHONUTF8"))}
    return subprocess.run([sys.executable, "-m", "napari_mrcz", *map(str, args)], capture_output=True,
                          env={**clean, **env}, timeout=120)


def _strict_json(out: bytes) -> Any:
    """Parse as a strict JSON parser would: ASCII bytes, no NaN/Infinity literals."""
    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")

    return json.loads(out.decode("ascii"), parse_constant=refuse)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("encoding")
    out = []
    for i, text in enumerate(TEXTS):
        path = folder / f"map_{i}_{text.split()[0]}.mrcz"
        metadata = {"sample": text, text: [text, 1.5], "nested": {"unit": "Å"}, "bad": math.nan, "big": -math.inf}
        nm.write(path, np.full((2, 3, 4), i, np.float32), metadata=metadata, compressor="zstd" if i % 2 else None,
                 voxel_size=1.05)
        out.append(path)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_info_json_is_valid_json(files: list[Path], encoding: str) -> None:
    run = _run(ENCODINGS[encoding], "info", "--json", *files)
    assert run.returncode == 0, run.stderr
    result = _strict_json(run.stdout)
    assert [Path(d["path"]) for d in result] == files
    for d, text in zip(result, TEXTS):
        assert d["metadata"] == {"sample": text, text: [text, 1.5], "nested": {"unit": "Å"}, "bad": "NaN",
                                 "big": "-Infinity"}
        assert d["voxel_units"] == "Å"


@pytest.mark.slow
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_validate_json_is_valid_json(files: list[Path], encoding: str, tmp_path: Path) -> None:
    broken = tmp_path / "défaut_Å.mrc"
    nm.write(broken, np.ones((2, 3, 4), np.float32), compressor=None)
    with open(broken, "ab") as fh:
        fh.write(b"trailing")
    run = _run(ENCODINGS[encoding], "validate", "--json", *files, broken, tmp_path / "absent_µ.mrc")
    assert run.returncode == 2, run.stderr
    result = _strict_json(run.stdout)
    assert [Path(d["path"]) for d in result] == [*files, broken, tmp_path / "absent_µ.mrc"]
    assert [d["status"] for d in result] == ["valid"] * len(files) + ["invalid", "unreadable"]
    assert "8 bytes more" in result[-2]["problems"][0]["message"]
    assert "absent_µ.mrc" in result[-1]["problems"][0]["message"]


@pytest.mark.parametrize("encoding", ["ascii", "C-locale"])
def test_text_output_survives_a_narrow_terminal(files: list[Path], encoding: str) -> None:
    run = _run(ENCODINGS[encoding], "info", files[0])
    assert run.returncode == 0 and b"Traceback" not in run.stderr, run.stderr
    assert b"voxel size" in run.stdout


@pytest.mark.parametrize(
    ("value", "expected"),
    [("x\udcc3\udc85", "xÅ"), ("\udcff", "\udcff"), ("\ud83e", "\ud83e"), (math.nan, "NaN"),
     ([math.inf, {"k": -math.inf}], ["Infinity", {"k": "-Infinity"}]), ((1, "Å"), [1, "Å"])],
)
def test_json_text_edge_values(value: Any, expected: Any) -> None:
    from napari_mrcz.cli.json_output import json_text

    text = json_text({"v": value})
    assert text.isascii() and json.loads(text) == {"v": expected}
