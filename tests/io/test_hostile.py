"""Hostile files: every file of the shared corpus's ``bad/`` folder, and generated ones of each kind.

Each must raise the right :class:`~napari_mrcz.MrczError` subclass with a message that names the file
and the problem, read eagerly, lazily (``.compute()``), permissively (``strict=False``) or only opened;
never another exception type, a crash, a hang, a huge allocation, or a result holding uninitialised
memory. Files whose problems are only in side metadata (JSON) read with a warning instead.
One test reruns every hostile file in a subprocess under an address-space limit, where an oversized
allocation shows up as ``MemoryError`` and a segfault as a signal.
"""

from __future__ import annotations

import bz2
import gzip
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from checks import reads_after_heap_spray
from corpus import TESTDATA, corpus_entries, corpus_params

import napari_mrcz as nm
from napari_mrcz.errors import ChunkError, HeaderError, MrczError, MrczWarning, UnsupportedError
from napari_mrcz.format.header import HEADER_DTYPE

AS_LIMIT_MB = 1536  # address space of the subprocess checks; napari_mrcz + dask need about 600 MiB
SUBPROCESS_TIMEOUT = 180

# Corpus bad/ files: (error class, regular expression the message must match). Every message must
# also name the file.
BAD_CORPUS: dict[str, tuple[type[MrczError], str]] = {
    "empty.mrc": (HeaderError, r"\b0 bytes\b.*1024"),
    "short_header.mrc": (HeaderError, r"\b500 bytes\b.*1024"),
    "random_bytes.mrc": (HeaderError, r"not an MRC file"),
    "truncated_data.mrc": (HeaderError, r"truncated.*24576 bytes"),
    "truncated_chunk.mrcz": (ChunkError, r"slice 2\b.*truncated"),
    "dims_bomb.mrc": (HeaderError, r"2000000000000000 bytes"),
    "negative_dims.mrc": (HeaderError, r"NY\s*=\s*-5"),
    "unknown_mode.mrc": (UnsupportedError, r"MODE 9\b.*not defined"),
    "unknown_compressor.mrcz": (UnsupportedError, r"compressor id 99\b.*unknown"),
    "nsymbt_past_eof.mrc": (HeaderError, r"NSYMBT\s*=\s*2147483647.*past the end"),
    "negative_nsymbt.mrc": (HeaderError, r"NSYMBT\s*=\s*-100\b"),
    "chunk_cbytes_past_eof.mrcz": (ChunkError, r"slice 0\b.*2147483648 compressed bytes"),
    "chunk_nbytes_wrong.mrcz": (ChunkError, r"slice 0\b.*decompresses to 40960 bytes"),
    "missing_chunks.mrcz": (ChunkError, r"\b7 of 12\b"),
    "truncated.mrc.gz": (HeaderError, r"gzip.*(truncated|corrupt)"),
}


def _read_ways(path: Path) -> dict[str, Callable[[], Any]]:
    """Every way a caller touches a file: open only, eager, lazy + compute, permissive eager."""
    return {
        "open": lambda: nm.open_mrc(path).close(),
        "eager": lambda: nm.read(path),
        "lazy": lambda: nm.read(path, lazy=True).data.compute(),
        "permissive": lambda: nm.read(path, strict=False),
    }


def assert_refused(path: Path, error: type[MrczError], pattern: str, *, at_open: bool = True) -> None:
    """Assert every way of reading ``path`` raises ``error`` with a message matching ``pattern``
    and naming the file.

    Parameters
    ----------
    path
        The hostile file.
    error
        The expected MrczError subclass.
    pattern
        A regular expression (case-insensitive) the message must match.
    at_open
        False for problems inside the data, which only reading the voxels can find.
    """
    for how, call in _read_ways(path).items():
        if how == "open" and not at_open:
            nm.open_mrc(path).close()
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MrczWarning)
            with pytest.raises(MrczError) as info:
                call()
        message = str(info.value)
        assert type(info.value) is error, f"{how}: {type(info.value).__name__} instead of {error.__name__}: {message}"
        assert re.search(pattern, message, re.I | re.S), f"{how}: message {message!r} does not match {pattern!r}"
        assert path.name in message, f"{how}: message {message!r} does not name the file"


# ---------------------------------------------------------------------------------- the bad corpus


