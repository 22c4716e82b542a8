"""Every subcommand takes what ``read()`` takes, URLs included (served by a loopback HTTP server):
results equal the local file's, failures are one line naming the URL, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from loopback_http import LoopbackServer

import napari_mrcz as nm
from napari_mrcz.cli.main import main

pytest.importorskip("aiohttp")
DATA = np.random.default_rng(3).normal(size=(5, 40, 30)).astype(np.float32)
SIGNED = "/bucket/in.mrcz?X-Amz-Signature=ab%2Fcd%3D&X-Amz-Credential=k%2F2026"


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "served"
    (root / "bucket").mkdir(parents=True)
    nm.write(root / "in.mrc", DATA, compressor=None, voxel_size=(3.0, 2.0, 2.0))
    nm.write(root / "in.mrcz", DATA, voxel_size=(3.0, 2.0, 2.0), metadata={"k": "v"})
    shutil.copy(root / "in.mrcz", root / "bucket" / "in.mrcz")
    with LoopbackServer(root) as srv:
        yield srv


def _one_line_error(err: str, *parts: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in lines[0], err


@pytest.mark.parametrize("name", ["in.mrc", "in.mrcz"])
def test_info_url(name: str, server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.url(name)
    assert main(["info", "--json", url]) == 0
    got = json.loads(capsys.readouterr().out)[0]
    local = server.root / name
    assert got["path"] == url and got["shape"] == [5, 40, 30] and got["voxel_size"] == [3.0, 2.0, 2.0]
    assert got["file_nbytes"] == local.stat().st_size and got["container"] is None
    assert main(["info", url]) == 0
    assert url in capsys.readouterr().out


def test_info_url_console_script(server: LoopbackServer) -> None:
    """The installed command, as a user runs it (the reported traceback)."""
    url = server.url("in.mrcz")
    done = subprocess.run([sys.executable, "-m", "napari_mrcz", "info", url], capture_output=True, text=True,
                          timeout=120, cwd=Path(nm.__file__).parents[1])
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "MRCZ" in done.stdout and "5" in done.stdout


@pytest.mark.parametrize("target", ["in.mrc", "in.mrcz", SIGNED])
@pytest.mark.parametrize("out", ["out.mrc", "out.mrcz"])
def test_convert_url(target: str, out: str, server: LoopbackServer, tmp_path: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}{target}" if target.startswith("/") else server.url(target)
    if target == SIGNED:
        server.signed = {SIGNED}
    assert main(["convert", "-q", url, str(tmp_path / out)]) == 0, capsys.readouterr().err
    back = nm.read(tmp_path / out)
    assert np.array_equal(back.data, DATA) and back.voxel_size == (3.0, 2.0, 2.0)


@pytest.mark.parametrize("name", ["in.mrc", "in.mrcz"])
def test_validate_url(name: str, server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.url(name)
    local = [(p.severity, p.message) for p in nm.validate(server.root / name)]
    assert [(p.severity, p.message) for p in nm.validate(url)] == local
    code = main(["validate", "--json", url])
    got = json.loads(capsys.readouterr().out)[0]
    assert got["path"] == url and code == (0 if got["valid"] else 1)
    assert got["status"] != "unreadable"


@pytest.mark.parametrize("command", ["info", "validate", "convert", "view"])
def test_unreachable_url_is_one_line(command: str, server: LoopbackServer, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    url = server.url("absent.mrcz")
    args = {"info": [url], "validate": [url], "convert": [url, str(tmp_path / "o.mrc")], "view": [url]}[command]
    code = main([command, *args])
    out, err = capsys.readouterr()
    if command == "validate":  # validate reports on stdout: unreadable, exit 2
        assert code == 2 and "unreadable" in out and url in out and "Traceback" not in out + err
        return
    assert code == 1
    _one_line_error(err, url, "not found")
    assert not (tmp_path / "o.mrc").exists()


@pytest.mark.gui
def test_view_url_screenshot(server: LoopbackServer, tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("no DISPLAY: run the suite under xvfb-run -a")
    pytest.importorskip("napari")
    shot = tmp_path / "shot.png"
    done = subprocess.run([sys.executable, "-m", "napari_mrcz", "view", server.url("in.mrcz"), "--screenshot",
                           str(shot)], capture_output=True, text=True, timeout=180, cwd=Path(nm.__file__).parents[1])
    assert done.returncode == 0, done.stderr
    import imageio.v3 as iio

    pixels = iio.imread(shot)[..., :3]
    assert pixels.max() > pixels.min()
