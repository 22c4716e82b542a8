"""Stored pyramids: written in the streaming pass, invisible to mrcz, RosettaSciIO and readers that
only know the seek table, equal to the computed levels, and never trusted when forged or stale
(flipped bytes, truncated, appended to, data rewritten): ignored with an MrczWarning, right pixels.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import mrcz
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

import napari_mrcz as nm
from napari_mrcz.errors import MrczError, MrczWarning
from napari_mrcz.format import pyramid as layout
from napari_mrcz.format.kept import KeptFields
from napari_mrcz.io.reader.multiscale import pyramid
from napari_mrcz.io.reader.stored import StoredLevel, check_stored

RNG = np.random.default_rng(23)


@pytest.fixture(autouse=True)
def small_levels(settings) -> None:
    settings("multiscale.level_side", 32)
    settings("multiscale.side", 64)


def _data(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        return (RNG.normal(size=shape) * 30).astype(dtype)
    info = np.iinfo(dtype)
    return RNG.integers(max(info.min, -1000), min(info.max, 1000), size=shape, endpoint=True).astype(dtype)


def _levels(path: Path) -> list:
    return pyramid(nm.open_mrc(path))


def _assert_levels_equal(got: list, want: list) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.shape == b.shape
        assert np.array_equal(np.asarray(a), np.asarray(b))
        if a.ndim == 3:
            z = a.shape[0] // 2
            assert np.array_equal(a[z], b[z])
            assert np.array_equal(a[:, a.shape[1] // 3], b[:, b.shape[1] // 3])
            assert np.array_equal(a[:, :, -1], b[:, :, -1])


@pytest.mark.parametrize("dtype", ["float32", "int16", "uint16", "int8", "float16"])
@pytest.mark.parametrize("shape", [(13, 150, 101), (1, 90, 70), (150, 133)])
def test_stored_levels_equal_computed(tmp_path: Path, shape: tuple[int, ...], dtype: str) -> None:
    data = _data(shape, dtype)
    nm.write(tmp_path / "with.mrcz", data)  # auto: y or x above multiscale.side
    nm.write(tmp_path / "without.mrcz", data, pyramid=False)
    assert (tmp_path / "with.mrcz").stat().st_size > (tmp_path / "without.mrcz").stat().st_size
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stored, plain = _levels(tmp_path / "with.mrcz"), _levels(tmp_path / "without.mrcz")
    assert all(isinstance(level, StoredLevel) for level in stored[1:])
    assert not any(isinstance(level, StoredLevel) for level in plain)
    _assert_levels_equal(stored, plain)


@pytest.mark.parametrize(("dtype", "bits"), [("float32", 11), ("int16", 0), ("float16", 0)])
def test_index_records_the_rounding_of_float_levels(tmp_path: Path, dtype: str, bits: int) -> None:
    path = nm.write(tmp_path / "a.mrcz", _data((4, 130, 70), dtype))
    index, problem = check_stored(nm.open_mrc(path))
    assert problem is None and index.mantissa_bits == bits


def test_image_stack_keeps_z(tmp_path: Path) -> None:
    data = _data((9, 130, 70), "float32")
    path = tmp_path / "stack.mrcz"
    with nm.MrczWriter(path, kept=KeptFields(ispg=0), pyramid=True) as writer:
        writer.write(data)
    levels = _levels(path)
    assert [lv.shape[0] for lv in levels] == [9] * len(levels) and isinstance(levels[1], StoredLevel)
    nm.write(tmp_path / "plain.mrcz", nm.read(path), pyramid=False)
    _assert_levels_equal(levels, _levels(tmp_path / "plain.mrcz"))


def test_other_readers_see_the_data_unchanged(tmp_path: Path) -> None:
    rsciio = pytest.importorskip("rsciio.mrcz")
    data = _data((12, 140, 96), "float32")
    path = tmp_path / "tomo.mrcz"
    nm.write(path, data, metadata={"note": "pyramid"}, voxel_size=2.0)
    assert check_stored(nm.open_mrc(path))[0] is not None
    assert np.array_equal(mrcz.readMRC(str(path))[0], data)
    assert np.array_equal(rsciio.file_reader(str(path))[0]["data"], data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the seek table still verifies; validate finds nothing wrong
        assert np.array_equal(nm.read(path).data, data)
        assert not [p for p in nm.validate(path) if "pyramid" in p.message or "more than the header" in p.message]


def test_pyramid_argument(tmp_path: Path) -> None:
    data = _data((4, 100, 100), "int16")
    nm.write(tmp_path / "a.mrcz", data, pyramid=False)
    assert check_stored(nm.open_mrc(tmp_path / "a.mrcz")) == (None, None)
    with pytest.raises(MrczError, match="pyramid"):
        nm.write(tmp_path / "a.mrc", data, pyramid=True)  # plain MRC cannot carry one
    with pytest.raises(MrczError, match="pyramid"):
        nm.write(tmp_path / "a.mrcz", data, pyramid="yes")
    nm.write(tmp_path / "a.mrc", data)  # auto: plain files get none, and no error
    assert (tmp_path / "a.mrc").stat().st_size == 1024 + data.nbytes


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[np.ndarray], int]:
    """A file with a pyramid, the true levels, and where its pyramid starts."""
    from napari_mrcz import config

    folder = tmp_path_factory.mktemp("pyr")
    data = _data((10, 120, 90), "float32")
    with config.set({"multiscale.level_side": 32, "multiscale.side": 64}):
        nm.write(folder / "ref.mrcz", data)
        truth = [np.asarray(level) for level in _levels(folder / "ref.mrcz")]
        info = nm.open_mrc(folder / "ref.mrcz")
    h = info.header
    return (folder / "ref.mrcz").read_bytes(), truth, layout.pyramid_start(h.data_offset, h.packed_bytes, h.nz)


def _check_damaged(path: Path, truth: list[np.ndarray]) -> list:
    """Every level equals the truth; any distrust was announced with an MrczWarning (returned)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        levels = _levels(path)
        for level, want in zip(levels, truth):
            assert np.array_equal(np.asarray(level), want)
            if level.ndim == 3:
                assert np.array_equal(level[:, 7], want[:, 7])
    assert all(issubclass(w.category, MrczWarning) for w in seen)
    return seen


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_flipped_byte_in_pyramid(tmp_path: Path, reference, where: float, bit: int) -> None:
    raw, truth, start = reference
    damaged = bytearray(raw)
    at = start + int(where * (len(raw) - start))
    damaged[at] ^= 1 << bit
    path = tmp_path / "flip.mrcz"
    path.write_bytes(bytes(damaged))
    seen = _check_damaged(path, truth)
    assert seen or at < start + len(layout.MAGIC)  # noticed, unless the magic is gone: then no pyramid


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1, exclude_max=True), extra=st.binary(min_size=1, max_size=64))
def test_truncated_or_appended(tmp_path: Path, reference, cut: float, extra: bytes) -> None:
    raw, truth, start = reference
    for name, content in (("cut", raw[: start + int(cut * (len(raw) - start))]), ("longer", raw + extra)):
        path = tmp_path / f"{name}.mrcz"
        path.write_bytes(content)
        assert check_stored(nm.open_mrc(path))[0] is None
        _check_damaged(path, truth)