@pytest.mark.parametrize("entry", corpus_params("bad"))
def test_bad_corpus_file(entry: dict[str, Any]) -> None:
    """Each corpus bad/ file raises its MrczError subclass, naming the problem, however it is read."""
    path = TESTDATA / entry["path"]
    error, pattern = BAD_CORPUS.get(path.name, (MrczError, r"\S"))
    assert_refused(path, error, pattern)


def test_bad_corpus_is_fully_covered() -> None:
    """Every corpus bad/ file has an expected error class and message here (none falls back)."""
    names = {Path(e["path"]).name for e in corpus_entries("bad")}
    if not names:
        pytest.skip(f"no shared corpus at {TESTDATA}")
    assert names <= set(BAD_CORPUS), f"add expectations for {sorted(names - set(BAD_CORPUS))}"


# ------------------------------------------------------------------------------ generated hostiles


def write_valid(
    path: Path, compressor: str | None = "zstd", shape: tuple[int, ...] = (4, 16, 16), **options: Any
) -> bytes:
    """Write a small valid float32 file (seeded random values) and return its bytes.

    Parameters
    ----------
    path
        Where to write.
    compressor
        As for :func:`napari_mrcz.write`.
    shape
        Data shape.
    **options
        More :func:`napari_mrcz.write` options.
    """
    data = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    nm.write(path, data, compressor=compressor, **options)
    return path.read_bytes()


def patch_field(raw: bytearray, name: str, value: Any, order: str = "<") -> None:
    """Overwrite one header field (MRC2014 name from ``HEADER_DTYPE``) in ``raw`` in place."""
    dtype, offset = HEADER_DTYPE.fields[name][:2]
    encoded = np.asarray(value, dtype=dtype.newbyteorder(order) if dtype.kind in "iuf" else dtype).tobytes()
    raw[offset : offset + len(encoded)] = encoded


def chunk_positions(path: Path) -> list[tuple[int, int]]:
    """(offset, cbytes) of each compressed slice of a valid MRCZ file."""
    with nm.open_mrc(path) as info:
        assert info.chunk_index is not None
        return [(int(o), int(c)) for o, c in zip(info.chunk_index.offsets, info.chunk_index.cbytes)]


Builder = Callable[[Path], Path]
GENERATED: dict[str, tuple[Builder, type[MrczError], str, bool]] = {}


def hostile(name: str, error: type[MrczError], pattern: str, at_open: bool = True) -> Callable[[Builder], Builder]:
    """Register a builder of one generated hostile file and what reading it must raise
    (``at_open=False``: only reading the voxels finds the problem)."""

    def register(build: Builder) -> Builder:
        GENERATED[name] = (build, error, pattern, at_open)
        return build

    return register


def _mutated(
    folder: Path, name: str, compressor: str | None, edit: Callable[[bytearray, Path], Any], **options: Any
) -> Path:
    """A valid file written to ``folder/name``, then edited in place by ``edit(raw, valid_path)``."""
    valid = folder / f"valid-{name}"
    raw = bytearray(write_valid(valid, compressor, **options))
    edit(raw, valid)
    path = folder / name
    path.write_bytes(bytes(raw))
    return path


@hostile("empty.mrc", HeaderError, r"\b0 bytes\b")
def _empty(folder: Path) -> Path:
    (folder / "empty.mrc").write_bytes(b"")
    return folder / "empty.mrc"


@hostile("one_byte.mrc", HeaderError, r"\b1 bytes?\b")
def _one_byte(folder: Path) -> Path:
    (folder / "one_byte.mrc").write_bytes(b"\x01")
    return folder / "one_byte.mrc"


@hostile("header_1023.mrc", HeaderError, r"\b1023 bytes\b")
def _header_1023(folder: Path) -> Path:
    raw = write_valid(folder / "v1023.mrc", None)
    (folder / "header_1023.mrc").write_bytes(raw[:1023])
    return folder / "header_1023.mrc"


@hostile("random_bytes.mrc", HeaderError, r"not an MRC file")
def _random_bytes(folder: Path) -> Path:
    raw = bytearray(np.random.default_rng(2014).bytes(8192))
    raw[0:16] = struct.pack("<iiii", -7, -7, -7, 999)  # implausible either way round
    (folder / "random_bytes.mrc").write_bytes(bytes(raw))
    return folder / "random_bytes.mrc"


