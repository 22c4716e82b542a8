#!/usr/bin/env bash
# Checks the plugin as users get it: builds the wheel, installs it into a scratch venv in a temp dir
# (dependencies come from pip's cache or index), and runs `npe2 validate --imports napari-mrcz` there,
# from outside the checkout, so the manifest napari finds is the one shipped inside the wheel.
#   bash scripts/check_wheel.sh            (uses .venv/bin/python when present, else python3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python=python3
tmp="$(mktemp -d "${TMPDIR:-/tmp}/napari-mrcz-wheel.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "== build the wheel"
if ! "$python" -m build --wheel --outdir "$tmp/dist" "$root" >"$tmp/build.log" 2>&1; then
  cat "$tmp/build.log"
  exit 1
fi
wheel="$(ls "$tmp"/dist/napari_mrcz-*.whl)"
echo "   $(basename "$wheel")"

echo "== install it into a scratch venv"
"$python" -m venv "$tmp/venv"
if ! "$tmp/venv/bin/python" -m pip install "$wheel" npe2 magicgui >"$tmp/pip.log" 2>&1; then
  cat "$tmp/pip.log"
  exit 1
fi

cd "$tmp"  # not the checkout: `import napari_mrcz` must come from the installed wheel
echo "== npe2 validate --imports napari-mrcz"
"$tmp/venv/bin/npe2" validate --imports napari-mrcz

"$tmp/venv/bin/python" - "$root/napari.yaml" <<'PY'
import importlib.metadata as md
import pathlib
import sys

import napari_mrcz

package = pathlib.Path(napari_mrcz.__file__).parent
shipped = package / "napari.yaml"
assert "site-packages" in str(package), f"napari_mrcz imported from {package}, not the installed wheel"
assert shipped.is_file() and not shipped.is_symlink(), f"{shipped} is missing or a symlink"
assert shipped.read_bytes() == pathlib.Path(sys.argv[1]).read_bytes(), "shipped napari.yaml differs from the top-level one"
(entry,) = [e for e in md.entry_points(group="napari.manifest") if e.name == "napari-mrcz"]
assert entry.value == "napari_mrcz:napari.yaml", entry
print(f"   wheel ships {shipped.relative_to(package.parent)}; entry point {entry.value}")
PY
echo "OK: the wheel's manifest validates"
