"""Property tests (Hypothesis): any array, codec, level, byte order and metadata round-trips.

``write`` then ``read`` is bit-exact (NaN payloads, signed zeros and infinities included), eagerly and
lazily, the metadata comes back exactly, and ``mrcz.readMRC`` (the reference implementation) reads
the same values from our compressed files. ``max_examples`` is kept modest so the file runs in well
under a minute; set ``NAPARI_MRCZ_HYPOTHESIS_EXAMPLES`` for a longer run.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.errors import MrczError  # noqa: E402

DTYPES = ("int8", "int16", "uint16", "float32", "complex64", "int32", "uint32", "float16")
MRCZ_READABLE = ("int8", "int16", "uint16", "float32", "complex64", "int32", "uint32")  # mrcz cannot read mode 12
COMPRESSORS = (None, "zstd", "lz4", "lz4hc", "zlib", "blosclz")
EXAMPLES = int(os.environ.get("NAPARI_MRCZ_HYPOTHESIS_EXAMPLES", "0") or 0)
SETTINGS = settings(
    max_examples=EXAMPLES or 100,
    deadline=None,
    derandomize=not EXAMPLES,  # CI runs the same examples every time; long runs explore
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def shapes(max_side: int = 32) -> st.SearchStrategy[tuple[int, ...]]:
    """2-D, 3-D and 4-D shapes with sides 1..max_side (4-D: volume, z, y, x)."""
    side = st.integers(1, max_side)
    return st.one_of(
        st.tuples(side, side),
        st.tuples(side, side, side),
        st.tuples(st.integers(1, 4), st.integers(1, 8), side, side),
    )


def arrays(dtypes: tuple[str, ...] = DTYPES) -> st.SearchStrategy[np.ndarray]:
    """Arrays of any supported dtype and shape, with every value the dtype allows (NaN, inf,
    subnormals, -0.0 for floats; the full range for integers)."""
    return st.sampled_from(dtypes).flatmap(lambda dt: hnp.arrays(np.dtype(dt), shapes()))


# JSON metadata: unicode keys and strings (no lone surrogates, which UTF-8 cannot hold), nested
# lists and objects, floats without NaN (NaN != NaN would defeat ==), big integers, and keys that
# collide with mrcz's own header names (mrcz drops those; we must not).
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False), _TEXT,
)
_KEYS = st.one_of(_TEXT, st.sampled_from(["voltage", "pixelsize", "C3", "gain", "dtype", "backend", "Å", "µm", "名前"]))
metadata_dicts = st.dictionaries(
    _KEYS,
    st.recursive(_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
                 max_leaves=12),
    max_size=6,
)


def same_bits(got: np.ndarray, expected: np.ndarray) -> bool:
    """Equal shape, native dtype of the same kind and size, and identical bytes."""
    expected = np.ascontiguousarray(expected.astype(expected.dtype.newbyteorder("="), copy=False))
    got = np.ascontiguousarray(got)
    return (got.shape == expected.shape and got.dtype == expected.dtype
            and got.tobytes() == expected.tobytes())


@pytest.mark.slow
@SETTINGS
@given(
    data=arrays(),
    compressor=st.sampled_from(COMPRESSORS),
    clevel=st.integers(0, 9),
    endianness=st.sampled_from(["<", ">"]),
    metadata=st.one_of(st.none(), metadata_dicts),
    shuffle=st.sampled_from(["auto", "bit", "byte", "none"]),
)
def test_round_trip_is_bit_exact(data: np.ndarray, compressor: str | None, clevel: int, endianness: str,
                                 metadata: dict[str, Any] | None, shuffle: str) -> None:
    """Any array, codec, level, shuffle, byte order and metadata: eager and lazy reads return the
    exact bytes written, in native byte order, and exactly the metadata."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "prop.mrcz"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # statistics of inf/NaN data
            nm.write(path, data, compressor=compressor, clevel=clevel, endianness=endianness,
                     metadata=metadata, shuffle=shuffle)
        eager = nm.read(path)
        lazy = nm.read(path, lazy=True)
        assert same_bits(eager.data, data), "eager read differs from what was written"
        assert same_bits(np.asarray(lazy.data.compute()), data), "lazy read differs from what was written"
        assert eager.metadata == lazy.metadata == (metadata or {})
        assert eager.header.compressor == compressor
        assert eager.header.byte_order == endianness or data.dtype.itemsize == 1
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["prop.mrcz"]


@pytest.mark.slow
@SETTINGS
@given(
    data=arrays(MRCZ_READABLE).filter(lambda a: a.ndim in (2, 3, 4)),
    compressor=st.sampled_from(COMPRESSORS[1:]),
    clevel=st.integers(1, 9),
    endianness=st.sampled_from(["<", ">"]),
)
def test_mrcz_reads_what_we_write(data: np.ndarray, compressor: str, clevel: int, endianness: str) -> None:
    """``mrcz.readMRC`` (0.6.0) decodes our compressed files to the same values (a list of 3-D
    frames for 4-D data, as mrcz returns volume stacks; length-1 axes squeezed, as mrcz does)."""
    mrcz = pytest.importorskip("mrcz")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "peer.mrcz"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nm.write(path, data, compressor=compressor, clevel=clevel, endianness=endianness)
            # mrcz does not read the machine stamp: the caller names the byte order
            theirs, _header = mrcz.readMRC(str(path), endian="be" if endianness == ">" else "le")
        if data.ndim == 4:
            assert isinstance(theirs, list) and len(theirs) == data.shape[0]
            theirs = np.stack(theirs)
        theirs = np.asarray(theirs)
        # mrcz squeezes length-1 axes away
        assert np.squeeze(theirs).shape == np.squeeze(data).shape, (theirs.shape, data.shape)
        theirs = theirs.reshape(data.shape)
        assert theirs.dtype.newbyteorder("=") == data.dtype.newbyteorder("=")
        assert same_bits(theirs.astype(theirs.dtype.newbyteorder("="), copy=False), data)


@pytest.mark.slow
@SETTINGS
@given(data=arrays(("uint16", "float32")), compressor=st.sampled_from(COMPRESSORS))
def test_streaming_writer_equals_one_shot_write(data: np.ndarray, compressor: str | None) -> None:
    """Writing slice by slice with MrczWriter gives the same file bytes as write() for 3-D data."""
    if data.ndim != 3:
        data = data.reshape(-1, *data.shape[-2:])
    with tempfile.TemporaryDirectory() as tmp:
        one, streamed = Path(tmp) / "one.mrcz", Path(tmp) / "streamed.mrcz"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            nm.write(one, data, compressor=compressor)
            with nm.MrczWriter(streamed, compressor=compressor) as writer:
                for plane in data:
                    writer.write(plane)
        assert one.read_bytes() == streamed.read_bytes()


@pytest.mark.parametrize(
    "metadata",
    [{"bad": "\ud800"}, {"\udfff": 1}, {"nested": ["ok", {"deep": "\udc80"}]}],
    ids=["value", "key", "nested"],
)
def test_metadata_utf8_cannot_encode_raises_mrczerror(metadata: dict[str, Any], tmp_path: Path) -> None:
    """Strings UTF-8 cannot encode (lone surrogates) are refused with MrczError before any file is
    made."""
    with pytest.raises(MrczError, match="metadata"):
        nm.write(tmp_path / "m.mrcz", np.zeros((2, 2), np.float32), metadata=metadata)
    assert list(tmp_path.iterdir()) == []