@pytest.mark.parametrize("clevel", [0, 1])
def test_data_rewritten_under_a_stale_pyramid(tmp_path: Path, clevel: int) -> None:
    """New data of the same shape (clevel 0: every chunk the same size, so the same seek table) with
    the old pyramid spliced after it: the fingerprints differ, the levels come from the new data."""
    old, new = _data((8, 100, 100), "float32"), _data((8, 100, 100), "float32")
    nm.write(tmp_path / "old.mrcz", old, clevel=clevel)
    nm.write(tmp_path / "new.mrcz", new, clevel=clevel, pyramid=False)
    info = nm.open_mrc(tmp_path / "old.mrcz")
    h = info.header
    start = layout.pyramid_start(h.data_offset, h.packed_bytes, h.nz)
    stale = (tmp_path / "old.mrcz").read_bytes()[start:]
    fresh = (tmp_path / "new.mrcz").read_bytes()
    (tmp_path / "spliced.mrcz").write_bytes(fresh + stale)
    with pytest.warns(MrczWarning, match="stored pyramid"):
        levels = _levels(tmp_path / "spliced.mrcz")
    _assert_levels_equal(levels, _levels(tmp_path / "new.mrcz"))


def test_add_pyramid_to_mrcz_files(tmp_path: Path) -> None:
    """mrcz's own file (no seek table) and ours without a pyramid get one in place; the data bytes
    stay as they were, mrcz still reads them, and the levels equal the computed ones."""
    from napari_mrcz.cli.main import main

    data = _data((9, 110, 80), "int16")
    theirs, ours = tmp_path / "theirs.mrcz", tmp_path / "ours.mrcz"
    mrcz.writeMRC(data, str(theirs), compressor="lz4", clevel=1)
    nm.write(ours, data, pyramid=False)
    for path in (theirs, ours):
        before = path.read_bytes()
        plain_levels = [np.asarray(level) for level in _levels(path)]
        assert main(["pyramid", "-q", str(path)]) == 0
        after = path.read_bytes()
        h = nm.open_mrc(path).header
        assert after[: h.data_offset + h.packed_bytes] == before[: h.data_offset + h.packed_bytes]
        assert np.array_equal(mrcz.readMRC(str(path))[0], data)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            levels = _levels(path)
        assert isinstance(levels[1], StoredLevel)
        _assert_levels_equal(levels, plain_levels)
        assert main(["pyramid", "-q", str(path)]) == 1  # has one already
        assert main(["pyramid", "-q", "--force", str(path)]) == 0
        assert path.read_bytes() == after  # rebuilt the same


