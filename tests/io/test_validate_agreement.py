"""validate() against mrcfile.validate over generated files: non-finite voxels, trailing bytes in
.gz/.bz2, machine stamps that contradict the byte order, and header statistics (issue 17, items 7-10).

Each kind is generated over dtypes, byte orders, containers and sizes; the verdicts must agree with
mrcfile's wherever mrcfile is right, and the few places it is wrong are asserted as such.
"""

from __future__ import annotations

import bz2
import gzip
import io
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.format.header import HEADER_DTYPE
from napari_mrcz.io.stats.check import average_matches, extreme_matches
from napari_mrcz.io.validate import is_valid, validate

mrcfile = pytest.importorskip("mrcfile")

COMPRESS: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.compress, "bz2": bz2.compress}
SUFFIX = {"gzip": ".gz", "bz2": ".bz2"}


def _mrcfile_verdict(path: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mrcfile warns on the odd files it still opens permissively
        return bool(mrcfile.validate(str(path), print_file=io.StringIO()))


def _errors(path: Path) -> str:
    return "\n".join(p.message for p in validate(path) if p.severity != "warning")


def _mrcfile_write(path: Path, data: np.ndarray) -> None:
    """mrcfile's own writer, with the statistics it computes (float32 mean and std)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "Data array contains NaN/infinite values"
        with mrcfile.new(str(path), overwrite=True) as mrc:
            mrc.set_data(data)


def _set_header(path: Path, **fields: Any) -> None:
    """Overwrite header fields in the file's own byte order (a test-only way to make one defect)."""
    raw = bytearray(path.read_bytes())
    order = ">" if raw[212] == 0x11 else "<"
    rec = np.frombuffer(bytes(raw[:1024]), dtype=HEADER_DTYPE.newbyteorder(order)).copy()
    for name, value in fields.items():
        rec[name] = value
    raw[:1024] = rec.tobytes()
    path.write_bytes(bytes(raw))


def _header(path: Path) -> np.void:
    with mrcfile.open(str(path), permissive=True) as mrc:
        return mrc.header.copy()


# ---- item 7: ±inf and NaN voxels ----------------------------------------------------------------


SPECIALS = {"inf": [np.inf], "-inf": [-np.inf], "both-inf": [np.inf, -np.inf], "nan": [np.nan],
            "nan-and-inf": [np.nan, -np.inf], "many-inf": [np.inf] * 7}


def _with_specials(dtype: str, specials: list[float], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.normal(3.0, 2.0, size=(3, 9, 11)).astype(dtype)
    flat = data.reshape(-1)
    flat[rng.choice(flat.size, len(specials), replace=False)] = specials
    return data


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("kind", list(SPECIALS))
@pytest.mark.parametrize("writer", ["mrcfile", "ours"])
def test_non_finite_voxels(tmp_path: Path, writer: str, kind: str, dtype: str, seed: int) -> None:
    data = _with_specials(dtype, SPECIALS[kind], seed)
    path = tmp_path / "special.mrc"
    if writer == "mrcfile":
        _mrcfile_write(path, data)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            nm.write(path, data, compressor=None)
    assert _errors(path) == ""
    if writer == "mrcfile" or "nan" not in kind:
        assert _mrcfile_verdict(path)
    else:
        # Our writer stores the range of the voxels that are numbers as DMIN/DMAX (napari's contrast
        # needs one); mrcfile compares them with np.min, which is NaN, and calls the file invalid.
        assert not _mrcfile_verdict(path)


@pytest.mark.parametrize("compressor", ["zstd", "lz4"])
@pytest.mark.parametrize("kind", ["inf", "-inf", "both-inf"])
def test_non_finite_voxels_in_mrcz(tmp_path: Path, kind: str, compressor: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        nm.write(tmp_path / "s.mrcz", _with_specials("float32", SPECIALS[kind], 3), compressor=compressor)
    assert validate(tmp_path / "s.mrcz") == []


@pytest.mark.parametrize("kind", ["inf", "-inf", "nan"])
@pytest.mark.parametrize("field", ["dmin", "dmax"])
def test_stale_header_over_non_finite_voxels_is_invalid(tmp_path: Path, kind: str, field: str) -> None:
    """The header describes finite data, the file holds inf/NaN voxels: both validators object
    (for NaN only when the stale extreme differs from the other voxels' range)."""
    data = _with_specials("float32", [], 0)
    path = tmp_path / "stale.mrc"
    _mrcfile_write(path, data)
    special = SPECIALS[kind][0]
    data[1, 2, 3] = special
    if kind == "nan":
        data[1, 2, 4] = 100.0 if field == "dmax" else -100.0  # a new extreme beside the NaN
    raw = bytearray(path.read_bytes())
    raw[1024:] = data.astype("<f4").tobytes()
    path.write_bytes(bytes(raw))
    assert not _mrcfile_verdict(path)
    assert not is_valid(validate(path))


def test_inf_voxel_edge_file_is_valid(testdata: Path) -> None:
    path = testdata / "edges" / "inf_voxel.mrc"
    assert _mrcfile_verdict(path) and validate(path) == []


# ---- item 8: bytes after the data, also inside .gz and .bz2 -------------------------------------


@pytest.mark.parametrize("extra", [0, 1, 7, 1000, 70_000])
@pytest.mark.parametrize("container", [None, "gzip", "bz2"])
@pytest.mark.parametrize("dtype", ["int16", "float32", "complex64"])
def test_trailing_bytes_in_any_container(tmp_path: Path, dtype: str, container: str | None, extra: int) -> None:
    data = (np.random.default_rng(extra).normal(size=(3, 8, 6)) * 50).astype(dtype)
    plain = tmp_path / "t.mrc"
    nm.write(plain, data, compressor=None)
    raw = plain.read_bytes() + bytes(range(256)) * (extra // 256) + bytes(extra % 256)
    path = plain if container is None else tmp_path / f"t.mrc{SUFFIX[container]}"
    path.write_bytes(raw if container is None else COMPRESS[container](raw))
    errors = _errors(path)
    if extra:
        assert f"{len(raw)} is {extra} bytes more than the header implies ({len(raw) - extra})" in errors
        if container:
            assert f"decompressed {container} stream" in errors
    else:
        assert errors == ""
    assert _mrcfile_verdict(path) == (extra == 0)
    assert np.array_equal(nm.read(path).data, data)  # the reader still reads the data


@pytest.mark.parametrize("container", ["gzip", "bz2"])
def test_trailing_bytes_after_mrcz_in_a_stream(tmp_path: Path, container: str) -> None:
    nm.write(tmp_path / "t.mrcz", np.arange(240, dtype=np.uint16).reshape(2, 10, 12), compressor="zstd")
    path = tmp_path / f"t.mrcz{SUFFIX[container]}"
    path.write_bytes(COMPRESS[container]((tmp_path / "t.mrcz").read_bytes() + b"tail"))
    assert "is 4 bytes more than the header implies" in _errors(path)


def test_trailing_bytes_are_counted_up_to_a_limit(tmp_path: Path, settings: Any) -> None:
    nm.write(tmp_path / "t.mrc", np.zeros((2, 4, 4), np.float32), compressor=None)
    path = tmp_path / "t.mrc.gz"
    path.write_bytes(gzip.compress((tmp_path / "t.mrc").read_bytes() + bytes(5000)))
    settings("validate.count_bytes", 1000)  # a stand-in for 1 GiB
    assert "is at least 1000 bytes more than the header implies" in _errors(path)


@pytest.mark.parametrize("tail", [b"", b"more bytes"])
def test_damaged_stream_end_is_reported(tmp_path: Path, tail: bytes) -> None:
    data = np.arange(96, dtype=np.float32).reshape(2, 6, 8)
    nm.write(tmp_path / "t.mrc", data, compressor=None)
    packed = bytearray(gzip.compress((tmp_path / "t.mrc").read_bytes() + tail))
    packed[-8] ^= 0xFF  # the CRC-32 of the gzip trailer
    path = tmp_path / "t.mrc.gz"
    path.write_bytes(bytes(packed))
    assert "gzip stream" in _errors(path) and not _mrcfile_verdict(path)
    assert np.array_equal(nm.read(path).data, data)  # all the data is there: the reader reads it


# ---- item 9: a machine stamp that contradicts the byte order ------------------------------------


WRONG_STAMPS = {"<": [(0x11, 0x11)], ">": [(0x44, 0x44), (0x44, 0x41)]}


@pytest.mark.parametrize("compressor", [None, "zstd"])
@pytest.mark.parametrize("dtype", ["int16", "uint16", "float32", "float16", "complex64"])
@pytest.mark.parametrize("endian", ["<", ">"])
def test_machine_stamp_contradicting_byte_order(tmp_path: Path, endian: str, dtype: str, compressor: str | None) -> None:
    data = (np.random.default_rng(1).normal(size=(2, 5, 7)) * 30).astype(dtype)
    path = tmp_path / "stamp.mrcz"
    nm.write(path, data, compressor=compressor, endianness=endian)
    assert validate(path) == []
    for stamp in WRONG_STAMPS[endian]:
        raw = bytearray(path.read_bytes())
        raw[212:214] = bytes(stamp)
        path.write_bytes(bytes(raw))
        said, real = ("little", "big") if endian == ">" else ("big", "little")
        assert f"machine stamp {stamp[0]:02x} {stamp[1]:02x} 00 00 says {said}-endian, but the header reads as " \
               f"{real}-endian" in _errors(path)
        assert np.array_equal(nm.read(path, strict=False).data, data)  # the data is still read right
        if compressor is None:
            # mrcfile.validate calls it valid, yet mrcfile.open cannot read it: mrcfile is wrong here
            assert _mrcfile_verdict(path)
            with pytest.raises(ValueError):
                mrcfile.open(str(path)).close()


@pytest.mark.parametrize("stamp", [(0x44, 0x44), (0x44, 0x41)])
def test_both_little_endian_stamps_are_fine(tmp_path: Path, stamp: tuple[int, int]) -> None:
    path = tmp_path / "s.mrc"
    nm.write(path, np.ones((2, 3, 4), np.float32), compressor=None, endianness="<")
    raw = bytearray(path.read_bytes())
    raw[212:214] = bytes(stamp)
    path.write_bytes(bytes(raw))
    assert validate(path) == [] and _mrcfile_verdict(path)


# ---- item 10: DMIN/DMAX exact, DMEAN/RMS within mrcfile's 1% ------------------------------------


DTYPES = ["int8", "int16", "uint16", "float32", "float16"]


def _stats_data(dtype: str, seed: int) -> np.ndarray:
    """Data whose minimum is not 0 (so that its sign can be wrong), mean well away from 0."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype) if dtype[0] in "iu" else None
    centre = 60 if info is None or info.min < 0 else 900
    values = rng.normal(centre, 20, size=(4, 10, 9))
    if info is not None:
        values = np.clip(np.rint(values), max(info.min, 1), info.max)
    return values.astype(dtype)


def _defects(h: np.void) -> dict[str, dict[str, float]]:
    """Header changes, each one defect; the value is what the header then holds."""
    dmin, dmax, dmean, rms = (float(h[k]) for k in ("dmin", "dmax", "dmean", "rms"))
    spread = dmax - dmin
    return {
        "dmin-wrong-sign": {"dmin": -dmin},
        "dmin-0.5%-of-range-low": {"dmin": dmin - max(1.0, round(0.005 * spread))},
        "dmax-0.5%-of-range-high": {"dmax": dmax + max(1.0, round(0.005 * spread))},
        "dmax-one-float32-step": {"dmax": float(np.nextafter(np.float32(dmax), np.float32(np.inf)))},
        "dmean-3%": {"dmean": dmean * 1.03},
        "rms-3%": {"rms": rms * 1.03},
        "rms-is-root-mean-square": {"rms": float(np.sqrt(rms**2 + dmean**2))},
        "dmean-0.5%": {"dmean": dmean * 1.005},  # mrcfile's allowance for float32 summation: valid
        "rms-0.5%": {"rms": rms * 0.995},
    }


VALID_DEFECTS = {"dmean-0.5%", "rms-0.5%"}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("dtype", DTYPES)
def test_statistics_agree_with_mrcfile(tmp_path: Path, dtype: str, seed: int) -> None:
    path = tmp_path / "s.mrc"
    _mrcfile_write(path, _stats_data(dtype, seed))
    # mrcfile computes the RMS of float16 data in float16, which overflows to inf: it rejects
    # every float16 file it writes itself (values above ~2.5), so there it is wrong
    mrcfile_right = dtype != "float16"
    assert validate(path) == [] and _mrcfile_verdict(path) == mrcfile_right
    original = path.read_bytes()
    for name, change in _defects(_header(path)).items():
        path.write_bytes(original)
        _set_header(path, **change)
        ours = is_valid(validate(path))
        assert ours == (name in VALID_DEFECTS), (name, change, validate(path))
        if mrcfile_right:
            assert _mrcfile_verdict(path) == ours, (name, change)


@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_wrong_sign_dmin_of_a_stack_fails(tmp_path: Path, dtype: str) -> None:
    """An EMAN-style stack: header DMIN = -(data minimum); the old 1%-of-range rule let it through."""
    data = np.rint(np.random.default_rng(5).normal(15.0, 20.0, size=(6, 10, 9))).astype(dtype)
    path = tmp_path / "stack.mrcs"
    nm.write(path, data, compressor=None)
    real_min = float(data.min())
    assert real_min < 0 < -real_min < float(data.max())  # still DMIN < DMAX: "determined"
    _set_header(path, dmin=-real_min)
    assert f"DMIN={-real_min:.9g} in the header, but the data's minimum is {real_min:.9g}" in _errors(path)
    assert not _mrcfile_verdict(path)


@pytest.mark.parametrize("offset", [0.0, 1e4, -250.0])
@pytest.mark.parametrize("shape", [(3, 64, 64), (1, 256, 300)])
def test_float32_writers_pass(tmp_path: Path, shape: tuple[int, ...], offset: float) -> None:
    """Statistics that mrcfile computes in float32 (and ours) pass, whatever the data's offset."""
    data = (np.random.default_rng(2).normal(offset, 1.0, size=shape)).astype(np.float32)
    for writer in ("mrcfile", "ours"):
        path = tmp_path / f"{writer}.mrc"
        _mrcfile_write(path, data) if writer == "mrcfile" else nm.write(path, data, compressor=None)
        assert validate(path) == [] and _mrcfile_verdict(path)


@pytest.mark.parametrize("seed", range(4))
def test_mean_near_zero_within_float32_summation_error(tmp_path: Path, seed: int) -> None:
    """A zero-mean map whose DMEAN is off by float32 summation error only: mrcfile's absolute 1e-8
    calls it invalid (wrong: the error scales with the data); ours does not. Ten times that is wrong."""
    data = np.random.default_rng(seed).normal(0.0, 1000.0, size=(4, 32, 32))
    data = (data - data.mean()).astype(np.float32)
    path = tmp_path / "z.mrc"
    _mrcfile_write(path, data)
    real = float(data.astype(np.float64).mean())
    error = 2.0**-24 * float(np.abs(data).max())  # one float32 ulp of the largest value
    _set_header(path, dmean=real + error)
    assert is_valid(validate(path)) and not _mrcfile_verdict(path)
    _set_header(path, dmean=real + 10 * np.log2(data.size) * error)
    assert "DMEAN=" in _errors(path)


def test_int32_extremes_may_be_float32_rounded(tmp_path: Path) -> None:
    """int32 (mrcz's mode 7) values beyond 2^24: the header can hold only their float32 rounding."""
    data = np.array([[[2**30 + 1, 5], [7, -(2**29) - 3]]], dtype=np.int32)
    nm.write(tmp_path / "i.mrc", data, compressor=None)
    assert is_valid(validate(tmp_path / "i.mrc"))
    assert extreme_matches(2**30 + 1, float(np.float32(2**30 + 1)))
    assert not extreme_matches(2**30 + 1, float(np.float32(2**30 + 1)) + 128)


@pytest.mark.parametrize(
    ("real", "found", "ok"),
    [(np.inf, np.inf, True), (-np.inf, -np.inf, True), (np.inf, -np.inf, False), (np.nan, np.nan, True),
     (np.nan, 1.0, False), (1.0, np.inf, False), (100.0, 100.9, True), (100.0, 101.1, False)],
)
def test_average_rule_on_non_finite_values(real: float, found: float, ok: bool) -> None:
    assert average_matches(real, found, 1.0, 1000) is ok
