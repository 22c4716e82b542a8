"""Byte order without a machine stamp: inferred from the words that must be small, as ChimeraX and IMOD
do. Files are made by mrcfile (big- and little-endian, every mode it writes) and by our writer (mrcz's
modes 7/8, MRCZ), then their stamp is zeroed or overwritten with garbage."""

from __future__ import annotations

import warnings
from pathlib import Path

import mrcfile
import numpy as np
import pytest
from checks import random_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import napari_mrcz as nm
from napari_mrcz.format.byteorder import infer_byte_order
from napari_mrcz.format.header import HEADER_DTYPE

MRCFILE_DTYPES = ["i1", "i2", "f4", "c8", "u2", "f2"]  # modes 0, 1, 2, 4, 6, 12
STAMPS = {"zero": bytes(4), "garbage": b"\x01\x00\x7f\xee", "ascii": b"ABCD", "ones": b"\xff\xff\xff\xff"}


def _restamp(path: Path, stamp: bytes, drop_map_id: bool = False) -> None:
    raw = bytearray(path.read_bytes())
    raw[212:216] = stamp
    if drop_map_id:
        raw[208:212] = bytes(4)
    path.write_bytes(bytes(raw))


def _mrcfile(path: Path, data: np.ndarray, order: str, axes: tuple[int, int, int] | None = None) -> None:
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(np.zeros((1, 1, 1), order + "i2"))  # the header takes this order (1-byte data has none)
        mrc.set_data(data.astype(data.dtype.newbyteorder(order)))
        if axes is not None:
            mrc.header.mapc, mrc.header.mapr, mrc.header.maps = axes


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    dtype=st.sampled_from(MRCFILE_DTYPES),
    order=st.sampled_from(["<", ">"]),
    shape=st.tuples(st.integers(1, 6), st.integers(1, 40), st.integers(1, 40)),
    stamp=st.sampled_from(sorted(STAMPS)),
    drop_map_id=st.booleans(),
)
def test_mrcfile_files_without_a_stamp(tmp_path: Path, dtype: str, order: str, shape: tuple, stamp: str,
                                        drop_map_id: bool) -> None:
    data = random_data(shape, dtype, sum(shape))
    path = tmp_path / "f.mrc"
    _mrcfile(path, data, order)
    _restamp(path, STAMPS[stamp], drop_map_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nm.MrczWarning)  # the missing MAP ID, when dropped
        image = nm.read(path)
        lazy = nm.read(path, lazy=True).data.compute()
    assert image.header.byte_order == order
    assert np.array_equal(image.data, data, equal_nan=True) and np.array_equal(lazy, data, equal_nan=True)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("dtype", MRCFILE_DTYPES)
@pytest.mark.parametrize("axes", [(1, 2, 3), (0, 0, 0), (3, 1, 2), (2, 3, 1)])
def test_every_mode_and_axis_order(tmp_path: Path, order: str, dtype: str, axes: tuple) -> None:
    """Tiny dimensions (1 voxel) and zero axis words leave the least to go on."""
    for shape in ((1, 1, 1), (1, 1, 4), (3, 2, 2), (2, 7, 5)):
        data = random_data(shape, dtype, 3)
        path = tmp_path / "f.mrc"
        _mrcfile(path, data, order, axes)
        stamped = nm.read(path).data  # the stamp still says the order
        _restamp(path, bytes(4))
        image = nm.read(path)
        assert image.header.byte_order == order, shape
        assert np.array_equal(image.data, stamped, equal_nan=True)
        if axes == (0, 0, 0):
            assert np.array_equal(image.data, data, equal_nan=True)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("dtype", ["i4", "u4", "i2", "f4"])
@pytest.mark.parametrize("compressor", [None, "zstd"])
def test_our_files_without_a_stamp(tmp_path: Path, order: str, dtype: str, compressor: str | None) -> None:
    data = random_data((3, 9, 11), dtype, 5)
    path = tmp_path / ("f.mrcz" if compressor else "f.mrc")
    nm.write(path, data, compressor=compressor, endianness=order)
    for stamp in STAMPS.values():
        _restamp(path, stamp)
        image = nm.read(path)
        assert image.header.byte_order == order
        assert np.array_equal(image.data, data)


@pytest.mark.parametrize("order", ["<", ">"])
def test_file_size_decides_when_the_words_do_not(order: str) -> None:
    """Every word symmetric under a byte swap but the dimensions: only the size tells."""
    rec = np.zeros((), HEADER_DTYPE.newbyteorder(order))
    rec["nx"], rec["ny"], rec["nz"], rec["mode"] = 4, 4, 2, 0
    raw = rec.tobytes()
    assert infer_byte_order(raw, 1024 + 4 * 4 * 2) == order
    assert infer_byte_order(raw, None) in ("<", ">")  # both sane without a size: no crash, an answer


def test_impossible_in_both_orders_is_not_mrc() -> None:
    raw = bytearray(1024)
    raw[12:16] = b"\x09\x09\x09\x09"  # MODE unknown either way
    assert infer_byte_order(bytes(raw)) is None
