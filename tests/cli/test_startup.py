"""Start-up cost, checked by structure, not by timing (issue 17, item 19; issue 15's start-up target):
``import napari_mrcz`` and ``napari-mrcz info`` import no compression library, dask or napari, and
``convert`` times the conversion, not those imports. The wall times are measured in bench/run.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm

HEAVY = ("blosc", "blosc2", "dask", "napari", "tqdm", "magicgui", "qtpy", "httpx", "rich", "distributed", "fsspec",
         "aiohttp", "requests", "zarr", "numcodecs", "mfusepy")


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, timeout=120)


def _imported(importtime_stderr: str) -> dict[str, float]:
    """Module → cumulative import seconds, from ``-X importtime`` lines."""
    out = {}
    for line in importtime_stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if match:
            out[match.group(2)] = int(match.group(1)) / 1e6
    return out


def _heavy(modules: set[str] | dict[str, float]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("startup")
    data = np.arange(2 * 30 * 40, dtype=np.float32).reshape(2, 30, 40)
    out = {}
    for name, compressor in (("plain.mrc", None), ("zstd.mrcz", "zstd"), ("lz4.mrcz", "lz4")):
        nm.write(folder / name, data, compressor=compressor, metadata={"a": 1})
        out[name] = folder / name
    return out


def test_import_napari_mrcz_is_light() -> None:
    run = _python("-c", "import json, sys, napari_mrcz; print(json.dumps(sorted(sys.modules)))")
    assert run.returncode == 0, run.stderr
    modules = set(json.loads(run.stdout))
    assert _heavy(modules) == []
    assert "napari_mrcz" in _imported(run.stderr)
    # the public names are lazy (PEP 562): nothing of the package beyond its version is loaded yet
    assert sorted(m for m in modules if m.startswith("napari_mrcz")) == ["napari_mrcz", "napari_mrcz._version"]


@pytest.mark.parametrize("name", ["read", "write", "open_mrc", "MrczError", "validate", "convert_file", "config"])
def test_a_public_name_loads_only_what_it_uses(name: str) -> None:
    """Using one public name imports its module, not the batch machinery, dask, blosc2, fsspec or napari."""
    code = f"import json, sys, napari_mrcz; napari_mrcz.{name}; print(json.dumps(sorted(sys.modules)))"
    run = _python("-c", code)
    assert run.returncode == 0, run.stderr
    modules = set(json.loads(run.stdout))
    assert "napari_mrcz.io.batch" not in modules
    assert _heavy(modules) == []


def test_public_names_resolve_and_are_listed() -> None:
    """``__all__`` is unchanged plus convert_file and config; every name resolves and dir() lists it."""
    for name in nm.__all__:
        assert getattr(nm, name) is not None, name
        assert name in dir(nm)
    from napari_mrcz.io.zarr import dispatch

    assert (nm.convert_file, nm.read, nm.write) == (dispatch.convert_file, dispatch.read, dispatch.write)
    assert nm.config.get("multiscale.side") > 0
    with pytest.raises(AttributeError):
        nm.no_such_name  # noqa: B018
    from napari_mrcz import ConvertResult, convert_many  # noqa: F401 - the batch names still import


@pytest.mark.parametrize(("name", "options"), [("plain.mrc", []), ("zstd.mrcz", []), ("lz4.mrcz", ["--json"])])
def test_info_imports_no_codec_dask_or_napari(files: dict[str, Path], name: str, options: list[str]) -> None:
    run = _python("-m", "napari_mrcz", "info", *options, str(files[name]))
    assert run.returncode == 0, run.stderr
    assert _heavy(_imported(run.stderr)) == []
    assert "napari_mrcz.cli.main" in _imported(run.stderr)


@pytest.mark.slow
def test_codecs_still_load_on_first_use(files: dict[str, Path]) -> None:
    code = (f"import sys, napari_mrcz as nm; d = nm.read({str(files['zstd.mrcz'])!r}).data; "
            "assert 'blosc2' in sys.modules and 'dask' not in sys.modules; "
            f"nm.write({str(files['zstd.mrcz'].with_name('new.mrcz'))!r}, d); assert 'blosc' in sys.modules; "
            f"assert nm.read({str(files['zstd.mrcz'])!r}, lazy=True).data.sum().compute() == d.sum()")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("name", "out", "expected"), [
    ("zstd.mrcz", "o.mrcz", {"blosc", "blosc2"}), ("zstd.mrcz", "o.mrc", {"blosc2"}),
    ("plain.mrc", "o.mrcz", {"blosc"}), ("plain.mrc", "o.mrc", set()),
])
def test_import_codecs_loads_what_convert_needs(files: dict[str, Path], name: str, out: str, expected: set[str]) -> None:
    code = ("import json, sys; from napari_mrcz.io.writer.convert import import_codecs; from napari_mrcz import open_mrc; "
            f"import_codecs(open_mrc({str(files[name])!r}), {'zstd' if out.endswith('z') else None!r}); "
            "print(json.dumps(sorted(m for m in sys.modules if m in ('blosc', 'blosc2', 'dask'))))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert set(json.loads(run.stdout)) == expected


@pytest.mark.slow
def test_convert_times_the_conversion_not_the_imports(files: dict[str, Path], tmp_path: Path) -> None:
    """The reported seconds exclude blosc2's import (hundreds of ms; a 10 kB conversion takes ~1 ms)."""
    run = _python("-m", "napari_mrcz", "convert", str(files["zstd.mrcz"]), str(tmp_path / "o.mrcz"))
    assert run.returncode == 0, run.stderr
    seconds = float(re.search(r" in (\d+\.\d+) s, \d+ MB/s", run.stdout).group(1))
    assert seconds < _imported(run.stderr)["blosc2"], run.stdout


def test_shuffle_codes_are_blosc_s() -> None:
    """codec.py names blosc's filter codes without importing blosc; they are blosc's own."""
    import blosc

    from napari_mrcz.io.codec import blosc as codec

    assert codec.SHUFFLES == {"none": blosc.NOSHUFFLE, "byte": blosc.SHUFFLE, "bit": blosc.BITSHUFFLE}
