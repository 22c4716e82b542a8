"""The seek table's bytes: encode/decode round trip, and every way a table can fail to verify."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from napari_mrcz.format import seektable
from napari_mrcz.format.seektable import SeekTableError

HEADER = {"data_offset": 1024 + 77, "slice_nbytes": 4096}


def _fields(sizes: list[int]) -> dict[str, int]:
    return {"nz": len(sizes), "packed_bytes": sum(sizes), **HEADER}


@given(st.lists(st.integers(16, 2**40), min_size=1, max_size=300))
def test_round_trip(sizes: list[int]) -> None:
    raw = seektable.encode(cbytes=sizes, **HEADER)
    assert len(raw) == seektable.trailer_nbytes(len(sizes)) == 52 + 8 * len(sizes)
    got = seektable.decode(raw, **_fields(sizes))
    assert got.dtype == np.int64 and got.tolist() == sizes
    offsets = seektable.offsets_from_sizes(HEADER["data_offset"], got)
    assert offsets[0] == HEADER["data_offset"]
    assert np.array_equal(offsets[1:], HEADER["data_offset"] + np.cumsum(sizes)[:-1])


def _recrc(raw: bytearray) -> bytes:
    """The trailer with its CRC-32 recomputed: a forged table that passes the checksum."""
    raw[-4:] = struct.pack("<I", zlib.crc32(bytes(raw[:-4])))
    return bytes(raw)


SIZES = [300, 17, 4000, 16, 999]


def _forged(edit) -> bytes:
    raw = bytearray(seektable.encode(cbytes=SIZES, **HEADER))
    edit(raw)
    return _recrc(raw)


def _put(at: int, fmt: str, value: int):
    return lambda raw: struct.pack_into(fmt, raw, at, value)


@pytest.mark.parametrize(
    ("raw", "pattern"),
    [
        (seektable.encode(cbytes=SIZES, **HEADER)[:-1], r"holds \d+ bytes"),
        (b"X" + seektable.encode(cbytes=SIZES, **HEADER)[1:], r"magic"),
        (bytes(b ^ (i == 60) for i, b in enumerate(seektable.encode(cbytes=SIZES, **HEADER))), r"CRC-32"),
        (_forged(_put(8, "<I", 2)), r"version 2"),
        (_forged(_put(16, "<Q", 2**40)), r"NZ 1099511627776"),
        (_forged(_put(24, "<Q", 1024)), r"data offset 1024"),
        (_forged(_put(32, "<Q", 8192)), r"slice bytes 8192"),
        (_forged(_put(40, "<Q", 1)), r"packed bytes 1\b"),
        (_forged(_put(48 + 8, "<Q", 8)), r"entry 1 is 8 bytes"),
        (_forged(_put(48 + 16, "<Q", 2**64 - 1)), r"add up"),
        (_forged(lambda raw: (struct.pack_into("<Q", raw, 48, 2**63), struct.pack_into("<Q", raw, 56, 2**63))), r"add up"),
        (_forged(_put(48, "<Q", 301)), r"add up"),
    ],
    ids=["short", "magic", "crc", "version", "nz", "data_offset", "slice_bytes", "packed", "tiny_entry",
         "huge_entry", "wrapping_sum", "sum"],
)
def test_tables_that_do_not_verify(raw: bytes, pattern: str) -> None:
    with pytest.raises(SeekTableError, match=pattern):
        seektable.decode(raw, **_fields(SIZES))


def test_is_trailer() -> None:
    assert seektable.is_trailer(seektable.encode(cbytes=[20], **HEADER))
    assert not seektable.is_trailer(b"MRCZSEE") and not seektable.is_trailer(b"")
