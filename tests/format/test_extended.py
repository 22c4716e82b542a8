"""Tilt angles in extended headers (napari_mrcz.format.extended) and sidecar text
(napari_mrcz.format.sidecars): FEI1/FEI2 headers written by mrcfile, SerialEM headers built from
IMOD's layout, and malformed cases that must warn and give None."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_mrcz.errors import MrczWarning
from napari_mrcz.format.extended import SERI_FLAG_BYTES, extended_tilt_angles, seri_layout
from napari_mrcz.format.header import HEADER_DTYPE, parse_header
from napari_mrcz.format.sidecars import parse_mdoc, parse_tlt

mrcfile = pytest.importorskip("mrcfile")
from mrcfile.dtypes import get_ext_header_dtype  # noqa: E402

ANGLES = st.lists(st.integers(-7000, 7000).map(lambda a: a / 100), min_size=1, max_size=12)


def fei_file(tmp: Path, exttyp: bytes, angles: list[float], order: str = "<", bitmask: int = 0,
             extra_records: int = 0) -> tuple:
    """(header, extended bytes) of a file mrcfile writes with an FEI extended header."""
    dtype = get_ext_header_dtype(exttyp, order)
    records = np.zeros(len(angles) + extra_records, dtype=dtype)
    records["Metadata size"] = dtype.itemsize
    records["Bitmask 1"] = bitmask
    records["Alpha tilt"][: len(angles)] = angles
    path = tmp / "fei.mrc"
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(np.zeros((len(angles), 4, 4), np.dtype(order + "i2")))
        mrc.set_extended_header(records)
        mrc.header.exttyp = exttyp
    raw = path.read_bytes()
    header = parse_header(raw[:1024])
    return header, raw[1024 : 1024 + header.nsymbt]


def seri_header(nz: int, nint: int, nreal: int, nsymbt: int, order: str = "<") -> object:
    rec = np.zeros((), dtype=HEADER_DTYPE.newbyteorder(order))
    rec["nx"], rec["ny"], rec["nz"], rec["mode"] = 4, 4, nz, 1
    rec["mapc"], rec["mapr"], rec["maps"] = 1, 2, 3
    rec["nsymbt"], rec["exttyp"], rec["nint"], rec["nreal"] = nsymbt, b"SERI", nint, nreal
    rec["map"], rec["machst"] = b"MAP ", (0x44, 0x44, 0, 0) if order == "<" else (0x11, 0x11, 0, 0)
    return parse_header(rec.tobytes())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exttyp=st.sampled_from([b"FEI1", b"FEI2"]), angles=ANGLES, order=st.sampled_from("<>"),
       bitmask=st.sampled_from([0, 1 << 7, 0xFFFFFFFF]), extra=st.integers(0, 3))
def test_fei_alpha_tilt(tmp_path: Path, exttyp: bytes, angles: list[float], order: str, bitmask: int,
                        extra: int) -> None:
    header, extended = fei_file(tmp_path, exttyp, angles, order, bitmask, extra)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = extended_tilt_angles(header, extended)
    assert got is not None and np.array_equal(got, angles)


def test_fei_bitmask_without_alpha_tilt_means_none(tmp_path: Path) -> None:
    header, extended = fei_file(tmp_path, b"FEI1", [0.0, 10.0], bitmask=0xFFFFFFFF & ~(1 << 7))
    assert extended_tilt_angles(header, extended) is None


@pytest.mark.parametrize("damage", ["size0", "size_huge", "truncated", "nan", "absurd"])
def test_malformed_fei_warns_and_gives_none(tmp_path: Path, damage: str) -> None:
    header, extended = fei_file(tmp_path, b"FEI2", [-30.0, 0.0, 30.0])
    raw = bytearray(extended)
    if damage == "size0":
        raw[0:4] = np.int32(0).tobytes()
    elif damage == "size_huge":
        raw[0:4] = np.int32(10**6).tobytes()
    elif damage == "truncated":
        raw = raw[:50]
    elif damage == "nan":
        raw[888 + 100 : 888 + 108] = np.float64(np.nan).tobytes()
    else:
        raw[100:108] = np.float64(1e300).tobytes()
    with pytest.warns(MrczWarning, match="tilt angles ignored"):
        assert extended_tilt_angles(header, bytes(raw), "x.mrc") is None


def _seri_records(angles: list[float], flags: int, order: str, spare: int = 0) -> tuple[int, bytes]:
    nint = sum(size for flag, size in SERI_FLAG_BYTES.items() if flags & flag)
    records = np.zeros((len(angles) + spare, nint), np.uint8)
    hundredths = np.round(np.array(angles) * 100).astype(order + "i2")
    if flags & 1:
        records[: len(angles), :2] = hundredths.view(np.uint8).reshape(-1, 2)
    records[: len(angles), 2:] = 0x5A  # other items: filler that must not be read as angles
    return nint, records.tobytes()


@settings(max_examples=100, deadline=None)
@given(angles=ANGLES, extra_flags=st.sets(st.sampled_from([2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])),
       order=st.sampled_from("<>"), spare=st.integers(0, 5))
def test_serialem_tilt_angles(angles: list[float], extra_flags: set[int], order: str, spare: int) -> None:
    flags = 1 | sum(extra_flags)
    nint, extended = _seri_records(angles, flags, order, spare)
    header = seri_header(len(angles), nint, flags, len(extended), order)
    assert seri_layout(header)
    got = extended_tilt_angles(header, extended)
    assert got is not None and np.allclose(got, angles)


def test_serialem_without_tilt_flag_is_none() -> None:
    nint, extended = _seri_records([1.0, 2.0], 2 | 8, "<")
    assert extended_tilt_angles(seri_header(2, nint, 2 | 8, len(extended)), extended) is None


@pytest.mark.parametrize(("nint", "nreal", "size"), [(4, 1, 8), (2, 1, 2), (2, 4096 | 1, 8)],
                         ids=["flags-disagree", "truncated", "unknown-flag"])
def test_malformed_serialem_warns(nint: int, nreal: int, size: int) -> None:
    header = seri_header(2, nint, nreal, size)
    with pytest.warns(MrczWarning, match="tilt angles ignored"):
        assert extended_tilt_angles(header, bytes(size), "x.st") is None


def test_other_extended_headers_have_no_angles() -> None:
    header = seri_header(2, 2, 1, 4)
    for exttyp in ("json", "CCP4", "MRCO", "AGAR"):
        object.__setattr__(header, "exttyp", exttyp)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert extended_tilt_angles(header, bytes(4)) is None


def test_tlt_text() -> None:
    assert np.array_equal(parse_tlt("-60.0\n -57.01\n\n0\n3e1\n"), [-60.0, -57.01, 0.0, 30.0])
    for bad in ["", "\n\n", "-60\nabc\n", "nan\n", "1000\n"]:
        with pytest.raises(ValueError):
            parse_tlt(bad)


MDOC = """PixelSpacing = 2.1
ImageFile = tomo.st

[T = SerialEM: Digitized on EMBL Krios]

[ZValue = 1]
TiltAngle = 3.0012
StagePosition = 1 2

[FrameSet = 0]
TiltAngle = 99

[ZValue = 0]
TiltAngle = 0.0003
Magnification = 42000
[ZValue = 2]
TiltAngle = -2.99
"""


def test_mdoc_text() -> None:
    assert np.array_equal(parse_mdoc(MDOC, 3), [0.0003, 3.0012, -2.99])  # by ZValue, FrameSet skipped
    with pytest.raises(ValueError, match="ZValue 3"):
        parse_mdoc(MDOC, 4)
    with pytest.raises(ValueError, match="not a number"):
        parse_mdoc("[ZValue = 0]\nTiltAngle = x\n", 1)
