"""Where a map sits (napari_mrcz.format.origin) and what a rewrite keeps (napari_mrcz.format.kept):
ChimeraX's rules on headers built field by field."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_mrcz.errors import MrczError, MrczWarning
from napari_mrcz.format.build import build_header
from napari_mrcz.format.header import HEADER_DTYPE, parse_header
from napari_mrcz.format.kept import KeptFields, ispg_for, kept_from_header, merged_labels
from napari_mrcz.format.origin import check_origin, origin_field_valid, origin_zyx, start_xyz

PERMUTATIONS = list(itertools.permutations((1, 2, 3)))


def header(grid_xyz: tuple[int, int, int] = (8, 6, 4), voxel_xyz: tuple[float, float, float] = (1.0, 1.0, 1.0),
           order: tuple[int, int, int] = (1, 2, 3), **fields: object):
    """A plain float32 header for a grid of ``grid_xyz`` voxels stored with MAPC/MAPR/MAPS = ``order``."""
    rec = np.zeros((), dtype=HEADER_DTYPE)
    crs = [grid_xyz[axis - 1] for axis in order]  # columns, rows, sections
    rec["nx"], rec["ny"], rec["nz"] = crs
    rec["mode"] = 2
    rec["mx"], rec["my"], rec["mz"] = grid_xyz  # sampling along X, Y, Z
    rec["cella"] = [n * v for n, v in zip(grid_xyz, voxel_xyz)]
    rec["cellb"] = (90, 90, 90)
    rec["mapc"], rec["mapr"], rec["maps"] = order
    rec["ispg"] = 1
    rec["map"] = b"MAP "
    rec["machst"] = (0x44, 0x44, 0, 0)
    for name, value in fields.items():
        rec[name] = value
    return parse_header(rec.tobytes(), strict=False)


def test_origin_field_wins_when_set() -> None:
    h = header(origin=(12.5, -30.0, 7.0), nxstart=3, nystart=-2, nzstart=5, voxel_xyz=(1.25, 1.25, 2.5))
    assert origin_zyx(h) == (7.0, -30.0, 12.5)


def test_nstart_times_voxel_size_when_origin_is_zero() -> None:
    h = header(nxstart=-4, nystart=6, nzstart=1, voxel_xyz=(2.0, 2.0, 2.0))
    assert origin_zyx(h) == (2.0, 12.0, -8.0)


def test_nothing_set_is_zero() -> None:
    assert origin_zyx(header()) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    "bad",
    [(math.nan, 0.0, 0.0), (1.0, math.inf, 0.0), (0.0, 0.0, -math.inf), (1e30, 0.0, 0.0), (0.0, -3e9, 0.0)],
    ids=["nan", "inf", "-inf", "1e30", "-3e9"],
)
def test_invalid_origin_falls_back_to_nstart(bad: tuple[float, float, float]) -> None:
    """NaN/inf, or so large that one voxel step does not change it (RELION 2.0's uninitialised ORIGIN)."""
    h = header(origin=bad, nxstart=2, nystart=3, nzstart=4, voxel_xyz=(1.0, 1.0, 1.0))
    assert not origin_field_valid(h)
    assert origin_zyx(h) == (4.0, 3.0, 2.0)


def test_origin_just_small_enough_is_valid() -> None:
    h = header(origin=(1e6, 0.0, 0.0), voxel_xyz=(1.0, 1.0, 1.0))  # float32 steps of 1/16 at 1e6
    assert origin_field_valid(h) and origin_zyx(h) == (0.0, 0.0, 1e6)


def test_uninitialised_nstart_is_ignored() -> None:
    """|start| > 10 x the largest grid size: ChimeraX takes N*START as garbage."""
    inside = header(grid_xyz=(8, 6, 4), nxstart=80)
    outside = header(grid_xyz=(8, 6, 4), nxstart=81, nystart=1)
    assert origin_zyx(inside) == (0.0, 0.0, 80.0)
    assert origin_zyx(outside) == (0.0, 0.0, 0.0)


def test_origin_ignored_without_map_id() -> None:
    """Old-style headers (no MAP ID) hold other things at bytes 196-207: only N*START counts."""
    with pytest.warns(MrczWarning, match="no 'MAP ' ID"):
        h = header(origin=(5.0, 5.0, 5.0), nxstart=1, map=b"\0\0\0\0")
    assert origin_zyx(h) == (0.0, 0.0, 1.0)


def test_no_voxel_size_steps_by_one() -> None:
    h = header(voxel_xyz=(0.0, 0.0, 0.0), nxstart=3, nystart=-1, nzstart=2)
    assert origin_zyx(h) == (2.0, -1.0, 3.0)


@settings(max_examples=200, deadline=None)
@given(
    order=st.sampled_from(PERMUTATIONS),
    grid=st.tuples(*[st.integers(1, 40)] * 3),
    voxel=st.tuples(*[st.sampled_from([0.5, 1.0, 1.37, 2.0, 10.5])] * 3),
    starts_crs=st.tuples(*[st.integers(-50, 50)] * 3),
    origin=st.one_of(st.just((0.0, 0.0, 0.0)), st.tuples(*[st.integers(-500, 500).map(float)] * 3)),
)
def test_axis_orders_permute_nstart_not_origin(order, grid, voxel, starts_crs, origin) -> None:
    """N*START is stored per column/row/section, so it follows MAPC/MAPR/MAPS; ORIGIN is x, y, z."""
    h = header(grid, voxel, order, nxstart=starts_crs[0], nystart=starts_crs[1], nzstart=starts_crs[2], origin=origin)
    by_axis = {axis: start for axis, start in zip(order, starts_crs)}
    assert start_xyz(h) == (by_axis[1], by_axis[2], by_axis[3])
    if any(origin):
        expected = origin[::-1]
    elif max(map(abs, starts_crs)) > 10 * max(grid):  # uninitialised
        expected = (0.0, 0.0, 0.0)
    else:
        expected = tuple(by_axis[axis] * np.float32(voxel[axis - 1]) for axis in (3, 2, 1))
    assert np.allclose(origin_zyx(h), expected, rtol=1e-6)


def test_check_origin_units_and_shapes() -> None:
    assert check_origin((1, 2, 3), "nm") == (10.0, 20.0, 30.0)
    assert check_origin((2, 3), "Å", ndim=2) == (0.0, 2.0, 3.0)
    assert check_origin(None, "Å") == (0.0, 0.0, 0.0)
    for bad in [(1, 2), (1, 2, 3, 4), (math.nan, 0, 0), ("a", 0, 0), (1e39, 0, 0)]:
        with pytest.raises(MrczError, match="origin"):
            check_origin(bad, "Å")


def test_build_writes_origin_start_space_group_and_labels() -> None:
    kept = KeptFields((12.5, -30.0, 7.0), (3, -2, 5), 0, ("Created by someone", "IMOD: trimvol"))
    h = parse_header(build_header(shape=(4, 6, 8), dtype=np.dtype("f4"), byte_order="<", voxel_size=(1, 1, 1),
                                  compressor=None, label="napari-mrcz test", kept=kept))
    assert h.origin == (12.5, -30.0, 7.0) and (h.nxstart, h.nystart, h.nzstart) == (3, -2, 5)
    assert h.ispg == 0 and h.mz == 1 and h.voxel_size == (1, 1, 1)  # an image stack, as mrcfile writes one
    assert h.labels == ("Created by someone", "IMOD: trimvol", "napari-mrcz test")
    assert kept_from_header(h) == KeptFields((12.5, -30.0, 7.0), (3, -2, 5), 0, h.labels)


def test_kept_origin_is_dropped_whole_when_invalid() -> None:
    h = header(origin=(math.nan, 4.0, 0.0), nxstart=1)
    assert kept_from_header(h).origin_xyz == (0.0, 0.0, 0.0)  # the map stays where N*START puts it
    assert kept_from_header(h).start_xyz == (1, 0, 0)


@pytest.mark.parametrize("n_kept", range(0, 13))
@pytest.mark.parametrize("compressed", [False, True])
def test_labels_keep_the_first_and_newest(n_kept: int, compressed: bool) -> None:
    kept = [f"label {i}" for i in range(n_kept)]
    out = merged_labels(kept + ["MRCZ0.6.0", "   "], ["ours"], compressed)
    assert len(out) <= 10 and out[-1] == "ours"
    assert (out[0] == "MRCZ0.6.0") == compressed and out.count("MRCZ0.6.0") == int(compressed)
    body = out[1:-1] if compressed else out[:-1]
    room = 10 - 1 - int(compressed)
    if n_kept <= room:
        assert body == kept
    else:
        assert body[0] == "label 0" and body[1:] == kept[n_kept - room + 1 :]
    assert merged_labels(["x" * 100], ["y" * 90, ""], False) == ["x" * 80, "y" * 80]


@pytest.mark.parametrize(
    ("ndim", "nz", "requested", "expected"),
    [(2, 1, 1, 0), (3, 5, 0, 0), (3, 1, 0, 1), (3, 5, 19, 19), (3, 5, 231, 1), (3, 5, -1, 1), (3, 5, None, 1),
     (4, 6, 401, 401), (4, 6, 630, 630), (4, 6, 1, 401), (4, 6, None, 401)],
)
def test_space_group_fits_the_shape(ndim: int, nz: int, requested: int | None, expected: int) -> None:
    assert ispg_for(ndim, nz, requested) == expected