@hostile("zero_header.mrc", HeaderError, r"NX\s*=\s*0")
def _zero_header(folder: Path) -> Path:
    (folder / "zero_header.mrc").write_bytes(bytes(4096))
    return folder / "zero_header.mrc"


@hostile("plain_dims_bomb.mrc", HeaderError, r"implies 32000000000000000 bytes")
def _plain_dims_bomb(folder: Path) -> Path:
    def edit(raw: bytearray, _: Path) -> None:
        for name in ("nx", "ny", "nz"):
            patch_field(raw, name, 200000)

    return _mutated(folder, "plain_dims_bomb.mrc", None, edit)


@hostile("mrcz_nz_bomb.mrcz", ChunkError, r"2147483647")
def _mrcz_nz_bomb(folder: Path) -> Path:
    """NZ = 2**31 - 1 in a 4-slice MRCZ file: nothing may be sized by NZ before the file is checked."""
    return _mutated(folder, "mrcz_nz_bomb.mrcz", "zstd", lambda raw, _: patch_field(raw, "nz", 2**31 - 1))


for _axis in ("nx", "ny", "nz"):

    def _negative(folder: Path, axis: str = _axis) -> Path:
        return _mutated(folder, f"negative_{axis}.mrcz", "zstd", lambda raw, _: patch_field(raw, axis, -1))

    hostile(f"negative_{_axis}.mrcz", HeaderError, rf"{_axis.upper()}\s*=\s*-1\b")(_negative)

for _mode, _pattern in ((5, r"MODE 5\b"), (13, r"MODE 13\b"), (-1, r"MODE -1\b"), (7002, r"compressor id 7\b"),
                        (15002, r"compressor id 15\b"), (6003, r"packed mode 3\b"), (1101, r"packed mode 101\b")):

    def _bad_mode(folder: Path, mode: int = _mode) -> Path:
        return _mutated(folder, f"mode_{mode}.mrcz", "zstd", lambda raw, _: patch_field(raw, "mode", mode))

    hostile(f"mode_{_mode}.mrcz", UnsupportedError, _pattern)(_bad_mode)


@hostile("nsymbt_past_eof.mrc", HeaderError, r"NSYMBT\s*=\s*\d+.*past the end")
def _nsymbt_past_eof(folder: Path) -> Path:
    return _mutated(folder, "nsymbt_past_eof.mrc", None, lambda raw, _: patch_field(raw, "nsymbt", len(raw)))


@hostile("negative_nsymbt.mrcz", HeaderError, r"NSYMBT\s*=\s*-1\b")
def _negative_nsymbt(folder: Path) -> Path:
    return _mutated(folder, "negative_nsymbt.mrcz", "zstd", lambda raw, _: patch_field(raw, "nsymbt", -1))


for _order in ((1, 1, 3), (4, 2, 1), (0, 2, 3), (-1, 2, 3)):

    def _axis_order(folder: Path, order: tuple[int, int, int] = _order) -> Path:
        def edit(raw: bytearray, _: Path) -> None:
            for name, value in zip(("mapc", "mapr", "maps"), order):
                patch_field(raw, name, value)

        return _mutated(folder, "axis_order_{}{}{}.mrc".format(*order), None, edit)

    hostile("axis_order_{}{}{}.mrc".format(*_order), HeaderError, r"MAPC/MAPR/MAPS")(_axis_order)


