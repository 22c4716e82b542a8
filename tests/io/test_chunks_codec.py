"""Chunk headers, the chunk index and the per-slice blosc codec (napari_mrcz.format.chunks, napari_mrcz.io.codec.blosc)."""

from __future__ import annotations

import blosc
import numpy as np
import pytest

from napari_mrcz.format.chunks import ChunkIndex, parse_chunk_header
from napari_mrcz.io.codec.blosc import MrczBlosc, resolve_shuffle
from napari_mrcz.format.constants import WRITABLE_COMPRESSORS
from napari_mrcz.errors import ChunkError, MrczError

SLICE = (np.arange(64 * 48, dtype=np.uint16).reshape(64, 48) % 251).astype(np.uint16)


@pytest.mark.parametrize("cname", WRITABLE_COMPRESSORS)
@pytest.mark.parametrize("shuffle", ["auto", "bit", "byte", "none"])
def test_encode_decode_into_output(cname: str, shuffle: str) -> None:
    codec = MrczBlosc(cname, 5, shuffle, n_threads=2)
    chunk = codec.encode(SLICE)
    head = parse_chunk_header(chunk)
    assert head.version == 2  # blosc1 chunks: every mrcz install reads them
    assert head.nbytes == SLICE.nbytes and head.cbytes == len(chunk) and head.typesize == 2
    out = np.empty_like(SLICE)
    assert codec.decode(chunk, out) is out
    assert np.array_equal(out, SLICE)
    assert blosc.decompress(chunk) == SLICE.tobytes()  # plain blosc1 agrees


def test_decodes_blosc2_chunks() -> None:
    blosc2 = pytest.importorskip("blosc2")
    chunk = blosc2.compress2(SLICE.tobytes(), typesize=2, codec=blosc2.Codec.ZSTD)
    out = np.empty_like(SLICE)
    MrczBlosc().decode(chunk, out)
    assert np.array_equal(out, SLICE)


def test_decode_refuses_inconsistent_sizes_before_calling_blosc() -> None:
    chunk = MrczBlosc().encode(SLICE)
    with pytest.raises(ChunkError, match="expected"):
        MrczBlosc().decode(chunk, np.empty(10, dtype=np.uint16))  # output too small: no overflow
    with pytest.raises(ChunkError, match="expected"):
        MrczBlosc().decode(chunk[:-3], np.empty_like(SLICE))
    corrupt = bytearray(chunk)
    corrupt[20:] = bytes(len(corrupt) - 20)
    try:
        MrczBlosc().decode(bytes(corrupt), np.empty_like(SLICE))
    except ChunkError as err:
        assert "corrupt" in str(err)


def test_blosc_global_settings_are_left_unchanged() -> None:
    before = (blosc.set_nthreads(3), blosc.get_blocksize())
    blosc.set_nthreads(3)
    MrczBlosc("lz4", 9, n_threads=1, blocksize=2**16).encode(SLICE)
    assert blosc.set_nthreads(before[0]) == 3
    assert blosc.get_blocksize() == before[1]


@pytest.mark.parametrize(
    "kwargs",
    [{"cname": "snappy"}, {"cname": "gzip"}, {"clevel": 10}, {"clevel": -1}, {"clevel": 1.5},
     {"shuffle": "bits"}, {"n_threads": 0}, {"blocksize": -1}],
)
def test_bad_codec_arguments(kwargs: dict) -> None:
    with pytest.raises(MrczError):
        MrczBlosc(**kwargs)


def test_config_round_trip() -> None:
    codec = MrczBlosc("lz4hc", 7, "byte", 3)
    assert MrczBlosc.from_config(codec.get_config()) == codec
    assert "lz4hc" in repr(codec)
    assert resolve_shuffle("none", "zstd", SLICE.dtype) == blosc.NOSHUFFLE


def _index(buf: bytes, count: int, slice_nbytes: int) -> ChunkIndex:
    return ChunkIndex.build(lambda n, off: buf[off : off + n], start=0, count=count,
                            slice_nbytes=slice_nbytes, file_size=len(buf), source="t")


def test_index_walks_chunks() -> None:
    chunks = [MrczBlosc().encode(SLICE * k) for k in range(5)]
    index = _index(b"".join(chunks), 5, SLICE.nbytes)
    assert list(index.cbytes) == [len(c) for c in chunks]
    assert index.offsets[0] == 0 and index.offsets[4] == sum(map(len, chunks[:4]))
    assert index.compressed_nbytes == sum(map(len, chunks))


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda b: b[: len(b) - 5], "truncated"),
        (lambda b: b[:3], "cannot fit"),
        (lambda b: b"\x09" + b[1:], "not a blosc chunk"),
        (lambda b: b[:4] + (7).to_bytes(4, "little") + b[8:], "decompresses to 7 bytes"),
        (lambda b: b[:12] + (3).to_bytes(4, "little") + b[16:], "smaller than its header"),
        (lambda b: b[:12] + (2**31).to_bytes(4, "little") + b[16:], "claims 2147483648"),
    ],
)
def test_index_rejects_bad_chunk_headers(mutate, words: str) -> None:
    good = MrczBlosc().encode(SLICE)
    with pytest.raises(ChunkError, match=words):
        _index(mutate(good), 1, SLICE.nbytes)


def test_index_reports_missing_slices() -> None:
    chunk = MrczBlosc().encode(SLICE)
    with pytest.raises(ChunkError, match="after 2 of 3"):
        _index(chunk * 2, 3, SLICE.nbytes)


def test_c_blosc2_binding_loads_and_passes_its_self_test() -> None:
    """python-blosc2 ships c-blosc2 as a shared library here: the binding partial decodes use loads it
    and its load-time self-test (compress a ramp, decode a range) passes."""
    from napari_mrcz.io.codec import cblosc2

    assert cblosc2.available()
