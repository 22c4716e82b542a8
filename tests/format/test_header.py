"""Header layout, parsing and building (napari_mrcz.header)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_mrcz.errors import HeaderError, UnsupportedError
from napari_mrcz.format.build import build_header
from napari_mrcz.format.header import HEADER_DTYPE, parse_header
from napari_mrcz.format.modes import mode_from_dtype


def test_header_dtype_matches_mrcfile_offsets() -> None:
    mrcfile_dtypes = pytest.importorskip("mrcfile.dtypes")
    ours = HEADER_DTYPE.fields
    for name, (dtype, offset, *_) in mrcfile_dtypes.HEADER_DTYPE.fields.items():
        if name in ours:
            assert ours[name][1] == offset, name
    assert ours["voltage"][1] == 132 and ours["packed_bytes"][1] == 144  # mrcz's words


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("compressor", [None, "zstd"])
def test_build_then_parse(order: str, compressor: str | None) -> None:
    raw = build_header(
        shape=(4, 6, 8), dtype=np.dtype(order + "i2"), byte_order=order, voxel_size=(3.0, 2.0, 1.5),
        compressor=compressor, stats=(1, 9, 5, 2), voltage=300, c3=2.7, gain=0.5, nsymbt=10, exttyp="json",
        label="napari-mrcz test",
    )
    h = parse_header(raw)
    assert (h.nx, h.ny, h.nz) == (8, 6, 4)
    assert h.byte_order == order
    assert h.compressor == compressor and h.mrc_mode == 1
    assert h.dtype == np.dtype(order + "i2")
    assert h.voxel_size == (3.0, 2.0, 1.5)
    assert (h.dmin, h.dmax, h.dmean, h.rms) == (1, 9, 5, 2)
    assert (h.voltage, round(h.c3, 5), h.gain) == (300, 2.7, 0.5)
    assert h.exttyp == "json" and h.data_offset == 1034
    assert h.mz == (0 if compressor else 4)  # mrcz returns a list of frames when MZ >= 1
    assert h.is_mrcz_file == bool(compressor)


def test_two_d_and_volume_stack_shapes() -> None:
    two_d = parse_header(build_header(shape=(6, 8), dtype=np.dtype("f4"), byte_order="<",
                                      voxel_size=(1, 1, 1), compressor=None))
    assert two_d.shape == (6, 8) and two_d.ispg == 0
    stack = parse_header(build_header(shape=(2, 3, 6, 8), dtype=np.dtype("f4"), byte_order="<",
                                      voxel_size=(4, 2, 1), compressor=None))
    assert stack.shape == (2, 3, 6, 8) and stack.ispg == 401 and stack.voxel_size == (4, 2, 1)


def _raw_with(**fields: object) -> bytes:
    rec = np.frombuffer(
        build_header(shape=(4, 6, 8), dtype=np.dtype("f4"), byte_order="<", voxel_size=(1, 1, 1), compressor=None),
        dtype=HEADER_DTYPE,
    ).copy()
    for name, value in fields.items():
        rec[name] = value
    return rec.tobytes()


def test_axis_order_reorders_shape_and_voxel_size() -> None:
    h = parse_header(_raw_with(mapc=3, mapr=1, maps=2, mx=8, my=6, mz=4, cella=(16.0, 12.0, 4.0)))
    # columns run along z (8), rows along x (6), sections along y (4); CELLA is per X, Y, Z
    assert h.shape == (8, 4, 6)
    assert h.voxel_size == (4.0 / 4, 12.0 / 6, 16.0 / 8)


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        ({"mode": 9}, UnsupportedError, "MODE 9"),
        ({"mode": 99002}, UnsupportedError, "compressor id 99"),
        ({"ny": -5}, HeaderError, "NY=-5"),
        ({"nz": 0}, HeaderError, "NZ=0"),
        ({"nsymbt": -4}, HeaderError, "NSYMBT=-4"),
        ({"mapc": 1, "mapr": 1, "maps": 3}, HeaderError, "MAPC/MAPR/MAPS"),
        ({"map": b"JUNK", "machst": (0, 0, 0, 0)}, HeaderError, "MAP"),
    ],
)
def test_bad_fields_name_the_problem(fields: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        parse_header(_raw_with(**fields), "f.mrc")


def test_short_header() -> None:
    with pytest.raises(HeaderError, match="shorter than the 1024-byte"):
        parse_header(b"\0" * 100)


def test_wrong_machine_stamp_is_overruled_by_plausible_fields() -> None:
    raw = bytearray(_raw_with())
    raw[212:214] = b"\x11\x11"  # claims big-endian, but the words only make sense little-endian
    assert parse_header(bytes(raw)).shape == (4, 6, 8)


def test_imod_unsigned_bytes() -> None:
    h = parse_header(_raw_with(mode=0, imod_stamp=1146047817, imod_flags=0))
    assert h.dtype == np.uint8
    assert parse_header(_raw_with(mode=0, imod_stamp=1146047817, imod_flags=1)).dtype == np.int8


@pytest.mark.parametrize("dtype", ["u1", "f8", "i8", "U3"])
def test_mode_from_dtype_refuses_what_mrc_cannot_hold(dtype: str) -> None:
    with pytest.raises(UnsupportedError, match="no MRC mode"):
        mode_from_dtype(np.dtype(dtype))
