"""First run on a machine without a display (issue 17, item 20): ``napari-mrcz view`` never waits for a
window nobody sees — it saves a named screenshot and exits, or says what is missing — and
``scripts/run.sh`` creates its venv where Debian's ``python3 -m venv`` lacks ensurepip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.cli.view import VIRTUAL_DISPLAY_ENV, default_screenshot, display_kind

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "QT_QPA_PLATFORM", VIRTUAL_DISPLAY_ENV)


def _headless_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DISPLAY_VARS}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _view(args: list[str], cwd: Path, env: dict[str, str], prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [*(prefix or []), sys.executable, "-m", "napari_mrcz", "view", *args]
    # the timeout is the point: before the fix this waited forever on an invisible window
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=400)


def _assert_picture(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    assert path.read_bytes()[:8] == PNG
    pixels = iio.imread(path)[..., :3]
    assert pixels.shape[0] > 300 and pixels.shape[1] > 300
    assert np.std(pixels) > 10  # the tomogram is drawn, not a blank canvas
    return pixels


@pytest.mark.slow
@pytest.mark.gui
def test_view_sample_without_display_saves_a_screenshot(tmp_path: Path) -> None:
    pytest.importorskip("napari")
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run not installed")
    result = _view(["--sample"], tmp_path, _headless_env())
    shot = tmp_path / "napari-mrcz-sample.png"
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(shot)
    assert "no display" in result.stderr and str(shot) in result.stderr
    _assert_picture(shot)


@pytest.mark.slow
@pytest.mark.gui
def test_view_under_xvfb_run_saves_a_screenshot(tmp_path: Path) -> None:
    """What scripts/run.sh used to do: a virtual display (xvfb-run) and no --screenshot."""
    pytest.importorskip("napari")
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run not installed")
    data = np.random.default_rng(0).normal(size=(5, 96, 120)).astype(np.float32)
    nm.write(tmp_path / "tomo 1.mrcz", data, voxel_size=3.0)
    result = _view(["tomo 1.mrcz"], tmp_path, _headless_env(),
                   prefix=["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24"])
    assert result.returncode == 0, result.stderr
    assert "the display is virtual" in result.stderr
    _assert_picture(tmp_path / "napari-mrcz-tomo 1.png")


def test_view_without_display_or_xvfb_says_what_to_do(tmp_path: Path) -> None:
    nm.write(tmp_path / "t.mrc", np.ones((2, 8, 8), np.float32), compressor=None)
    empty = tmp_path / "bin"
    empty.mkdir()
    result = _view(["t.mrc"], tmp_path, _headless_env(PATH=str(empty)))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "xvfb" in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.parametrize(
    ("env", "kind"),
    [({}, "none"), ({"DISPLAY": ":0"}, "real"), ({"WAYLAND_DISPLAY": "wayland-0"}, "real"),
     ({"DISPLAY": ":99", "XAUTHORITY": "/tmp/xvfb-run.AbC123/Xauthority"}, "virtual"),
     ({"DISPLAY": ":0", "XAUTHORITY": "/home/me/.Xauthority"}, "real"),
     ({"QT_QPA_PLATFORM": "offscreen"}, "virtual"), ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "virtual"),
     ({"QT_QPA_PLATFORM": "vnc"}, "real"), ({VIRTUAL_DISPLAY_ENV: "1", "DISPLAY": ":5"}, "virtual")],
)
def test_display_kind(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], kind: str) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("display detection is for Linux")
    for name in DISPLAY_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert display_kind() == kind


def test_default_screenshot_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_screenshot(None) == tmp_path / "napari-mrcz-sample.png"
    assert default_screenshot(Path("/data/emd_1234.map.gz")) == tmp_path / "napari-mrcz-emd_1234.png"


# ---- scripts/run.sh: the venv where Debian's python3 -m venv lacks ensurepip -----------------------

_PYTHON_SHIM = """#!/bin/sh
# python3 as on Debian without python3-venv: "-m venv" leaves a venv without pip and fails, until the
# apt-get shim has "installed" the package; "-m virtualenv"/"-m pip" as configured by the test. Venvs
# are made without pip (installing it takes seconds, and is not what is tested).
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  if [ ! -f "$STATE/venv-package" ]; then
    mkdir -p "$3/bin" && ln -sf "$REAL_PYTHON" "$3/bin/python"
    echo "The virtual environment was not created successfully because ensurepip is not available." >&2
    exit 1
  fi
  exec "$REAL_PYTHON" -m venv --without-pip "$3"
fi
if [ "$1" = "-m" ] && [ "$2" = "virtualenv" ]; then
  [ -f "$STATE/virtualenv" ] || exit 1
  [ "$3" = "--version" ] && exit 0
  exec "$REAL_PYTHON" -m venv --without-pip "$4"
fi
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then exit 1; fi
exec "$REAL_PYTHON" "$@"
"""
_APT_SHIM = """#!/bin/sh
echo "$@" >> "$STATE/apt.log"
[ -f "$STATE/apt-broken" ] && exit 100
case "$*" in *install*python3*-venv*) touch "$STATE/venv-package" ;; esac
exit 0
"""


def _make_venv(tmp_path: Path, *flags: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    shims, state = tmp_path / "shims", tmp_path / "state"
    shims.mkdir()
    state.mkdir()
    for name, text in (("python3", _PYTHON_SHIM), ("apt-get", _APT_SHIM), ("sudo", 'exec "$@"\n')):
        (shims / name).write_text(text if text.startswith("#!") else "#!/bin/sh\n" + text)
        (shims / name).chmod(0o755)
    for flag in flags:
        (state / flag).touch()
    base = getattr(sys, "_base_executable", sys.executable)
    env = {**os.environ, "PATH": f"{shims}:{os.environ['PATH']}", "STATE": str(state), "REAL_PYTHON": base}
    script = f'source "{ROOT / "scripts/run.sh"}" && make_venv "{tmp_path / "venv"}"'
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300)
    return done, state


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_run_sh_installs_the_venv_package_and_retries(tmp_path: Path) -> None:
    done, state = _make_venv(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "installing python3." in done.stderr
    version = "%d.%d" % sys.version_info[:2]
    assert f"python{version}-venv" in (state / "apt.log").read_text()
    assert (tmp_path / "venv/pyvenv.cfg").is_file()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_run_sh_falls_back_to_virtualenv(tmp_path: Path) -> None:
    done, _ = _make_venv(tmp_path, "apt-broken", "virtualenv")
    assert done.returncode == 0, done.stderr
    assert "trying virtualenv" in done.stderr and (tmp_path / "venv/pyvenv.cfg").is_file()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_run_sh_says_what_to_install_when_nothing_works(tmp_path: Path) -> None:
    done, _ = _make_venv(tmp_path, "apt-broken")
    assert done.returncode == 1
    assert "apt-get install python3-venv" in done.stderr
    assert not (tmp_path / "venv").exists()  # no half-made venv left for the next run to trust
