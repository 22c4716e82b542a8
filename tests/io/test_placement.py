"""Origin on read, write, ``write(path, image)`` and convert: the map stays where ChimeraX puts it, and
ORIGIN, N*START, ISPG and the labels survive (checked with mrcfile's view of the header)."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest
from corpus import TESTDATA, corpus_params

import napari_mrcz as nm
from napari_mrcz.errors import MrczError
from napari_mrcz.io.writer.convert import convert_file

mrcfile = pytest.importorskip("mrcfile")

EDGES = TESTDATA / "edges"
EDGE_ORIGINS = {"origin_and_nstart.map": (7.0, -30.0, 12.5), "nstart_only.mrc": (2.0, 12.0, -8.0)}
OUR_LABEL = f"napari-mrcz {nm.__version__}"


def _edge(name: str) -> Path:
    path = EDGES / name
    if not path.is_file():
        pytest.skip("no shared corpus")
    return path


def _header_fields(path: Path) -> dict:
    with mrcfile.open(path, permissive=True, header_only=True) as mrc:
        h = mrc.header
        return {
            "origin": tuple(float(v) for v in h.origin.item()),
            "start": (int(h.nxstart), int(h.nystart), int(h.nzstart)),
            "ispg": int(h.ispg),
            "labels": [lab.strip() for lab in mrc.get_labels()],
        }


@pytest.mark.parametrize("name", sorted(EDGE_ORIGINS))
def test_edge_files_origin(name: str) -> None:
    path = _edge(name)
    assert nm.read(path).origin == EDGE_ORIGINS[name]
    assert nm.open_mrc(path).origin == EDGE_ORIGINS[name]
    assert nm.read(path, lazy=True).origin == EDGE_ORIGINS[name]


@pytest.mark.parametrize("name", sorted(EDGE_ORIGINS))
@pytest.mark.parametrize("how", ["write_image", "convert"])
@pytest.mark.parametrize("suffix", [".mrc", ".mrcz"])
def test_rewrites_keep_origin_start_space_group_and_labels(tmp_path: Path, name: str, how: str, suffix: str) -> None:
    src = _edge(name)
    dst = tmp_path / f"out{suffix}"
    compressor = None if suffix == ".mrc" else "zstd"
    if how == "convert":
        convert_file(src, dst, compressor=compressor)
    else:
        nm.write(dst, nm.read(src), compressor=compressor)
    before, after = _header_fields(src), _header_fields(dst)
    assert after["origin"] == before["origin"] and after["start"] == before["start"]
    assert after["ispg"] == before["ispg"]
    kept = ["MRCZ0.6.0"] if compressor else []
    assert after["labels"] == kept + before["labels"] + [OUR_LABEL]  # theirs kept, ours appended
    image = nm.read(dst)
    assert image.origin == EDGE_ORIGINS[name]
    assert np.array_equal(image.data, nm.read(src).data)
    assert image.voxel_size == nm.read(src).voxel_size
    if suffix == ".mrc":
        assert mrcfile.validate(str(dst), print_file=io.StringIO())


def test_write_origin_argument(tmp_path: Path) -> None:
    data = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    path = nm.write(tmp_path / "a.mrc", data, voxel_size=2.0, origin=(1.5, -2.0, 300.0), compressor=None)
    assert _header_fields(path)["origin"] == (300.0, -2.0, 1.5)  # ORIGIN is x, y, z
    assert _header_fields(path)["start"] == (0, 0, 0)
    assert nm.read(path).origin == (1.5, -2.0, 300.0)
    assert mrcfile.validate(str(path), print_file=io.StringIO())
    nm_path = nm.write(tmp_path / "a.mrcz", data, voxel_size=0.2, units="nm", origin=(0.1, 0.2, 0.3))
    assert np.allclose(nm.read(nm_path).origin, (1.0, 2.0, 3.0))
    two_d = nm.write(tmp_path / "b.mrc", data[0], origin=(5.0, 6.0), compressor=None)
    assert nm.read(two_d).origin == (0.0, 5.0, 6.0)
    with pytest.raises(MrczError, match="origin"):
        nm.write(tmp_path / "c.mrc", data, origin=(1.0, 2.0), compressor=None)
    assert not (tmp_path / "c.mrc").exists()


def test_write_image_takes_its_fields_and_arguments_replace_them(tmp_path: Path) -> None:
    src = nm.write(tmp_path / "src.mrcz", np.ones((3, 4, 5), np.int16), voxel_size=(3.0, 2.0, 1.0),
                   metadata={"sample": "Zoë"}, voltage=200.0, c3=2.7, gain=0.5, origin=(10.0, 20.0, 30.0))
    copy = nm.read(nm.write(tmp_path / "copy.mrc", nm.read(src), compressor=None))
    assert copy.voxel_size == (3.0, 2.0, 1.0) and copy.origin == (10.0, 20.0, 30.0)
    assert copy.metadata == {"sample": "Zoë"}
    assert (copy.header.voltage, round(copy.header.c3, 5), copy.header.gain) == (200.0, 2.7, 0.5)
    lazy_copy = nm.read(nm.write(tmp_path / "lazy.mrcz", nm.read(src, lazy=True)))
    assert np.array_equal(lazy_copy.data, np.ones((3, 4, 5), np.int16)) and lazy_copy.origin == (10.0, 20.0, 30.0)
    other = nm.read(nm.write(tmp_path / "other.mrcz", nm.read(src), voxel_size=0.5, units="nm", origin=(1, 1, 1),
                             metadata={}, voltage=300.0))
    assert other.voxel_size == (5.0, 5.0, 5.0) and other.origin == (10.0, 10.0, 10.0)
    assert other.metadata == {} and other.header.voltage == 300.0 and other.header.gain == 0.5
    in_nm = nm.read(nm.write(tmp_path / "nm.mrcz", nm.read(src), units="nm"))  # the image's size, any units
    assert in_nm.voxel_size == (3.0, 2.0, 1.0)


@pytest.mark.parametrize("value", [[[1, 2], [3, 4]], (1, 2), 3, "abc", None, {"a": 1}])
def test_non_arrays_are_refused_by_type_name(tmp_path: Path, value: object) -> None:
    with pytest.raises(MrczError, match=f"not a {type(value).__name__}"):
        nm.write(tmp_path / "x.mrc", value, compressor=None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("order", list(itertools.permutations((1, 2, 3))), ids=lambda o: "".join(map(str, o)))
@pytest.mark.parametrize("with_origin", [False, True], ids=["nstart", "origin"])
def test_axis_orders_land_on_the_same_point(tmp_path: Path, order: tuple[int, int, int], with_origin: bool) -> None:
    """A bright voxel at a known physical position (x, y, z) in Å, stored in any MAPC/MAPR/MAPS order by
    mrcfile: our origin + index x voxel size finds it there, before and after convert."""
    grid_xyz, voxel_xyz, bright_xyz = (7, 5, 4), (1.5, 2.0, 3.0), (5, 1, 2)
    start_xyz, origin_xyz = (-3, 4, 2), (100.0, -50.0, 25.0)
    volume = np.zeros(grid_xyz[::-1], np.float32)  # z, y, x
    volume[bright_xyz[::-1]] = 1.0
    stored = volume.transpose([3 - axis for axis in order[::-1]])  # sections, rows, columns
    path = tmp_path / "permuted.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(stored)
        h = mrc.header
        h.mapc, h.mapr, h.maps = order
        h.mx, h.my, h.mz = grid_xyz
        h.cella = tuple(n * v for n, v in zip(grid_xyz, voxel_xyz))
        h.nxstart, h.nystart, h.nzstart = (start_xyz[axis - 1] for axis in order)  # column, row, section
        if with_origin:
            h.origin = origin_xyz
    base = origin_xyz if with_origin else tuple(s * v for s, v in zip(start_xyz, voxel_xyz))
    expected_zyx = tuple(b + i * v for b, i, v in zip(base, bright_xyz, voxel_xyz))[::-1]

    def bright_position(file: Path) -> tuple[float, ...]:
        image = nm.read(file)
        index = np.unravel_index(np.argmax(image.data), image.data.shape)
        return tuple(o + i * v for o, i, v in zip(image.origin, index, image.voxel_size))

    assert np.allclose(bright_position(path), expected_zyx)
    for suffix, compressor in ((".mrcz", "zstd"), (".mrc", None)):
        out = convert_file(path, tmp_path / f"converted{suffix}", compressor=compressor)
        assert np.allclose(bright_position(out), expected_zyx)
    fields = _header_fields(tmp_path / "converted.mrc")
    assert fields["start"] == start_xyz  # written in x, y, z order (MAPC/MAPR/MAPS 1, 2, 3)
    assert mrcfile.validate(str(tmp_path / "converted.mrc"), print_file=io.StringIO())


@pytest.mark.slow
@pytest.mark.parametrize("entry", corpus_params("mrcz") + corpus_params("real"))
def test_write_image_of_every_corpus_file(tmp_path: Path, entry: dict) -> None:
    """write(path, read(path)) gives the same data, voxel size, origin, metadata and space group."""
    src = TESTDATA / entry["path"]
    image = nm.read(src)
    for suffix, compressor in ((".mrcz", "zstd"), (".mrc", None)):
        if image.data.dtype.kind == "u" and image.data.dtype.itemsize == 1:
            continue  # uint8 (IMOD unsigned bytes) is widened to uint16: covered by the writer's tests
        copy = nm.read(nm.write(tmp_path / f"copy{suffix}", image, compressor=compressor))
        assert copy.data.shape == image.data.shape and copy.data.dtype == image.data.dtype
        assert np.array_equal(copy.data, image.data, equal_nan=True)
        assert copy.voxel_size == image.voxel_size and copy.origin == image.origin
        added = {} if "tilt_angles" in image.metadata else {"tilt_angles"}  # kept angles join metadata, if any
        assert {k: v for k, v in copy.metadata.items() if k not in added} == image.metadata
        assert (copy.tilt_angles is None) == (image.tilt_angles is None)
        if image.header.written_by_mrcz:  # mrcz writes ISPG 0 for everything: the writer's default instead
            assert copy.header.ispg == (1 if image.data.ndim == 3 else 0)
        else:
            assert copy.header.ispg == image.header.ispg or image.header.ispg not in range(0, 631)
        mrcfile_modes = {"i1", "i2", "u2", "f4", "c8", "f2"}  # mrcfile cannot read modes 7/8; EXTTYP json fails it
        if compressor is None and not image.metadata and image.data.dtype.str[1:] in mrcfile_modes:
            assert mrcfile.validate(str(tmp_path / "copy.mrc"), print_file=io.StringIO())
