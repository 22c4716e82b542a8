"""The napari reader opens files without a MAP ID whose header agrees with the file (old-style MRC,
Amira), warning with the problem, as ChimeraX and IMOD do; it still declines less certain ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from checks import mrcfile_permissive_data
from corpus import TESTDATA

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.errors import MrczWarning  # noqa: E402
from napari_mrcz.plugin.reader import get_reader  # noqa: E402
from checks import layer_tuples  # noqa: E402

EDGES = TESTDATA / "edges"


@pytest.mark.parametrize("name", ["old_style_no_map_id.mrcs", "foreign_map_id.rec"])
def test_opens_with_a_warning(name: str) -> None:
    path = EDGES / name
    if not path.is_file():
        pytest.skip("no shared corpus")
    expected = mrcfile_permissive_data(path)
    with pytest.warns(MrczWarning, match="no 'MAP ' ID at byte 208"):
        ((data, kwargs, kind),) = layer_tuples(npe2.read([str(path)], plugin_name="napari-mrcz", stack=False))
    assert kind == "image" and np.array_equal(np.asarray(data), expected)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("dtype", ["i1", "i2", "f4", "u2"])
@pytest.mark.parametrize("tail", [0, 7])
def test_generated_old_style_files(tmp_path: Path, order: str, dtype: str, tail: int) -> None:
    data = np.arange(3 * 9 * 5).reshape(3, 9, 5).astype(dtype)
    path = tmp_path / "old.mrcs"
    nm.write(path, data, endianness=order)
    raw = bytearray(path.read_bytes())
    raw[208:216] = bytes(8)
    path.write_bytes(bytes(raw) + bytes(tail))
    with pytest.warns(MrczWarning, match="no 'MAP ' ID"):
        reader = get_reader(str(path))
    if tail:  # bytes after the data: not certain enough for napari (convert --permissive is)
        assert reader is None
        return
    assert reader is not None
    ((got, _, _),) = layer_tuples(reader(str(path)))
    assert np.array_equal(np.asarray(got), data)
