"""The reader decodes into uninitialised memory: every chunk kind blosc may not fully write must be
zeroed first, so no read ever returns what the heap held; chunks mrcz and napari-mrcz write are not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from checks import reads_after_heap_spray
from corpus import TESTDATA

import napari_mrcz as nm
from napari_mrcz.format.chunks import parse_chunk_header


def _edited(folder: Path, shuffle: str, typesize: int, cname: str) -> Path:
    """float32 slices whose chunks claim another type size (slice 1 only)."""
    z, y, x = np.mgrid[:4, :48, :40]
    path = nm.write(folder / "t.mrcz", np.sin(x / 7.0 + y / 5.0 + z).astype(np.float32), compressor=cname,
                    shuffle=shuffle)
    raw = bytearray(path.read_bytes())
    with nm.open_mrc(path) as info:
        at = int(info.chunk_index.offsets[1])
    raw[at + 3] = typesize
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("typesize", [3, 5, 6, 7, 12, 16, 255])
@pytest.mark.parametrize("shuffle", ["none", "byte", "bit"])
@pytest.mark.parametrize("cname", ["zstd", "lz4"])
def test_odd_type_sizes_never_expose_memory(tmp_path: Path, typesize: int, shuffle: str, cname: str) -> None:
    assert len(set(reads_after_heap_spray(_edited(tmp_path, shuffle, typesize, cname)))) == 1


def _chunks(path: Path) -> list:
    with nm.open_mrc(path) as info:
        index = info.chunk_index
        return [parse_chunk_header(info.source.pread(16, int(at))) for at in index.offsets]


@pytest.mark.parametrize("path", sorted((TESTDATA / "mrcz").glob("*.mrcz")), ids=lambda p: p.name)
def test_ordinary_files_need_no_zeroing(path: Path) -> None:
    """mrcz's and our (blosc1) chunks are trusted to fill the output: no memset on the common path.
    blosc2-format chunks (mrcz's ``backend="blosc2"``) may be special chunks: always zeroed first."""
    heads = _chunks(path)
    assert all(head.fills_output == (head.version <= 2) for head in heads)
    assert np.array_equal(nm.read(path).data.ravel(), np.load(str(path) + ".npy").ravel(), equal_nan=True)


@pytest.mark.parametrize("dtype", ["i1", "i2", "u2", "f4", "c8", "f2", "i4"])
def test_our_chunks_need_no_zeroing(tmp_path: Path, dtype: str) -> None:
    path = nm.write(tmp_path / "o.mrcz", np.ones((2, 30, 20), dtype))
    assert all(head.fills_output for head in _chunks(path))
