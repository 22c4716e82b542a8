"""Chunks naming a reserved, plugin or user-defined blosc codec are refused before blosc sees them
(c-blosc2 would go looking for a plugin library, even by starting a Python interpreter)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.format.chunks import FOREIGN_CODECS


@pytest.mark.parametrize("codec_id", sorted(FOREIGN_CODECS))
@pytest.mark.parametrize("compressor", ["zstd", "lz4", "zlib"])
@pytest.mark.parametrize("slice_index", [0, 2])
def test_foreign_codec_is_refused(tmp_path: Path, codec_id: int, compressor: str, slice_index: int) -> None:
    path = tmp_path / "x.mrcz"
    nm.write(path, np.arange(4 * 8 * 8, dtype=np.float32).reshape(4, 8, 8), compressor=compressor)
    info = nm.open_mrc(path)
    offset = int(info.chunk_index.offsets[slice_index])
    info.close()
    raw = bytearray(path.read_bytes())
    raw[offset + 2] = (raw[offset + 2] & 0x1F) | (codec_id << 5)
    path.write_bytes(bytes(raw))
    with pytest.raises(nm.UnsupportedError, match=f"codec id {codec_id}"):
        nm.read(path)
    with pytest.raises(nm.MrczError):
        np.asarray(nm.read(path, lazy=True).data)
