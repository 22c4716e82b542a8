"""JSON extended header and units (napari_mrcz.format.metadata)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.format.metadata import angstrom_per, check_voxel_size, decode_metadata, encode_metadata


@pytest.mark.parametrize(
    ("units", "factor"),
    [("Å", 1), ("\u212b", 1), ("angstrom", 1), ("\\AA", 1), ("nm", 10), ("nanometer", 10), ("µm", 1e4),
     ("\u03bcm", 1e4), ("micrometer", 1e4), ("\\mum", 1e4), ("pm", 0.01), ("picometer", 0.01)],
)
def test_units(units: str, factor: float) -> None:
    assert angstrom_per(units) == factor


def test_voxel_size_forms() -> None:
    assert check_voxel_size(None, "Å") == (1.0, 1.0, 1.0)
    assert check_voxel_size(2, "nm") == (20.0, 20.0, 20.0)
    assert check_voxel_size((2, 3), "Å") == (2.0, 2.0, 3.0)
    with pytest.raises(nm.MrczError, match="voxel_size"):
        check_voxel_size((1, float("inf"), 2), "Å")


def test_encode_decode() -> None:
    meta = {"a": [1, 2.5, None], "b": {"ü": "ß"}}
    assert decode_metadata(encode_metadata(meta), "json") == meta
    assert encode_metadata(None) == encode_metadata({}) == b""
    assert decode_metadata(b'{"x": 1}', "FEI1") == {}  # not JSON: other extended headers are not parsed


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[1, 2]", b"[" * 100000])
def test_bad_json_warns_and_keeps_pixels(tmp_path: Path, raw: bytes) -> None:
    with pytest.warns(nm.MrczWarning, match="JSON extended header ignored"):
        assert decode_metadata(raw, "json", "f") == {}
    path = tmp_path / "j.mrcz"
    meta = {"k": "v" * len(raw)}  # an extended header long enough to overwrite with ``raw``
    nm.write(path, np.arange(8, dtype=np.int16).reshape(2, 2, 2), metadata=meta)
    blob = bytearray(path.read_bytes())
    size = len(encode_metadata(meta))
    blob[1024 : 1024 + size] = raw.ljust(size)
    path.write_bytes(bytes(blob))
    with pytest.warns(nm.MrczWarning):
        image = nm.read(path)
    assert image.metadata == {} and np.array_equal(image.data.ravel(), np.arange(8))
