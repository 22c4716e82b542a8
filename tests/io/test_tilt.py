"""read(path).tilt_angles from extended headers and from sidecars (.mdoc, .rawtlt, .tlt): which one wins,
and that a broken sidecar or header warns and never costs the pixels."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from corpus import TESTDATA

import napari_mrcz as nm
from napari_mrcz.errors import MrczWarning
from napari_mrcz.io.reader.tilt import MAX_SIDECAR_BYTES, sidecar_paths

mrcfile = pytest.importorskip("mrcfile")
from mrcfile.dtypes import get_ext_header_dtype  # noqa: E402

ANGLES = [-60.0, -30.5, 0.0, 29.99, 60.0]


def stack(path: Path, n: int = len(ANGLES), **write: object) -> Path:
    data = np.arange(n * 6 * 8, dtype=np.int16).reshape(n, 6, 8)
    return nm.write(path, data, **({"compressor": None} | write))


def quiet_read(path: Path, **kw: object) -> nm.MrcImage:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return nm.read(path, **kw)


def test_shared_fei2_tilt_series() -> None:
    path = TESTDATA / "edges" / "tilt_fei2.mrc"
    if not path.is_file():
        pytest.skip("no shared corpus")
    expected = np.load(TESTDATA / "edges" / "tilt_fei2.angles.npy")
    assert np.array_equal(quiet_read(path).tilt_angles, expected)
    assert np.array_equal(nm.read(path, lazy=True).tilt_angles, expected)
    assert np.array_equal(nm.open_mrc(path).tilt_angles, expected)


@pytest.mark.parametrize("exttyp", [b"FEI1", b"FEI2"])
def test_fei_written_by_mrcfile(tmp_path: Path, exttyp: bytes) -> None:
    records = np.zeros(len(ANGLES), dtype=get_ext_header_dtype(exttyp, "<"))
    records["Metadata size"] = records.dtype.itemsize
    records["Alpha tilt"] = ANGLES
    with mrcfile.new(tmp_path / "fei.mrc") as mrc:
        mrc.set_data(np.zeros((len(ANGLES), 6, 8), np.float32))
        mrc.set_extended_header(records)
        mrc.header.exttyp = exttyp
    (tmp_path / "fei.rawtlt").write_text("1\n2\n3\n4\n5\n")  # the file's own header wins
    assert np.array_equal(quiet_read(tmp_path / "fei.mrc").tilt_angles, ANGLES)


def test_no_angles_anywhere_is_none(tmp_path: Path) -> None:
    assert quiet_read(stack(tmp_path / "plain.mrc")).tilt_angles is None


@pytest.mark.parametrize("name", ["tomo.st", "tomo.mrc", "tomo.mrcs", "tomo.mrcz"])
def test_rawtlt_beside_the_stack(tmp_path: Path, name: str) -> None:
    path = stack(tmp_path / name, compressor="zstd" if name.endswith("z") else None)
    (tmp_path / "tomo.rawtlt").write_text("\n".join(map(str, ANGLES)) + "\n")
    assert np.array_equal(quiet_read(path).tilt_angles, ANGLES)


def test_mdoc_wins_over_tlt_and_rawtlt_wins_for_a_raw_stack(tmp_path: Path) -> None:
    path = stack(tmp_path / "tomo.st")
    (tmp_path / "tomo.tlt").write_text("\n".join(str(a + 1) for a in ANGLES))
    (tmp_path / "tomo.rawtlt").write_text("\n".join(map(str, ANGLES)))
    assert np.array_equal(quiet_read(path).tilt_angles, ANGLES)  # .st: the raw angles
    mdoc = "".join(f"[ZValue = {z}]\nTiltAngle = {a - 1}\n\n" for z, a in enumerate(ANGLES))
    (tmp_path / "tomo.st.mdoc").write_text("PixelSpacing = 1\n\n" + mdoc)
    assert np.allclose(quiet_read(path).tilt_angles, np.array(ANGLES) - 1)


def test_aligned_stack_prefers_the_refined_tlt(tmp_path: Path) -> None:
    path = stack(tmp_path / "tomo.ali")
    (tmp_path / "tomo.rawtlt").write_text("\n".join(str(a + 1) for a in ANGLES))
    (tmp_path / "tomo.tlt").write_text("\n".join(map(str, ANGLES)))
    assert np.array_equal(quiet_read(path).tilt_angles, ANGLES)


def test_compressed_stream_finds_the_stem(tmp_path: Path) -> None:
    import gzip

    path = stack(tmp_path / "tomo.mrc")
    (tmp_path / "tomo.mrc.gz").write_bytes(gzip.compress(path.read_bytes()))
    path.unlink()
    (tmp_path / "tomo.rawtlt").write_text("\n".join(map(str, ANGLES)))
    assert np.array_equal(quiet_read(tmp_path / "tomo.mrc.gz").tilt_angles, ANGLES)
    assert [p.name for p in sidecar_paths(tmp_path / "tomo.mrc.gz")] == ["tomo.mrc.mdoc", "tomo.rawtlt", "tomo.tlt"]


@pytest.mark.parametrize(
    ("sidecar", "text", "reason"),
    [
        ("tomo.rawtlt", "-60\n0\n60\n", "3 angles for 5 sections"),
        ("tomo.rawtlt", "-60\nabc\n0\n1\n2\n", "not a number"),
        ("tomo.tlt", "", "no angles"),
        ("tomo.st.mdoc", "[ZValue = 0]\nTiltAngle = 1\n", "no TiltAngle for ZValue 1"),
        ("tomo.rawtlt", "\udcff\n" * 5, "not a number"),
    ],
)
def test_broken_sidecars_warn_and_give_none(tmp_path: Path, sidecar: str, text: str, reason: str) -> None:
    path = stack(tmp_path / "tomo.st")
    (tmp_path / sidecar).write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.warns(MrczWarning, match=reason):
        image = nm.read(path)
    assert image.tilt_angles is None
    assert np.array_equal(image.data, np.arange(5 * 6 * 8, dtype=np.int16).reshape(5, 6, 8))  # pixels intact


def test_broken_sidecar_falls_through_to_the_next(tmp_path: Path) -> None:
    path = stack(tmp_path / "tomo.st")
    (tmp_path / "tomo.st.mdoc").write_text("[ZValue = 0]\nTiltAngle = nope\n")
    (tmp_path / "tomo.rawtlt").write_text("\n".join(map(str, ANGLES)))
    with pytest.warns(MrczWarning, match="tomo.st.mdoc"):
        assert np.array_equal(nm.read(path).tilt_angles, ANGLES)


def test_unreadable_and_huge_sidecars_are_skipped(tmp_path: Path) -> None:
    path = stack(tmp_path / "tomo.st")
    (tmp_path / "tomo.rawtlt").mkdir()  # a folder where the file would be: not a sidecar
    with open(tmp_path / "tomo.tlt", "wb") as big:
        big.truncate(MAX_SIDECAR_BYTES + 1)
    with pytest.warns(MrczWarning, match="larger than"):
        assert nm.read(path).tilt_angles is None


def test_malformed_fei_header_keeps_the_pixels(tmp_path: Path) -> None:
    records = np.zeros(2, dtype=get_ext_header_dtype(b"FEI1", "<"))
    records["Metadata size"] = 12  # too small to hold an alpha tilt
    with mrcfile.new(tmp_path / "bad.mrc") as mrc:
        mrc.set_data(np.ones((2, 3, 4), np.float32))
        mrc.set_extended_header(records)
        mrc.header.exttyp = b"FEI1"
    with pytest.warns(MrczWarning, match="tilt angles ignored"):
        image = nm.read(tmp_path / "bad.mrc")
    assert image.tilt_angles is None and np.array_equal(image.data, np.ones((2, 3, 4), np.float32))


def test_permuted_axes_and_volume_stacks_have_no_per_slice_angles(tmp_path: Path) -> None:
    volumes = nm.write(tmp_path / "vs.mrc", np.zeros((2, 5, 4, 4), np.float32), compressor=None)
    (tmp_path / "vs.rawtlt").write_text("\n".join(map(str, ANGLES * 2)))
    assert quiet_read(volumes).tilt_angles is None
    with mrcfile.new(tmp_path / "p.mrc") as mrc:
        mrc.set_data(np.zeros((5, 4, 4), np.float32))
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = 2, 3, 1
    (tmp_path / "p.rawtlt").write_text("\n".join(map(str, ANGLES)))
    assert quiet_read(tmp_path / "p.mrc").tilt_angles is None


def test_remote_files_use_their_header_and_fetch_no_sidecar(tmp_path: Path) -> None:
    pytest.importorskip("fsspec")
    from loopback_http import LoopbackServer

    shared = TESTDATA / "edges" / "tilt_fei2.mrc"
    if not shared.is_file():
        pytest.skip("no shared corpus")
    (tmp_path / "fei2.mrc").write_bytes(shared.read_bytes())
    stack(tmp_path / "tomo.st")
    (tmp_path / "tomo.rawtlt").write_text("\n".join(map(str, ANGLES)))
    with LoopbackServer(tmp_path) as server:
        assert np.array_equal(nm.open_mrc(server.url("fei2.mrc")).tilt_angles, [-45.0, -15.0, 15.0, 45.0])
        server.reset()
        assert nm.open_mrc(server.url("tomo.st")).tilt_angles is None
        assert not [path for _, path, _ in server.requests if "rawtlt" in path or "mdoc" in path]
