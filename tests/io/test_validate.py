"""validate(): our files pass, mrcfile's verdicts are matched, one defect per test, never a raise."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus import corpus_params
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import napari_mrcz as nm
from napari_mrcz.format.header import HEADER_DTYPE
from napari_mrcz.io.validate import PRE_2014_NOTE, Problem, is_valid, validate

mrcfile = pytest.importorskip("mrcfile")


def _volume(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(4, 12, 10)).astype(np.float32)


def _patch(path: Path, **fields: Any) -> None:
    """Overwrite header fields of a little-endian file (a test-only way to make one defect)."""
    raw = bytearray(path.read_bytes())
    rec = np.frombuffer(bytes(raw[:1024]), dtype=HEADER_DTYPE).copy()
    for name, value in fields.items():
        scalar_int = rec.dtype[name].kind in "iu" and rec.dtype[name].shape == ()
        rec[name] = np.asarray(value).astype(rec.dtype[name]) if scalar_int else value  # wraps for 2-byte fields
    raw[:1024] = rec.tobytes()
    path.write_bytes(bytes(raw))


def _messages(problems: list[Problem], severity: str = "error") -> str:
    return "\n".join(p.message for p in problems if p.severity == severity)


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    path = tmp_path / "v.mrc"
    nm.write(path, _volume(), compressor=None, voxel_size=1.5)
    return path


@pytest.fixture
def mrcz_file(tmp_path: Path) -> Path:
    path = tmp_path / "v.mrcz"
    nm.write(path, _volume(), compressor="zstd", metadata={"a": 1})
    return path


@pytest.mark.parametrize(
    ("data", "options"),
    [
        (_volume(), {"compressor": None}),
        (_volume()[0], {"compressor": None}),
        (np.arange(60, dtype=np.int16).reshape(2, 3, 2, 5), {"compressor": None}),
        ((_volume() + 1j).astype(np.complex64), {"compressor": None}),
        (_volume().astype(np.float16), {"compressor": None, "endianness": ">"}),
        (_volume(), {"compressor": "zstd", "metadata": {"a": [1, 2]}, "voltage": 300.0}),
        (np.arange(480, dtype=np.uint16).reshape(4, 12, 10), {"compressor": "lz4", "endianness": ">"}),
        (_volume()[0], {"compressor": "blosclz"}),
    ],
    ids=["volume", "image", "volume-stack", "complex", "float16-big", "mrcz-json", "mrcz-big", "mrcz-2d"],
)
def test_files_we_write_are_valid(tmp_path: Path, data: np.ndarray, options: dict[str, Any]) -> None:
    path = tmp_path / "ours.mrcz"
    nm.write(path, data, **options)
    problems = validate(path)
    assert problems == [], problems
    if options["compressor"] is None:  # mrcfile agrees on plain files without JSON
        assert mrcfile.validate(str(path), print_file=io.StringIO())


def test_plain_file_with_json_is_valid_with_a_warning(tmp_path: Path) -> None:
    nm.write(tmp_path / "j.mrc", _volume(), compressor=None, metadata={"a": 1})
    problems = validate(tmp_path / "j.mrc")
    assert is_valid(problems) and [p.severity for p in problems] == ["warning"]
    assert "json" in problems[0].message and "mrcfile" in problems[0].message


@pytest.mark.parametrize("entry", corpus_params("real"))
def test_agrees_with_mrcfile_on_real_files(testdata: Path, entry: dict[str, Any]) -> None:
    path = testdata / entry["path"]
    assert is_valid(validate(path)) == mrcfile.validate(str(path), print_file=io.StringIO())


@pytest.mark.parametrize("entry", corpus_params("mrcz"))
def test_mrcz_library_files_are_readable_but_invalid(testdata: Path, entry: dict[str, Any]) -> None:
    problems = validate(testdata / entry["path"])
    assert not is_valid(problems) and "fatal" not in {p.severity for p in problems}
    assert "NVERSION=0" in _messages(problems)  # and its first-frame statistics, RMS 0
    assert "RMS=0 in the header" in _messages(problems)


@pytest.mark.parametrize("entry", corpus_params("bad"))
def test_hostile_files_are_fatal_never_raise(testdata: Path, entry: dict[str, Any]) -> None:
    problems = validate(testdata / entry["path"])
    assert problems[-1].severity == "fatal" and problems[-1].message.startswith("unreadable:")


def test_missing_file_is_fatal(tmp_path: Path) -> None:
    (problem,) = validate(tmp_path / "nope.mrc")
    assert problem.severity == "fatal" and "cannot open" in problem.message
    assert str(problem).startswith("fatal: ")


# ---- one defect per test (mrcfile's test_validation.py style) --------------------------------------


def test_wrong_map_id(plain: Path) -> None:
    _patch(plain, map=b"PAM ")
    assert "MAP ID at byte 208 is b'PAM '" in _messages(validate(plain))


def test_bad_machine_stamp(plain: Path) -> None:
    _patch(plain, machst=[0x12, 0x34, 0, 0])
    assert "machine stamp 12 34 00 00" in _messages(validate(plain))


def test_negative_mx(plain: Path) -> None:
    _patch(plain, mx=-1)
    assert "MX=-1 is negative" in _messages(validate(plain))


def test_negative_cell(plain: Path) -> None:
    _patch(plain, cella=(-1.0, 1.0, 1.0))
    assert "CELLA X=-1.0 is negative" in _messages(validate(plain))


def test_invalid_axis_mapping(plain: Path) -> None:
    _patch(plain, maps=1)
    problems = validate(plain)
    assert "MAPC/MAPR/MAPS=[1, 2, 1]" in _messages(problems)
    assert problems[-1].severity == "fatal"  # the reader refuses it too


def test_volume_stack_mz_not_dividing_nz(plain: Path) -> None:
    _patch(plain, ispg=401, mz=3)
    assert "NZ=4 should be a multiple of MZ=3" in _messages(validate(plain))


def test_nlabl_not_matching_labels(plain: Path) -> None:
    _patch(plain, nlabl=3)
    assert "NLABL=3 but 1 labels hold text" in _messages(validate(plain))


def test_gap_in_labels(plain: Path) -> None:
    labels = np.zeros(10, dtype="S80")
    labels[0], labels[2] = b"first", b"third"
    _patch(plain, label=labels, nlabl=2)
    assert "empty labels appear between" in _messages(validate(plain))


def test_wrong_nversion(plain: Path) -> None:
    _patch(plain, nversion=0)
    assert _messages(validate(plain)) == "NVERSION=0: should be 20140 or 20141 (MRC2014); " + PRE_2014_NOTE
    _patch(plain, nversion=20130)
    assert _messages(validate(plain)) == "NVERSION=20130: should be 20140 or 20141 (MRC2014)"


def test_unknown_exttyp(tmp_path: Path) -> None:
    nm.write(tmp_path / "x.mrc", _volume(), compressor=None, metadata={"a": 1})
    _patch(tmp_path / "x.mrc", exttyp=b"ABCD")
    assert "EXTTYP 'ABCD'" in _messages(validate(tmp_path / "x.mrc"))


def test_bad_json_metadata(tmp_path: Path) -> None:
    nm.write(tmp_path / "x.mrcz", _volume(), metadata={"a": 1})
    raw = bytearray((tmp_path / "x.mrcz").read_bytes())
    raw[1024] = ord("[")  # '{"a": 1}' -> '["a": 1}'
    (tmp_path / "x.mrcz").write_bytes(bytes(raw))
    assert "JSON extended header ignored" in _messages(validate(tmp_path / "x.mrcz"))


@pytest.mark.parametrize(("field", "value"), [("dmax", 10.0), ("dmin", -10.0), ("dmean", 1.0), ("rms", 2.0)])
def test_inaccurate_statistics(plain: Path, field: str, value: float) -> None:
    _patch(plain, **{field: value})
    assert f"{field.upper()}={value:g} in the header" in _messages(validate(plain))
    assert is_valid(validate(plain, check_stats=False))


def test_statistics_marked_undetermined_are_not_checked(plain: Path) -> None:
    _patch(plain, dmin=0.0, dmax=-1.0, dmean=-2.0, rms=-1.0)
    assert validate(plain) == []


def test_trailing_bytes(plain: Path, mrcz_file: Path) -> None:
    for path in (plain, mrcz_file):
        with open(path, "ab") as fh:
            fh.write(b"garbage")
        assert "7 bytes more than the header implies" in _messages(validate(path))


def test_packed_bytes_mismatch(mrcz_file: Path) -> None:
    _patch(mrcz_file, packed_bytes=12345)
    assert "packed bytes at byte 144 say 12345" in _messages(validate(mrcz_file))


def test_chunk_type_size_and_codec_mismatch_warn(mrcz_file: Path) -> None:
    info = nm.open_mrc(mrcz_file)
    first = int(info.chunk_index.offsets[0])
    info.close()
    raw = bytearray(mrcz_file.read_bytes())
    raw[first + 3] = 2  # typesize 2 for float32 data
    _patch_bytes = bytes(raw)
    mrcz_file.write_bytes(_patch_bytes)
    _patch(mrcz_file, mode=2 + 2000)  # MODE says lz4, the chunks are zstd
    warnings = _messages(validate(mrcz_file), "warning")
    assert "type size other than the 4 bytes" in warnings and "another codec than MODE's lz4" in warnings


def test_corrupt_chunk_payload_is_fatal(mrcz_file: Path) -> None:
    info = nm.open_mrc(mrcz_file)
    start, size = int(info.chunk_index.offsets[-1]), int(info.chunk_index.cbytes[-1])
    info.close()
    raw = bytearray(mrcz_file.read_bytes())
    raw[start + 16 : start + size] = bytes(size - 16)  # headers intact, compressed bytes zeroed
    mrcz_file.write_bytes(bytes(raw))
    problems = validate(mrcz_file)
    assert problems[-1].severity == "fatal" and "compressed slice 3" in problems[-1].message
    assert is_valid(validate(mrcz_file, check_stats=False))  # structure alone looks fine


_FIELDS = [n for n in HEADER_DTYPE.names if HEADER_DTYPE[n].kind in "iu" and HEADER_DTYPE[n].shape == ()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(_FIELDS), value=st.sampled_from([0, -1, 1, 401, 6002, 99001, 2**31 - 1, -(2**31)]),
       cut=st.integers(0, 3000) | st.none())
def test_never_raises_on_mutated_headers(mrcz_file: Path, field: str, value: int, cut: int | None) -> None:
    original = mrcz_file.read_bytes()
    try:
        _patch(mrcz_file, **{field: value})
        if cut is not None:
            mrcz_file.write_bytes(mrcz_file.read_bytes()[:cut])
        problems = validate(mrcz_file)
        assert all(p.severity in ("warning", "error", "fatal") and p.message for p in problems)
    finally:
        mrcz_file.write_bytes(original)
