"""Files we write, read by the peers: mrcz (MRCZ, bit-exact, voxel size) and mrcfile (plain MRC2014)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.format.constants import WRITABLE_COMPRESSORS

mrcz = pytest.importorskip("mrcz")
mrcfile = pytest.importorskip("mrcfile")

MRCZ_DTYPES = ["i1", "i2", "u2", "f4", "c8", "i4", "u4"]  # mrcz cannot read float16 (mode 12)


def _data(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    rng = np.random.default_rng(sum(shape))
    return (rng.normal(size=shape) * 100 + (1j if np.dtype(dtype).kind == "c" else 0)).astype(dtype)


@pytest.mark.parametrize("dtype", MRCZ_DTYPES)
@pytest.mark.parametrize("compressor", WRITABLE_COMPRESSORS)
@pytest.mark.parametrize("endianness", ["<", ">"])
@pytest.mark.parametrize("shape", [(4, 17, 23), (9, 13), (1, 8, 8)])
def test_mrcz_reads_our_mrcz(tmp_path: Path, dtype: str, compressor: str, endianness: str,
                             shape: tuple[int, ...]) -> None:
    data = _data(shape, dtype)
    path = tmp_path / "ours.mrcz"
    nm.write(path, data, compressor=compressor, endianness=endianness, voxel_size=(3.0, 2.0, 1.25),
             metadata={"sample": "Zoë"}, voltage=300.0)
    got, header = mrcz.readMRC(str(path), endian="le" if endianness == "<" else "be")
    assert np.array_equal(got.reshape(shape), data)  # mrcz squeezes single slices
    want = (2.0, 1.25) if len(shape) == 2 else (3.0, 2.0, 1.25)
    assert np.asarray(header["pixelsize"])[-len(want):] == pytest.approx(want)
    assert header["voltage"] == 300.0 and header["sample"] == "Zoë"


def test_mrcz_reads_our_volume_stack_as_frames(tmp_path: Path) -> None:
    data = _data((3, 2, 5, 6), "f4")
    nm.write(tmp_path / "v.mrcz", data)
    frames, _ = mrcz.readMRC(str(tmp_path / "v.mrcz"))
    assert len(frames) == 3 and all(np.array_equal(f, v) for f, v in zip(frames, data))


@pytest.mark.parametrize("dtype", ["i1", "i2", "u2", "f4", "c8", "f2"])
@pytest.mark.parametrize("endianness", ["<", ">"])
@pytest.mark.parametrize("shape", [(4, 17, 23), (9, 13), (1, 8, 8), (2, 3, 5, 6)])
def test_plain_mrc_passes_mrcfile_validate(tmp_path: Path, dtype: str, endianness: str,
                                           shape: tuple[int, ...]) -> None:
    data = _data(shape, dtype)
    if dtype == "f2":  # mrcfile.validate computes the RMS in float16, which overflows past 65504
        data = (data / 1000).astype(dtype)
    path = tmp_path / "ours.mrc"
    nm.write(path, data, compressor=None, endianness=endianness, voxel_size=(3.0, 2.0, 1.25))
    report = io.StringIO()
    assert mrcfile.validate(str(path), print_file=report), report.getvalue()
    with mrcfile.open(path) as m:
        assert m.data.shape == data.shape and np.array_equal(m.data, data)
        vs = m.voxel_size
        assert (float(vs.z), float(vs.y), float(vs.x))[-2 if len(shape) == 2 else 0:] == pytest.approx(
            (3.0, 2.0, 1.25)[-2 if len(shape) == 2 else 0:])


def test_plain_mrc_metadata_only_on_request_for_validators(tmp_path: Path) -> None:
    """JSON metadata makes EXTTYP 'json', which mrcfile.validate does not know: still readable."""
    path = tmp_path / "meta.mrc"
    nm.write(path, np.zeros((2, 3, 4), np.float32), compressor=None, metadata={"a": 1})
    with mrcfile.open(path) as m:
        assert m.header.exttyp == b"json" and m.data.shape == (2, 3, 4)
    assert nm.read(path).metadata == {"a": 1}


def test_mrcz_reads_our_plain_mrc(tmp_path: Path) -> None:
    """MRC2014 sets MZ = NZ for a volume; mrcz then returns a list holding that one volume."""
    data = _data((3, 4, 5), "i2")
    nm.write(tmp_path / "p.mrc", data, compressor=None)
    frames, _ = mrcz.readMRC(str(tmp_path / "p.mrc"))
    assert len(frames) == 1 and np.array_equal(frames[0], data)
