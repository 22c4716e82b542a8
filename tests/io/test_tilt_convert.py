"""Tilt angles survive a rewrite: ``convert_file``, ``write(path, image)`` and batch runs (whose
``--verify`` compares them), from every place the reader finds them (FEI1/FEI2 and SERI extended
headers in either byte order, SerialEM .mdoc and IMOD .rawtlt beside the file, the JSON metadata) into
every kind of output: without JSON metadata the tilt-angle extended header byte for byte (same byte
order) or a SERI header of the angles (what IMOD reads; ``mrcfile.validate`` passes), with metadata its
``tilt_angles``."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.errors import MrczWarning, VerifyError
from napari_mrcz.io.batch.verify import compare_files
from napari_mrcz.io.writer.convert import convert_file

mrcfile = pytest.importorskip("mrcfile")
from mrcfile.dtypes import get_ext_header_dtype  # noqa: E402

ANGLES = np.array([-60.0, -31.5, 0.0, 29.99, 60.25])
NZ = len(ANGLES)
DATA = np.arange(NZ * 6 * 8, dtype=np.float32).reshape(NZ, 6, 8)


def _fei(folder: Path, order: str, exttyp: str = "FEI1") -> Path:
    records = np.zeros(NZ, dtype=get_ext_header_dtype(exttyp.encode(), order))
    records["Metadata size"] = records.dtype.itemsize
    records["Alpha tilt"] = ANGLES
    with mrcfile.new(folder / f"{folder.name}.mrc") as mrc:
        mrc.set_data(DATA.astype(order + "f4"))
        mrc.set_extended_header(records)
        mrc.header.exttyp = exttyp.encode()
    return folder / f"{folder.name}.mrc"


def _seri(folder: Path, order: str) -> Path:
    records = np.zeros((NZ, 3), dtype=order + "i2")  # NINT 6: tilt (flag 1) + stage position (flag 4)
    records[:, 0] = np.round(ANGLES * 100)
    records[:, 1:3] = [[7, -3]] * NZ
    with mrcfile.new(folder / f"{folder.name}.st") as mrc:
        mrc.set_data(DATA.astype(order + "f4"))
        mrc.set_extended_header(records.reshape(-1).view(np.uint8))
        mrc.header.exttyp = b"SERI"
    with open(folder / f"{folder.name}.st", "r+b") as raw:  # NINT, NREAL at bytes 128-131 (mrcfile has no fields for them)
        raw.seek(128)
        raw.write(np.array([6, 1 | 4], order + "i2").tobytes())
    return folder / f"{folder.name}.st"


def _mdoc(folder: Path, order: str) -> Path:
    path = nm.write(folder / f"{folder.name}.st", DATA, compressor=None, endianness=order)
    (folder / f"{folder.name}.st.mdoc").write_text("".join(f"[ZValue = {z}]\nTiltAngle = {a}\n\n" for z, a in enumerate(ANGLES)))
    return path


def _rawtlt(folder: Path, order: str) -> Path:
    path = nm.write(folder / f"{folder.name}.mrcz", DATA, endianness=order, metadata={"sample": "cell"})
    (folder / f"{folder.name}.rawtlt").write_text("\n".join(map(str, ANGLES)))
    return path


def _json(folder: Path, order: str) -> Path:
    return nm.write(folder / f"{folder.name}.mrcz", DATA, endianness=order, metadata={"tilt_angles": ANGLES.tolist()})


SOURCES: dict[str, Callable[[Path, str], Path]] = {
    "FEI1": _fei, "FEI2": lambda f, o: _fei(f, o, "FEI2"), "SERI": _seri, "mdoc": _mdoc, "rawtlt": _rawtlt,
    "json": _json,
}
CASES = list(itertools.product(SOURCES, ("<", ">"), (".mrc", ".mrcz", ".ali"), (True, False)))


def _check(source: Path, output: Path, keep_metadata: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # angles are read back without a warning
        got = nm.read(output)
    assert np.allclose(got.tilt_angles, ANGLES, rtol=0, atol=0.005), (got.tilt_angles, ANGLES)
    assert np.array_equal(got.data, DATA)
    src = nm.open_mrc(source)
    if not got.metadata:  # no JSON metadata: an extended header IMOD reads holds them
        assert got.header.exttyp in ("SERI", "FEI1", "FEI2")
        if src.header.exttyp == got.header.exttyp and src.header.byte_order == got.header.byte_order:
            assert got.header.nint == src.header.nint and got.header.nreal == src.header.nreal
            assert nm.open_mrc(output).extended_header == src.extended_header  # carried byte for byte
        if output.suffix != ".mrcz":
            assert mrcfile.validate(str(output), print_file=open("/dev/null", "w"))
    else:  # JSON metadata in the extended header: the angles join it
        assert got.metadata["tilt_angles"] == pytest.approx(list(ANGLES), abs=0.005)
    compare_files(source, output, keep_metadata=keep_metadata)


@pytest.mark.parametrize(("kind", "order", "suffix", "keep"), CASES)
def test_convert_keeps_tilt_angles(tmp_path: Path, kind: str, order: str, suffix: str, keep: bool) -> None:
    (tmp_path / "in").mkdir()
    source = SOURCES[kind](tmp_path / "in", order)
    output = tmp_path / f"out{suffix}"  # another name and folder: no sidecar matches it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        convert_file(source, output, keep_metadata=keep)
    for w in caught:  # an extended header not carried says its angles are
        assert "tilt angles are kept" in str(w.message), w.message
    _check(source, output, keep)


@pytest.mark.parametrize(("kind", "suffix"), list(itertools.product(SOURCES, (".mrc", ".mrcz"))))
def test_write_image_keeps_tilt_angles(tmp_path: Path, kind: str, suffix: str) -> None:
    (tmp_path / "in").mkdir()
    source = SOURCES[kind](tmp_path / "in", "<")
    nm.write(tmp_path / f"again{suffix}", nm.read(source))
    assert np.allclose(nm.read(tmp_path / f"again{suffix}").tilt_angles, ANGLES, rtol=0, atol=0.005)


def test_verify_compares_tilt_angles(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    source = _mdoc(tmp_path / "in", "<")
    lost = nm.write(tmp_path / "lost.mrc", DATA, compressor=None)  # the same pixels, no angles
    with pytest.raises(VerifyError, match=r"tilt angles \(°\) none differs from \[-60, -31\.5, 0, 29\.99, \.\.\.\] \(5\)"):
        compare_files(source, lost)
    other = nm.write(tmp_path / "other.mrcz", DATA, metadata={"tilt_angles": (ANGLES + 1).tolist()})
    with pytest.raises(VerifyError, match="metadata {'tilt_angles': \\[-59.0"):
        compare_files(source, other, keep_metadata=False)


def test_batch_keeps_and_verifies_tilt_angles(dask_scheduler: str, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    folders = []
    for kind in SOURCES:
        folder = tmp_path / kind
        folder.mkdir()
        folders.append(SOURCES[kind](folder, "<"))
    for suffix in (".mrcz", ".mrc"):
        out = tmp_path / f"out{suffix}"
        results = nm.convert_many(folders, out, suffix=suffix, scheduler=dask_scheduler, verify=True, force=True)
        assert [r.status for r in results] == ["done"] * len(SOURCES), results
        for source, result in zip(folders, results):
            assert result.verified
            assert np.allclose(nm.read(result.output).tilt_angles, ANGLES, rtol=0, atol=0.005)


def test_many_angles_beyond_a_seri_header_go_into_json(tmp_path: Path) -> None:
    """IMOD's SERI header holds ±327.67°: wider angles (allowed up to ±360) are kept as JSON metadata."""
    path = nm.write(tmp_path / "ts.st", DATA, compressor=None)
    (tmp_path / "ts.rawtlt").write_text("\n".join(map(str, [350.0, 0, 1, 2, 3])))
    out = convert_file(path, tmp_path / "x.mrc")
    assert nm.read(out).metadata == {"tilt_angles": [350.0, 0, 1, 2, 3]}
