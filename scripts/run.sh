#!/usr/bin/env bash
# One entry point for a fresh Debian machine: installs what a task needs (Debian packages for napari's
# Qt window and xvfb, a .venv with the package), then runs the task in that venv.
#   bash scripts/run.sh CMD [ARGS]            any command in the venv, e.g. napari-mrcz view --sample;
#                                             installs the package with its napari extra only
#   bash scripts/run.sh test [pytest args]    the test suite (GUI tests under xvfb-run), e.g. -m "not slow";
#                                             adds the test extra (pytest, mrcz, mrcfile, RosettaSciIO, ...)
#   bash scripts/run.sh bench [--small]       the benchmark (it compares with mrcz and mrcfile: test extra)
# Without a display, `napari-mrcz view` saves a screenshot (drawn under xvfb-run) and exits.
set -euo pipefail

APT_PACKAGES=(xvfb xauth libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libxkbcommon-x11-0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xinput0
  libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 libdbus-1-3 libfontconfig1
  fuse3)  # fuse3: libfuse 3 and fusermount3 for napari-mrcz mount
APT_UPDATED=""

apt_install() {  # apt_install PACKAGE...: as root, or through sudo; fails quietly without either
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || return 1
    sudo=sudo
  fi
  if [ -z "$APT_UPDATED" ]; then
    $sudo apt-get update -qq >/dev/null || return 1
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# make_venv DIR: a virtual environment with pip. `python3 -m venv` needs ensurepip, which Debian and
# Ubuntu ship separately (python3.X-venv); a failed attempt leaves a venv without pip, so it is removed
# and the next way tried: install that package and retry, then virtualenv.
make_venv() {
  local dir="$1" ver
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -m pip --version >/dev/null 2>&1; then
    return 0
  fi
  rm -rf "$dir"
  python3 -m venv "$dir" >/dev/null 2>&1 && return 0
  rm -rf "$dir"
  ver="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  echo "run.sh: python3 -m venv failed (Debian ships it separately): installing python${ver}-venv" >&2
  if apt_install "python${ver}-venv" || apt_install python3-venv; then
    python3 -m venv "$dir" >/dev/null && return 0
    rm -rf "$dir"
  fi
  echo "run.sh: trying virtualenv instead" >&2
  if python3 -m virtualenv --version >/dev/null 2>&1 \
    || python3 -m pip install -q --user virtualenv >/dev/null 2>&1 \
    || python3 -m pip install -q --user --break-system-packages virtualenv >/dev/null 2>&1; then
    python3 -m virtualenv -q "$dir" >/dev/null && return 0
    rm -rf "$dir"
  fi
  echo "run.sh: cannot create a Python virtual environment: install Debian's venv package" \
    "(sudo apt-get install python3-venv) and run again" >&2
  return 1
}

# setup EXTRA: the Debian packages, the venv, and the package (editable) with one pyproject extra,
# installed again only when pyproject.toml changes. The test extra includes the napari extra.
setup() {
  local extra="$1" missing=() p stamp
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}" || echo "run.sh: could not install ${missing[*]} (napari's window may not open)" >&2
  fi
  make_venv .venv
  stamp=".venv/.installed-$extra"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[$extra]"
    touch "$stamp"
    if [ "$extra" = test ]; then
      touch .venv/.installed-napari
    fi
  fi
}

main() {
  local root task
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  cd "$root"
  task="${1:-test}"
  [ $# -gt 0 ] && shift
  case "$task" in
    test|bench) setup test ;;
    *) setup napari ;;
  esac
  export PATH="$root/.venv/bin:$PATH"
  case "$task" in
    test)
      exec xvfb-run -a -s "-screen 0 1280x1024x24" python -m pytest "$@" ;;
    bench)
      exec python bench/run.py "$@" ;;
    *)
      exec "$task" "$@" ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then  # run, not sourced (tests source it to call make_venv)
  main "$@"
fi
