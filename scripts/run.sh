#!/usr/bin/env bash
# One entry point for a fresh Debian machine: installs what napari-mrcz needs (Debian packages for
# napari's Qt window, a .venv with the package and its test tools), then runs a task in that venv.
#   bash scripts/run.sh test [pytest args]    the test suite (GUI tests under xvfb-run)
#   bash scripts/run.sh bench [--small]       the benchmark
#   bash scripts/run.sh CMD [ARGS]            any command in the venv, e.g. napari-mrcz view FILE
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

APT_PACKAGES=(xvfb xauth libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libxkbcommon-x11-0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xinput0
  libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 libdbus-1-3 libfontconfig1)

setup() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  [ -x .venv/bin/python ] || python3 -m venv .venv
  if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test]"
    touch .venv/.installed
  fi
}

task="${1:-test}"
[ $# -gt 0 ] && shift
setup
export PATH="$root/.venv/bin:$PATH"
case "$task" in
  test)
    exec xvfb-run -a -s "-screen 0 1280x1024x24" python -m pytest "$@" ;;
  bench)
    exec python bench/run.py "$@" ;;
  *)
    if [ -z "${DISPLAY:-}" ] && [ "$task" = napari-mrcz ] && [ "${1:-}" = view ]; then
      exec xvfb-run -a -s "-screen 0 1280x1024x24" "$task" "$@"
    fi
    exec "$task" "$@" ;;
esac