def test_add_pyramid_refuses(tmp_path: Path) -> None:
    data = _data((3, 100, 100), "float32")
    nm.write(tmp_path / "plain.mrc", data)
    with pytest.raises(MrczError, match="plain MRC"):
        nm.add_pyramid(tmp_path / "plain.mrc")
    nm.write(tmp_path / "small.mrcz", data[:, :20, :20])
    with pytest.raises(MrczError, match="small enough"):
        nm.add_pyramid(tmp_path / "small.mrcz")
    assert nm.read(tmp_path / "small.mrcz").data.shape == (3, 20, 20)
    nm.write(tmp_path / "junk.mrcz", data, pyramid=False)
    with open(tmp_path / "junk.mrcz", "ab") as f:
        f.write(b"someone else's bytes")
    with pytest.raises(MrczError, match="unknown meaning"):
        nm.add_pyramid(tmp_path / "junk.mrcz")


def test_convert_stores_a_pyramid(tmp_path: Path) -> None:
    data = _data((6, 100, 90), "uint16")
    nm.write(tmp_path / "in.mrc", data)
    nm.io.writer.convert.convert_file(tmp_path / "in.mrc", tmp_path / "out.mrcz")
    assert check_stored(nm.open_mrc(tmp_path / "out.mrcz"))[0] is not None


def test_stored_levels_over_every_backend(tmp_path: Path, source) -> None:
    """Local, gzip, bz2 and HTTP: the stored levels are found, verified and equal the computed ones."""
    data = _data((7, 130, 100), "int16")
    nm.write(tmp_path / "tomo.mrcz", data)
    nm.write(tmp_path / "plain_levels.mrcz", data, pyramid=False)
    truth = [np.asarray(level) for level in _levels(tmp_path / "plain_levels.mrcz")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        levels = pyramid(nm.open_mrc(source(tmp_path / "tomo.mrcz")))
        assert all(isinstance(level, StoredLevel) for level in levels[1:])
        for level, want in zip(levels, truth):
            assert np.array_equal(np.asarray(level), want)
            assert np.array_equal(level[:, 5], want[:, 5])
