"""Files without a valid MAP ID or machine stamp (old-style MRC, Amira): the three strictness levels.

True refuses them; "auto" (the default of read, open_mrc, convert and the napari reader) opens them
with a warning naming the problem where the header agrees exactly with the file, as ChimeraX and IMOD
do; False also opens less certain ones (bytes after the data, MRCZ without the ID). Files the header
cannot describe are refused at every level.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from checks import mrcfile_permissive_data, random_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import napari_mrcz as nm
from napari_mrcz import HeaderError, MrczError, MrczWarning
from napari_mrcz.cli.main import main
from napari_mrcz.io.writer.convert import convert_file

EDGES = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "edges"
DTYPES = ["i1", "i2", "f4", "c8", "u2", "f2", "i4", "u4"]
IDS = {"zeros": (bytes(4), bytes(4)), "garbage": (b"\x12\xa73\x9c", b"\x01\x00\x7f\xee"),
       "spaces": (b"    ", b"    "), "map_lowercase": (b"map ", bytes(4))}


def _without_id(path: Path, data: np.ndarray, how: str, order: str = "<", compressor: str | None = None,
                tail: bytes = b"") -> Path:
    path = path.with_suffix(".mrcz") if compressor else path
    nm.write(path, data, compressor=compressor, endianness=order)
    raw = bytearray(path.read_bytes())
    raw[208:212], raw[212:216] = IDS[how]
    path.write_bytes(bytes(raw) + tail)
    return path


def _read_levels(path: Path) -> dict[object, object]:
    """What each level does: the data, or the exception type."""
    out: dict[object, object] = {}
    for level in (True, "auto", False):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                data = nm.read(path, strict=level).data
            out[level] = (data, [str(w.message) for w in caught if issubclass(w.category, MrczWarning)])
        except MrczError as err:
            out[level] = err
    return out


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    dtype=st.sampled_from(DTYPES),
    shape=st.one_of(st.tuples(st.integers(1, 30), st.integers(1, 30)),
                    st.tuples(st.integers(1, 5), st.integers(1, 30), st.integers(1, 30))),
    how=st.sampled_from(sorted(IDS)),
    order=st.sampled_from(["<", ">"]),
)
def test_consistent_files_open_by_default(tmp_path: Path, dtype: str, shape: tuple, how: str, order: str) -> None:
    data = random_data(shape, dtype, sum(shape))
    path = _without_id(tmp_path / "f.mrc", data, how, order)
    levels = _read_levels(path)
    assert isinstance(levels[True], HeaderError) and "MAP" in str(levels[True])
    for level in ("auto", False):
        got, messages = levels[level]  # type: ignore[misc]
        assert np.array_equal(got, data, equal_nan=True)
        assert any("no 'MAP ' ID at byte 208" in m for m in messages), messages


INCONSISTENT = {
    "bytes_after_data": dict(tail=b"\0" * 100),
    "one_byte_after": dict(tail=b"\x01"),
    "mrcz_without_id": dict(compressor="zstd"),
}


@pytest.mark.parametrize("dtype", ["i1", "f4", "u2", "c8"])
@pytest.mark.parametrize("how", sorted(IDS))
@pytest.mark.parametrize("case", sorted(INCONSISTENT))
def test_less_certain_files_need_permissive(tmp_path: Path, dtype: str, how: str, case: str) -> None:
    data = random_data((3, 10, 7), dtype, 1)
    path = _without_id(tmp_path / "f.mrc", data, how, **INCONSISTENT[case])  # type: ignore[arg-type]
    levels = _read_levels(path)
    for level in (True, "auto"):
        assert isinstance(levels[level], HeaderError), (level, levels[level])
    assert "--permissive" in str(levels["auto"])
    got, messages = levels[False]  # type: ignore[misc]
    assert np.array_equal(got, data) and messages


@pytest.mark.parametrize("how", sorted(IDS))
@pytest.mark.parametrize("damage", ["truncated", "dims_too_big", "mode_unknown", "axes_broken", "noise"])
def test_broken_files_are_refused_at_every_level(tmp_path: Path, how: str, damage: str) -> None:
    path = _without_id(tmp_path / "f.mrc", random_data((3, 10, 7), "f4", 2), how)
    raw = bytearray(path.read_bytes())
    if damage == "truncated":
        raw = raw[:-5]
    elif damage == "dims_too_big":
        raw[8:12] = (1000).to_bytes(4, "little")
    elif damage == "mode_unknown":
        raw[12:16] = (9).to_bytes(4, "little")
    elif damage == "axes_broken":
        raw[64:76] = (1).to_bytes(4, "little") * 3
    else:
        raw[:1024] = np.random.default_rng(0).integers(0, 256, 1024, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(raw))
    for level, outcome in _read_levels(path).items():
        assert isinstance(outcome, MrczError), (level, damage)


def test_old_style_particle_stack_from_the_corpus() -> None:
    path = EDGES / "old_style_no_map_id.mrcs"
    if not path.is_file():
        pytest.skip("no shared corpus")
    expected = mrcfile_permissive_data(path)
    with pytest.warns(MrczWarning, match=r"no 'MAP ' ID at byte 208.*old-style"):
        image = nm.read(path)
    assert np.array_equal(image.data, expected)
    with pytest.raises(HeaderError, match="MAP"):
        nm.read(path, strict=True)


def test_foreign_map_id_from_the_corpus() -> None:
    path = EDGES / "foreign_map_id.rec"
    if not path.is_file():
        pytest.skip("no shared corpus")
    with pytest.warns(MrczWarning, match=r"found b'\\x12"):
        image = nm.read(path, lazy=True)
    assert np.array_equal(image.data.compute(), np.load(str(path) + ".npy"))


@pytest.mark.parametrize("name", ["old_style_no_map_id.mrcs", "foreign_map_id.rec"])
def test_convert_levels(tmp_path: Path, name: str, capsys: pytest.CaptureFixture) -> None:
    source = EDGES / name
    if not source.is_file():
        pytest.skip("no shared corpus")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MrczWarning)
        expected = nm.read(source).data
    assert main(["convert", str(source), str(tmp_path / "a.mrcz"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "warning: " in err and "no 'MAP ' ID at byte 208" in err
    assert np.array_equal(nm.read(tmp_path / "a.mrcz").data, expected)
    assert main(["convert", str(source), str(tmp_path / "b.mrcz"), "-q", "--strict"]) == 1
    assert "MAP" in capsys.readouterr().err and not (tmp_path / "b.mrcz").exists()
    assert main(["convert", str(source), str(tmp_path / "c.mrc"), "-q", "--permissive"]) == 0
    assert np.array_equal(nm.read(tmp_path / "c.mrc").data, expected)
    with pytest.warns(MrczWarning, match="MAP"):
        convert_file(source, tmp_path / "d.mrcz")
    with pytest.raises(HeaderError):
        convert_file(source, tmp_path / "e.mrcz", strict=True)


def test_cli_permissive_for_less_certain_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = random_data((3, 10, 7), "i2", 4)
    source = _without_id(tmp_path / "tail.mrc", data, "zeros", tail=b"\0" * 64)
    assert main(["convert", str(source), str(tmp_path / "a.mrcz"), "-q"]) == 1
    assert "--permissive" in capsys.readouterr().err
    assert main(["convert", str(source), str(tmp_path / "a.mrcz"), "-q", "--permissive"]) == 0
    assert np.array_equal(nm.read(tmp_path / "a.mrcz").data, data)
    assert main(["convert", str(source), str(tmp_path / "b.mrcz"), "--strict", "--permissive"]) == 2


def test_strict_values() -> None:
    for bad in ("yes", 1, None, "AUTO"):
        with pytest.raises(MrczError, match="strict must be"):
            nm.open_mrc(EDGES / "foreign_map_id.rec", strict=bad)  # type: ignore[arg-type]