@hostile("plain_truncated.mrc", HeaderError, r"truncated")
def _plain_truncated(folder: Path) -> Path:
    return _mutated(folder, "plain_truncated.mrc", None, lambda raw, _: raw.__delitem__(slice(len(raw) // 2, None)))


def _chunk_edit(index: int, edit: Callable[[bytearray, int, int], None]) -> Callable[[bytearray, Path], None]:
    def apply(raw: bytearray, valid: Path) -> None:
        offset, cbytes = chunk_positions(valid)[index]
        edit(raw, offset, cbytes)

    return apply


@hostile("chunk_truncated.mrcz", ChunkError, r"slice 2\b.*truncated")
def _chunk_truncated(folder: Path) -> Path:
    return _mutated(folder, "chunk_truncated.mrcz", "zstd",
                    _chunk_edit(2, lambda raw, o, c: raw.__delitem__(slice(o + c // 2, None))))


@hostile("chunk_header_cut.mrcz", ChunkError, r"slice 1\b.*(truncated|header)")
def _chunk_header_cut(folder: Path) -> Path:
    return _mutated(folder, "chunk_header_cut.mrcz", "zstd",
                    _chunk_edit(1, lambda raw, o, c: raw.__delitem__(slice(o + 5, None))))


@hostile("missing_chunks.mrcz", ChunkError, r"\b4 of 7\b")
def _missing_chunks(folder: Path) -> Path:
    return _mutated(folder, "missing_chunks.mrcz", "zstd", lambda raw, _: patch_field(raw, "nz", 7))


def _set_u32(at: int, value: int) -> Callable[[bytearray, int, int], None]:
    return lambda raw, o, c: struct.pack_into("<I", raw, o + at, value)


def _set_u8(at: int, value: Callable[[int], int]) -> Callable[[bytearray, int, int], None]:
    def edit(raw: bytearray, o: int, c: int) -> None:
        raw[o + at] = value(raw[o + at])

    return edit


for _name, _index, _edit, _error, _pattern in (
    ("chunk_cbytes_past_eof", 0, _set_u32(12, 2**31), ChunkError, r"slice 0\b.*2147483648 compressed bytes"),
    ("chunk_cbytes_max", 3, _set_u32(12, 2**32 - 1), ChunkError, r"slice 3\b.*4294967295"),
    ("chunk_cbytes_tiny", 1, _set_u32(12, 8), ChunkError, r"slice 1\b.*smaller than its header"),
    ("chunk_cbytes_zero", 0, _set_u32(12, 0), ChunkError, r"slice 0\b.*smaller than its header"),
    ("chunk_nbytes_wrong", 0, _set_u32(4, 4 * 16 * 16 * 4), ChunkError, r"slice 0\b.*decompresses to 4096 bytes"),
    ("chunk_nbytes_max", 2, _set_u32(4, 2**32 - 1), ChunkError, r"slice 2\b.*4294967295"),
    ("chunk_version_0", 0, _set_u8(0, lambda v: 0), ChunkError, r"slice 0\b.*not a blosc chunk"),
    ("chunk_version_9", 1, _set_u8(0, lambda v: 9), ChunkError, r"slice 1\b.*not a blosc chunk"),
    ("chunk_typesize_0", 0, _set_u8(3, lambda v: 0), ChunkError, r"slice 0\b.*not a blosc chunk"),
    ("chunk_snappy", 0, _set_u8(2, lambda v: (v & 0x1F) | (2 << 5)), UnsupportedError, r"slice 0\b.*snappy"),
):
    hostile(f"{_name}.mrcz", _error, _pattern)(
        lambda folder, name=_name, index=_index, edit=_edit: _mutated(
            folder, f"{name}.mrcz", "zstd", _chunk_edit(index, edit)
        )
    )


@hostile("chunk_zstd_payload_corrupt.mrcz", ChunkError, r"slice 1\b.*corrupt", at_open=False)
def _chunk_payload_corrupt(folder: Path) -> Path:
    """zstd frames overwritten with 0xFF after the chunk header (blosc1 has no checksum, but zstd
    frames do not survive this)."""
    edit = _chunk_edit(1, lambda raw, o, c: raw.__setitem__(slice(o + 32, o + c), b"\xff" * (c - 32)))
    return _mutated(folder, "chunk_zstd_payload_corrupt.mrcz", "zstd", edit, shape=(4, 32, 32))


def _wrapped(folder: Path, name: str, raw: bytes, wrap: str, cut: float | None = None) -> Path:
    data = gzip.compress(raw, mtime=0) if wrap == "gzip" else bz2.compress(raw)
    if cut is not None:
        data = data[: int(len(data) * cut)]
    path = folder / name
    path.write_bytes(data)
    return path


@hostile("truncated.mrc.gz", HeaderError, r"gzip.*(truncated|corrupt)")
def _truncated_gz(folder: Path) -> Path:
    return _wrapped(folder, "truncated.mrc.gz", write_valid(folder / "vgz.mrc", None), "gzip", cut=0.5)


@hostile("truncated.mrcz.bz2", HeaderError, r"bz2.*(truncated|corrupt)")
def _truncated_bz2(folder: Path) -> Path:
    return _wrapped(folder, "truncated.mrcz.bz2", write_valid(folder / "vbz.mrcz", "zstd"), "bz2", cut=0.6)


@hostile("corrupt_stream.mrc.gz", HeaderError, r"gzip.*(truncated|corrupt)")
def _corrupt_gz(folder: Path) -> Path:
    path = _wrapped(folder, "corrupt_stream.mrc.gz", write_valid(folder / "vgz2.mrc", None), "gzip")
    raw = bytearray(path.read_bytes())
    raw[20:40] = b"\xff" * 20
    path.write_bytes(bytes(raw))
    return path


@hostile("gz_of_truncated_plain.mrc.gz", HeaderError, r"truncated")
def _gz_truncated_plain(folder: Path) -> Path:
    raw = write_valid(folder / "vgz3.mrc", None)
    return _wrapped(folder, "gz_of_truncated_plain.mrc.gz", raw[: len(raw) - 100], "gzip")


@hostile("gz_of_dims_bomb.mrc.gz", HeaderError, r"truncated|implies")
def _gz_dims_bomb(folder: Path) -> Path:
    raw = bytearray(write_valid(folder / "vgz4.mrc", None))
    for name in ("nx", "ny", "nz"):
        patch_field(raw, name, 200000)
    return _wrapped(folder, "gz_of_dims_bomb.mrc.gz", bytes(raw), "gzip")


@hostile("bz2_of_nz_bomb.mrcz.bz2", ChunkError, r"2147483647")
def _bz2_nz_bomb(folder: Path) -> Path:
    raw = bytearray(write_valid(folder / "vbz2.mrcz", "zstd"))
    patch_field(raw, "nz", 2**31 - 1)
    return _wrapped(folder, "bz2_of_nz_bomb.mrcz.bz2", bytes(raw), "bz2")


@hostile("gz_of_gz.mrc.gz", HeaderError, r"not an MRC file|'MAP ' ID")
def _gz_of_gz(folder: Path) -> Path:
    inner = gzip.compress(write_valid(folder / "vgz5.mrc", None), mtime=0)
    return _wrapped(folder, "gz_of_gz.mrc.gz", inner + bytes(1024), "gzip")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every generated hostile file, built once per module."""
    folder = tmp_path_factory.mktemp("hostile")
    return {name: build(folder) for name, (build, *_) in GENERATED.items()}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_hostile_file(name: str, generated: dict[str, Path]) -> None:
    """Each generated hostile file raises its MrczError subclass with a message naming the problem."""
    _, error, pattern, at_open = GENERATED[name]
    assert_refused(generated[name], error, pattern, at_open=at_open)


def test_missing_map_id_strict_refuses_permissive_reads(tmp_path: Path) -> None:
    """Without the MAP ID and machine stamp strict=True refuses (HeaderError naming the MAP ID); the
    default ("auto", the header agrees with the file) and strict=False warn and return the right data.
    (tests/io/test_identity.py covers the kind.)"""

    def edit(raw: bytearray, _: Path) -> None:
        raw[208:216] = bytes(8)

    path = _mutated(tmp_path, "no_map_id_no_stamp.mrc", None, edit)
    strict = (lambda: nm.read(path, strict=True), lambda: nm.read(path, lazy=True, strict=True),
              lambda: nm.open_mrc(path, strict=True))
    for call in strict:
        with pytest.raises(HeaderError, match=r"'MAP ' ID.*|no_map_id"):
            call()
    expected = np.random.default_rng(7).standard_normal((4, 16, 16)).astype(np.float32)
    for level in ("auto", False):
        with pytest.warns(MrczWarning, match="MAP"):
            image = nm.read(path, strict=level)
        assert np.array_equal(image.data, expected)


# ------------------------------------------------------------- side metadata: warn, keep the pixels


@pytest.mark.parametrize(
    "payload",
    [b"{\"k\": \"\xff\xfe\"}", b"[" * 5000 + b"]" * 5000, b"[" * 200000, b"[1, 2, 3]", b"\x00" * 64, b"{\"a\": 1"],
    ids=["invalid-utf8", "deeply-nested", "unclosed-deep", "json-list", "nul-bytes", "unterminated"],
)
def test_bad_json_extended_header_warns_and_keeps_pixels(payload: bytes, tmp_path: Path) -> None:
    """A broken JSON extended header costs the metadata (with an MrczWarning), never the image."""
    data = np.arange(3 * 8 * 8, dtype=np.uint16).reshape(3, 8, 8)
    path = tmp_path / "meta.mrcz"
    nm.write(path, data, metadata={"x": "y" * len(payload)})
    raw = bytearray(path.read_bytes())
    nsymbt = struct.unpack_from("<i", raw, 92)[0]
    raw[1024 : 1024 + nsymbt] = payload.ljust(nsymbt, b" ")[:nsymbt]
    path.write_bytes(bytes(raw))
    for lazy in (False, True):
        with pytest.warns(MrczWarning, match="JSON"):
            image = nm.read(path, lazy=lazy)
        assert image.metadata == {}
        assert np.array_equal(np.asarray(image.data), data)


# -------------------------------------------------- chunks blosc accepts but does not fully decode


def _blosc2_special_chunk(nbytes: int, typesize: int, special: str) -> bytes:
    """A 32-byte blosc2 chunk that stands for ``nbytes`` of a special value (ZERO, UNINIT, ...)."""
    blosc2 = pytest.importorskip("blosc2")
    schunk = blosc2.SChunk(chunksize=nbytes, cparams={"typesize": typesize})
    schunk.fill_special(nbytes // typesize, getattr(blosc2.SpecialValue, special))
    return bytes(schunk.get_chunk(0))


def _uninit_file(folder: Path) -> Path:
    raw = write_valid(folder / "vu.mrcz", "zstd")
    data_offset = chunk_positions(folder / "vu.mrcz")[0][0]
    chunk = _blosc2_special_chunk(16 * 16 * 4, 4, "UNINIT")
    path = folder / "uninit_chunks.mrcz"
    path.write_bytes(raw[:data_offset] + chunk * 4)
    return path


def _typesize_255(folder: Path) -> Path:
    """Slice 1's chunk claims typesize 255 (the data is float32, bitshuffled, zstd)."""
    edit = _chunk_edit(1, _set_u8(3, lambda v: 255))
    return _mutated(folder, "typesize255.mrcz", "zstd", edit, shape=(4, 32, 32))


def _both_shuffles(folder: Path) -> Path:
    """Slice 1's blosc1 chunk sets the byte-shuffle and bitshuffle flags together (smooth float32, lz4)."""
    z, y, x = np.mgrid[:4, :64, :64]
    nm.write(folder / "valid-both.mrcz", np.sin(x / 7.0 + y / 5.0 + z).astype(np.float32), compressor="lz4")
    raw = bytearray((folder / "valid-both.mrcz").read_bytes())
    _chunk_edit(1, _set_u8(2, lambda v: v | 0x05))(raw, folder / "valid-both.mrcz")
    path = folder / "bothshuffles.mrcz"
    path.write_bytes(bytes(raw))
    return path


UNDECODED: dict[str, Callable[[Path], Path]] = {
    "blosc2-special-uninit": _uninit_file,
    "typesize-255-bitshuffle": _typesize_255,
    "shuffle-and-bitshuffle-flags": _both_shuffles,
}


@pytest.mark.parametrize("kind", sorted(UNDECODED))
def test_undecoded_chunks_never_expose_memory(kind: str, tmp_path: Path) -> None:
    """A chunk blosc 'decodes' without writing the output must not return uninitialised memory.

    The heap is first filled with a pattern of the output's size, so a buffer blosc leaves untouched
    shows the pattern. Each read must raise MrczError, or return the same values every time, eagerly
    and lazily, whatever the heap held.
    """
    outcomes = reads_after_heap_spray(UNDECODED[kind](tmp_path))
    assert len(set(outcomes)) == 1, (
        f"{kind}: reads of one file differ with what the heap held before "
        f"(the result holds uninitialised memory): {[o if isinstance(o, str) else o[:8].hex() for o in outcomes]}"
    )


# ---------------------------------------------------------------- files that change after opening


@pytest.mark.parametrize("compressor", [None, "zstd"], ids=["plain", "mrcz"])
def test_file_truncated_after_lazy_open(compressor: str | None, tmp_path: Path) -> None:
    """A file cut short between a lazy open and compute raises MrczError (not ValueError/SIGBUS)."""
    path = tmp_path / "shrinks.mrc"
    write_valid(path, compressor, shape=(6, 64, 64))
    image = nm.read(path, lazy=True)
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(MrczError, match="shrinks.mrc"):
        image.data.compute()


_SIGBUS_SCRIPT = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    import napari_mrcz as nm
    path = sys.argv[1]
    nm.write(path, np.ones((6, 256, 256), np.float32), compressor=None)
    image = nm.read(path, lazy=True)
    assert float(image.data[0].compute().sum()) == 256 * 256
    os.truncate(path, 2048)  # the file shrinks under the open lazy array (a writer rewriting in place)
    try:
        image.data[5].compute()
    except nm.MrczError as err:
        print("MrczError", err)
    except Exception as err:
        print("OTHER", type(err).__name__, err)
    else:
        print("READ")
    """
)


@pytest.mark.slow
def test_file_truncated_after_first_compute_does_not_crash(tmp_path: Path) -> None:
    """A lazy plain-MRC array whose file shrinks after a first compute raises; the process survives."""
    proc = subprocess.run([sys.executable, "-c", _SIGBUS_SCRIPT, str(tmp_path / "f.mrc")],
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    assert proc.returncode == 0, f"the reader crashed ({proc.returncode}, e.g. SIGBUS = -7): {proc.stderr[-2000:]}"
    assert proc.stdout.startswith("MrczError"), proc.stdout + proc.stderr[-2000:]


# ---------------------------------------------------------------------------- not regular files


def test_directory_and_missing_path_raise_oserror_or_mrczerror(tmp_path: Path) -> None:
    """A folder or a missing path raises OSError (as documented) or MrczError, nothing else."""
    for path in (tmp_path, tmp_path / "missing.mrc"):
        with pytest.raises((OSError, MrczError)):
            nm.read(path)
        with pytest.raises((OSError, MrczError)):
            nm.read(path, lazy=True)


_FIFO_SCRIPT = textwrap.dedent(
    """
    import sys
    import napari_mrcz as nm
    try:
        nm.read(sys.argv[1])
    except (OSError, nm.MrczError) as err:
        print("refused", type(err).__name__, err)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_named_pipe_does_not_hang(tmp_path: Path) -> None:
    """A named pipe with an .mrc name (nobody writing to it) is refused promptly, not waited on."""
    fifo = tmp_path / "pipe.mrc"
    os.mkfifo(fifo)
    try:
        proc = subprocess.run([sys.executable, "-c", _FIFO_SCRIPT, str(fifo)],
                              capture_output=True, text=True, timeout=12)
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading the named pipe {fifo} hangs (open() blocks waiting for a writer)")
    assert proc.returncode == 0 and proc.stdout.startswith("refused"), proc.stdout + proc.stderr[-2000:]


# ------------------------------------------------------ under an address-space limit, in a subprocess


_LIMITED_RUNNER = textwrap.dedent(
    """
    import faulthandler, json, resource, sys, traceback, warnings
    from pathlib import Path
    import numpy as np
    import napari_mrcz as nm
    faulthandler.enable()
    warnings.simplefilter("ignore")
    paths, out, progress, limit_mb = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    nm.read(sys.argv[5], lazy=True).data.compute()  # warm up: thread pools and arenas exist before the limit
    resource.setrlimit(resource.RLIMIT_AS, (limit_mb * 2**20, limit_mb * 2**20))
    results = {}
    with open(progress, "w", buffering=1) as prog:
        for name, path in paths:
            prog.write(name + "\\n")
            faulthandler.dump_traceback_later(60, exit=True)
            got = {}
            for how in ("eager", "lazy", "permissive"):
                try:
                    if how == "eager":
                        nm.read(path)
                    elif how == "lazy":
                        nm.read(path, lazy=True).data.compute()
                    else:
                        nm.read(path, strict=False)
                    got[how] = "read"
                except nm.MrczError as err:
                    got[how] = "MrczError"
                except Exception as err:
                    got[how] = f"{type(err).__name__}: {err}"
            faulthandler.cancel_dump_traceback_later()
            results[name] = got
    Path(out).write_text(json.dumps(results))
    """
)


def run_limited(
    paths: dict[str, Path], tmp_path: Path, warm: Path, limit_mb: int = AS_LIMIT_MB
) -> dict[str, dict[str, str]]:
    """Read each file eagerly, lazily and permissively in a subprocess under ``RLIMIT_AS``.

    Parameters
    ----------
    paths
        Name -> file.
    tmp_path
        Scratch folder for the report and progress files.
    warm
        A valid file read once before the limit is set (thread pools and arenas then exist).
    limit_mb
        Address-space limit in MiB.

    Returns
    -------
    dict
        Name -> {'eager' | 'lazy' | 'permissive': 'read', 'MrczError', or 'Type: message'}.
    """
    out, progress = tmp_path / "limited.json", tmp_path / "limited.progress"
    args = [json.dumps([[k, str(v)] for k, v in paths.items()]), str(out), str(progress), str(limit_mb), str(warm)]
    env = dict(os.environ, MALLOC_ARENA_MAX="2")
    try:
        proc = subprocess.run([sys.executable, "-c", _LIMITED_RUNNER, *args], capture_output=True, text=True,
                              timeout=SUBPROCESS_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        last = progress.read_text().splitlines()[-1:] if progress.exists() else []
        pytest.fail(f"the limited reader hung; last file: {last}")
    if proc.returncode != 0:
        last = progress.read_text().splitlines()[-1:] if progress.exists() else []
        pytest.fail(f"the limited reader died ({proc.returncode}) on {last}: {proc.stderr[-3000:]}")
    return json.loads(out.read_text())


@pytest.mark.slow
def test_every_hostile_file_under_memory_limit(generated: dict[str, Path], tmp_path: Path) -> None:
    """Under a 1.5 GiB address-space limit every hostile file still raises MrczError: nothing is
    allocated from the header's word before the file's length is checked."""
    files = {f"corpus:{Path(e['path']).name}": TESTDATA / e["path"] for e in corpus_entries("bad")}
    files.update({f"generated:{k}": v for k, v in generated.items()})
    warm = tmp_path / "warm.mrcz"
    write_valid(warm, "zstd")
    results = run_limited(files, tmp_path, warm)
    wrong = {name: got for name, got in results.items() if set(got.values()) != {"MrczError"}}
    assert not wrong, "hostile files not refused with MrczError under the memory limit:\n" + "\n".join(
        f"  {name}: {got}" for name, got in sorted(wrong.items())
    )


def _special_bomb(folder: Path) -> Path:
    """A 1.3 kB MRCZ file whose eight 32-byte blosc2 chunks each stand for 256 MiB of zeros (2 GiB)."""
    ny = nx = 8192
    raw = bytearray(write_valid(folder / "vb.mrcz", "zstd", shape=(1, 4, 4)))
    offset = chunk_positions(folder / "vb.mrcz")[0][0]
    for name, value in (("nx", nx), ("ny", ny), ("nz", 8), ("mode", 6007)):  # uint32 zstd
        patch_field(raw, name, value)
    chunk = _blosc2_special_chunk(ny * nx * 4, 4, "ZERO")
    path = folder / "zeros_bomb.mrcz"
    path.write_bytes(bytes(raw[:offset]) + chunk * 8)
    return path


def _gzip_bomb(folder: Path) -> Path:
    """A ~1 MB .mrc.gz that honestly holds 1 GiB of float32 zeros (gzip members of 16 MiB each)."""
    piece = 16 * 2**20
    header = bytearray(write_valid(folder / "vg.mrc", None, shape=(1, 4, 4))[:1024])
    for name, value in (("nx", 4096), ("ny", 4096), ("nz", 16), ("mode", 2), ("nsymbt", 0)):
        patch_field(header, name, value)
    member = gzip.compress(bytes(piece), compresslevel=1, mtime=0)
    path = folder / "zeros_bomb.mrc.gz"
    with open(path, "wb") as f:
        f.write(gzip.compress(bytes(header), mtime=0))
        for _ in range(2**30 // piece):
            f.write(member)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["blosc2-zero-chunks", "gzip-members"])
def test_decompression_bomb_refused_before_allocation(kind: str, tmp_path: Path) -> None:
    """A tiny file that expands to more than the process may allocate raises MrczError, not
    MemoryError, when read eagerly (under a 1.5 GiB address-space limit)."""
    path = _special_bomb(tmp_path) if kind == "blosc2-zero-chunks" else _gzip_bomb(tmp_path)
    warm = tmp_path / "warm.mrcz"
    write_valid(warm, "zstd")
    got = run_limited({kind: path}, tmp_path, warm)[kind]
    assert got["eager"] == "MrczError", f"{path.name} ({path.stat().st_size} bytes): eager read gave {got['eager']}"
    assert got["permissive"] == "MrczError", got
