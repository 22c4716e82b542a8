"""The npe2 manifest: where it lives, that it validates and imports, what it contributes, and that the
wheel ships it (the full scratch-venv install is scripts/check_wheel.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def manifest() -> npe2.PluginManifest:
    return npe2.PluginManifest.from_distribution("napari-mrcz")


def test_manifest_at_top_level_and_linked_into_the_package() -> None:
    top, inner = ROOT / "napari.yaml", ROOT / "napari_mrcz" / "napari.yaml"
    assert top.is_file() and not top.is_symlink()
    assert inner.is_symlink() and os.readlink(inner) == "../napari.yaml"
    assert inner.read_bytes() == top.read_bytes()


def test_entry_point_resolves_to_the_manifest(manifest: npe2.PluginManifest) -> None:
    import importlib.metadata
    import importlib.resources

    (entry,) = [e for e in importlib.metadata.entry_points(group="napari.manifest") if e.name == "napari-mrcz"]
    assert entry.value == "napari_mrcz:napari.yaml"
    shipped = importlib.resources.files("napari_mrcz") / "napari.yaml"
    assert shipped.read_bytes() == (ROOT / "napari.yaml").read_bytes()
    assert manifest.name == manifest.display_name == "napari-mrcz"


def test_manifest_imports(manifest: npe2.PluginManifest) -> None:
    manifest.validate_imports()  # every python_name imports and exists


@pytest.mark.slow
def test_npe2_validate_cli() -> None:
    npe2_cli = shutil.which("npe2", path=str(Path(sys.executable).parent))
    assert npe2_cli, "npe2 command not found next to the test interpreter"
    run = subprocess.run([npe2_cli, "validate", "--imports", "napari-mrcz"], capture_output=True, text=True)
    assert run.returncode == 0 and "valid" in run.stdout, run.stdout + run.stderr


def test_contributions(manifest: npe2.PluginManifest) -> None:
    from napari_mrcz.plugin.reader import claims

    c = manifest.contributions
    (reader,) = c.readers
    assert reader.accepts_directories
    for pattern in reader.filename_patterns:
        assert claims("x" + pattern[1:].replace("[?]*", "")), pattern
    for ext in ("mrcz", "mrc", "mrcs", "map", "st", "ali", "rec"):
        assert f"*.{ext}" in reader.filename_patterns
    for ext in ("mrc", "mrcs", "map", "st", "ali", "rec"):
        assert {f"*.{ext}.gz", f"*.{ext}.bz2"} <= set(reader.filename_patterns)
    writers = {w.display_name: w for w in c.writers}
    assert writers["Save Layer as MRCZ"].filename_extensions == [".mrcz"]
    assert writers["Save Layer as MRCZ"].layer_types == ["image"]
    assert ".mrc" in writers["Save Layer as plain MRC (IMOD, Relion)"].filename_extensions
    folder = writers["Save Layers as MRCZ files in a folder"]
    assert folder.layer_types == ["image+"] and folder.filename_extensions == []
    assert [w.display_name for w in c.widgets] == ["Save as MRCZ"]
    assert [s.key for s in c.sample_data] == ["tomogram"]
    props = c.configurations["compression"].properties
    assert props["compressor"].default == "zstd" and props["clevel"].default == 1
    assert props["compressor"].enum == ["zstd", "lz4", "lz4hc", "zlib", "blosclz"]
    assert (props["clevel"].minimum, props["clevel"].maximum) == (1, 9)


def test_claims_is_case_insensitive_and_strict() -> None:
    from napari_mrcz.plugin.reader import claims

    assert claims("A.MRC") and claims("a.Map.GZ") and claims("b.rec.bz2") and claims("t.mrcz")
    assert not claims("a.mrcz.gz") and not claims("a.tif") and not claims("a.gz") and not claims("mrc")


@pytest.mark.slow
def test_wheel_ships_the_manifest(tmp_path: Path) -> None:
    pytest.importorskip("build")
    run = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (wheel,) = tmp_path.glob("napari_mrcz-*.whl")
    with zipfile.ZipFile(wheel) as z:
        assert z.read("napari_mrcz/napari.yaml") == (ROOT / "napari.yaml").read_bytes()
        (entry_points,) = [n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt")]
        assert "napari-mrcz = napari_mrcz:napari.yaml" in z.read(entry_points).decode()


def test_filename_patterns_are_the_names_table(manifest: npe2.PluginManifest) -> None:
    """The reader's patterns and the writers' extensions are napari_mrcz.format.names' tables, no more,
    no less: a suffix added there must be added to napari.yaml."""
    from napari_mrcz.format import names

    (reader,) = manifest.contributions.readers
    expected = {f"*{s}" for s in names.READ_SUFFIXES}
    expected |= {f"*{s}{w}" for s in names.PLAIN_SUFFIXES for w in names.STREAM_SUFFIXES}
    expected |= {f"*{s}[?]*" for s in names.READ_SUFFIXES}  # URLs with a query (presigned): npe2 matches the whole URL
    assert sorted(reader.filename_patterns) == sorted(expected)
    assert len(reader.filename_patterns) == len(expected)
    writers = {w.command: w for w in manifest.contributions.writers}
    for command in ("napari-mrcz.write_mrcz", "napari-mrcz.write_labels_mrcz"):
        assert writers[command].filename_extensions == [names.COMPRESSED_SUFFIX]
    for command in ("napari-mrcz.write_mrc", "napari-mrcz.write_labels_mrc"):
        assert sorted(writers[command].filename_extensions) == sorted(names.PLAIN_SUFFIXES)
        assert all(names.compressor_for("x" + s) is None for s in writers[command].filename_extensions)
