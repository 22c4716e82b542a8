"""Mutation fuzzing of the reader: header words, blosc chunk headers, data bytes and file structure.

Valid files (written here with ``napari_mrcz.write``, and the shared corpus) are mutated under a fixed
seed and read eagerly, lazily (``.compute()``) and in part (the middle rows, by partial decode) in a
subprocess that runs under an address-space limit
(``RLIMIT_AS``) and a per-case watchdog. Every case must either read or raise ``MrczError`` with a
message naming the file; anything else (another exception type, ``MemoryError``, a hang, a segfault,
eager and lazy reads disagreeing) fails the test with the seed and case number and a command that
reruns that one case.

Environment variables
---------------------
NAPARI_MRCZ_FUZZ_CASES
    Total cases over all families (default 4000; a long run might use 100000).
NAPARI_MRCZ_FUZZ_SEED
    Base seed (default 20141). Case ``i`` of family ``f`` always mutates the same way for one seed.
NAPARI_MRCZ_FUZZ_AS_MB
    Address-space limit of the worker in MiB (default 1536). Importing napari_mrcz and dask and
    computing a lazy read takes about 600 MiB of address space; the files are at most ~300 kB, so
    nothing a case does can justify the rest.

Rerun one case by hand::

    python tests/test_fuzz.py --family header --seed 20141 --start 17 --cases 1 --verbose
"""

from __future__ import annotations

import argparse
import bz2
import faulthandler
import gzip
import json
import os
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

try:  # under pytest
    from corpus import TESTDATA, corpus_entries
except ImportError:  # pragma: no cover - run as a script (the fuzz subprocesses)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from corpus import TESTDATA, corpus_entries

FAMILIES = ("header", "chunks", "data", "structure", "mixed")
# Share of the total cases each family gets (header words are the main target).
_FAMILY_SHARE = {"header": 0.35, "chunks": 0.25, "data": 0.15, "structure": 0.15, "mixed": 0.10}
DEFAULT_CASES = 4000
DEFAULT_SEED = 20141
DEFAULT_AS_MB = 1536
CASE_WATCHDOG_S = 30.0  # a case taking this long is a hang: the worker dumps its stack and exits
CASE_SLOW_S = 10.0  # a case taking this long is reported (files are tiny; reads take milliseconds)
RSS_GROWTH_LIMIT = 256 * 2**20  # peak RSS may not grow by more than this over the warmed-up worker
MAX_BASE_BYTES = 2**20  # corpus files larger than this (fei-extended.mrc, 29 MB) are not fuzzed

I32 = 2**31
_INTERESTING_I32 = (
    0, 1, -1, 2, 3, 4, 7, 8, 12, 16, 101, 255, 256, 401, 1000, 1024, 4096, 32767, 32768, 65535, 65536,
    2**20, 2**24, 2**30, I32 - 1, -I32, -2, -1024, 100000,
)
_INTERESTING_U32 = (0, 1, 2, 3, 15, 16, 17, 31, 32, 33, 255, 256, 4096, 65536, 2**24, 2**31 - 1, 2**31, 2**32 - 1)
_STAMPS = (b"\x44\x41\x00\x00", b"\x44\x44\x00\x00", b"\x11\x11\x00\x00", b"\x00\x00\x00\x00", b"\x11\x44\x00\x00")
_EXTTYPS = (b"json", b"FEI1", b"FEI2", b"CCP4", b"MRCO", b"\0\0\0\0", b"JSON", b"json")
# 0-based header word -> MRC2014 name (words that steer how the data is found and interpreted)
HEADER_WORDS = {
    0: "NX", 1: "NY", 2: "NZ", 3: "MODE", 4: "NXSTART", 7: "MX", 8: "MY", 9: "MZ", 10: "CELLA.x",
    16: "MAPC", 17: "MAPR", 18: "MAPS", 22: "ISPG", 23: "NSYMBT", 26: "EXTTYP", 27: "NVERSION",
    36: "packed_bytes.lo", 37: "packed_bytes.hi", 38: "IMOD stamp", 39: "IMOD flags", 52: "MAP",
    53: "MACHST", 55: "NLABL",
}


@dataclass
class Base:
    """A valid file to mutate.

    Attributes
    ----------
    name
        Where it came from (a corpus path or a description of what was written).
    raw
        The MRC/MRCZ bytes (for gzip/bzip2 files, the decompressed content).
    wrap
        'gzip', 'bz2' or None: how ``raw`` is compressed on disk.
    byte_order
        '<' or '>' (the header's).
    data_offset
        1024 + NSYMBT.
    chunks
        (offset, cbytes) of each compressed z-slice; empty for plain MRC.
    """

    name: str
    raw: bytes
    wrap: str | None
    byte_order: str
    data_offset: int
    chunks: list[tuple[int, int]] = field(default_factory=list)


# --------------------------------------------------------------------------------------- base files


def _generated_specs() -> list[tuple[str, np.ndarray, dict[str, Any]]]:
    """Small arrays and write options covering every mode, codec, byte order and dimensionality."""
    rng = np.random.default_rng(12345)
    counts = rng.poisson(3.0, (6, 12, 10))
    return [
        ("f32-3d-zstd-meta", rng.standard_normal((6, 16, 12)).astype(np.float32),
         dict(compressor="zstd", metadata={"voltage": 300, "name": "fuzz ü", "nested": {"a": [1, 2.5, None]}})),
        ("i16-3d-lz4-big", (counts - 3).astype(np.int16), dict(compressor="lz4", endianness=">")),
        ("u16-3d-plain-meta", counts.astype(np.uint16), dict(compressor=None, metadata={"k": "v" * 40})),
        ("i8-2d-blosclz", (counts[0] - 2).astype(np.int8), dict(compressor="blosclz")),
        ("c64-3d-zlib", (rng.standard_normal((4, 8, 8)) + 1j).astype(np.complex64), dict(compressor="zlib")),
        ("u16-4d-lz4hc", counts[:6].reshape(2, 3, 12, 10).astype(np.uint16), dict(compressor="lz4hc")),
        ("f16-3d-plain", rng.standard_normal((3, 8, 8)).astype(np.float16), dict(compressor=None)),
        ("i32-4d-plain-big", counts[:4].reshape(2, 2, 12, 10).astype(np.int32), dict(compressor=None, endianness=">")),
        ("u32-3d-zstd-bigslice", rng.integers(0, 2**32, (3, 40, 40), dtype=np.uint32),
         dict(compressor="zstd", clevel=0)),
        ("f32-3d-zstd-bytesh", rng.standard_normal((5, 20, 20)).astype(np.float32),
         dict(compressor="zstd", shuffle="byte")),
    ]


def _describe_file(raw: bytes, name: str, wrap: str | None, workdir: Path) -> Base:
    """Open ``raw`` with the reader to learn its byte order, data offset and chunk positions."""
    import napari_mrcz as nm

    probe = workdir / "probe.bin"
    probe.write_bytes(raw)
    with nm.open_mrc(probe, strict=False) as info:
        chunks = []
        if info.chunk_index is not None:
            chunks = [(int(o), int(c)) for o, c in zip(info.chunk_index.offsets, info.chunk_index.cbytes)]
        base = Base(name, raw, wrap, info.header.byte_order, info.header.data_offset, chunks)
    probe.unlink()
    return base


def make_bases(workdir: Path) -> list[Base]:
    """The valid files the fuzzer starts from: generated ones, then the corpus's (≤ 1 MiB).

    Parameters
    ----------
    workdir
        A scratch folder.

    Returns
    -------
    list of Base
        In a fixed order, so that a seed and case number always name the same mutation.
    """
    import napari_mrcz as nm

    bases = []
    for name, data, options in _generated_specs():
        path = workdir / f"{name}.mrcz"
        nm.write(path, data, **options)
        bases.append(_describe_file(path.read_bytes(), f"generated:{name}", None, workdir))
        path.unlink()
    # wrapped copies: a plain file in gzip, an MRCZ file in bzip2
    bases.append(_with_wrap(bases[2], "gzip"))
    bases.append(_with_wrap(bases[0], "bz2"))
    for entry in corpus_entries("real") + corpus_entries("mrcz"):
        path = TESTDATA / entry["path"]
        if not path.is_file() or path.stat().st_size > MAX_BASE_BYTES:
            continue
        head = path.read_bytes()
        wrap = "gzip" if head[:2] == b"\x1f\x8b" else "bz2" if head[:3] == b"BZh" else None
        raw = gzip.decompress(head) if wrap == "gzip" else bz2.decompress(head) if wrap == "bz2" else head
        if len(raw) > MAX_BASE_BYTES:
            continue
        bases.append(_describe_file(raw, f"corpus:{entry['path']}", wrap, workdir))
    return bases


def _with_wrap(base: Base, wrap: str) -> Base:
    return Base(base.name + f"+{wrap}", base.raw, wrap, base.byte_order, base.data_offset, base.chunks)


def wrap_bytes(raw: bytes, wrap: str | None) -> bytes:
    """``raw`` compressed as the base file was on disk (gzip level 1 / bzip2 level 1 for speed)."""
    if wrap == "gzip":
        return gzip.compress(raw, compresslevel=1, mtime=0)
    if wrap == "bz2":
        return bz2.compress(raw, compresslevel=1)
    return raw


# ----------------------------------------------------------------------------------------- mutations

Mutation = Callable[[bytearray, Base, np.random.Generator], str]


def _pick(rng: np.random.Generator, options: Any) -> Any:
    return options[int(rng.integers(len(options)))]


def _i32_value(rng: np.random.Generator, original: int) -> int:
    """An int32 likely to break something: edge values, neighbours of the original, or random."""
    kind = rng.random()
    if kind < 0.45:
        return int(_pick(rng, _INTERESTING_I32))
    if kind < 0.75:
        delta = int(_pick(rng, (-2, -1, 1, 2)))
        candidates = (original + delta, original * 2, original // 2, original * 1000, -original)
        value = int(_pick(rng, candidates))
        return int(np.clip(value, -I32, I32 - 1))
    if kind < 0.85:
        return int(struct.unpack("<i", struct.pack(">i", int(np.clip(original, -I32, I32 - 1))))[0])
    return int(rng.integers(-I32, I32))


def _mode_value(rng: np.random.Generator, original: int) -> int:
    mrc = int(_pick(rng, (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 101, 102, 255)))
    comp = int(_pick(rng, (0, 0, 1, 2, 3, 4, 5, 6, 7, 15, 99, 2147)))
    value = comp * 1000 + mrc if rng.random() < 0.8 else _i32_value(rng, original)
    return int(np.clip(value, -I32, I32 - 1))


def mutate_header_word(buf: bytearray, base: Base, rng: np.random.Generator) -> str:
    """Replace one 32-bit header word (mostly the ones that steer reading) with a hostile value."""
    word = int(_pick(rng, list(HEADER_WORDS))) if rng.random() < 0.85 else int(rng.integers(0, 256))
    name = HEADER_WORDS.get(word, f"word{word + 1}")
    at = 4 * word
    order = base.byte_order if rng.random() < 0.9 else ("<" if base.byte_order == ">" else ">")
    if name == "MACHST":
        value = bytes(_pick(rng, _STAMPS)) if rng.random() < 0.8 else rng.bytes(4)
        buf[at : at + 4] = value
        return f"MACHST={value.hex()}"
    if name == "EXTTYP" or name == "MAP":
        value = bytes(_pick(rng, _EXTTYPS + (b"MAP ", b"PAM "))) if rng.random() < 0.8 else rng.bytes(4)
        buf[at : at + 4] = value
        return f"{name}={value!r}"
    original = struct.unpack_from(order + "i", buf, at)[0]
    if name == "MODE":
        value = _mode_value(rng, original)
    elif name in ("MAPC", "MAPR", "MAPS"):
        value = int(_pick(rng, (-1, 0, 1, 2, 3, 4, 255))) if rng.random() < 0.8 else _i32_value(rng, original)
    elif name == "ISPG":
        value = int(_pick(rng, (0, 1, 2, 400, 401, 402, 630, 631, -1)))
    elif name == "NSYMBT":
        size = len(buf) - 1024
        value = int(_pick(rng, (size, size - 1, size + 1, 0, 4, 16, 1, -1, I32 - 1, base.data_offset - 1024 + 1)))
    elif name in ("MX", "MY", "MZ", "NZ") and rng.random() < 0.4:
        value = int(_pick(rng, (0, 1, 2, 3, 4, 5, 6, 7, 12, 24)))
    else:
        value = _i32_value(rng, original)
    struct.pack_into(order + "i", buf, at, value)
    return f"{name}: {original} -> {value} ({order})"


def mutate_chunk_header(buf: bytearray, base: Base, rng: np.random.Generator) -> str:
    """Corrupt one field of one blosc chunk header (or the bytes just after it)."""
    if not base.chunks:
        return mutate_header_word(buf, base, rng)
    i = 0 if rng.random() < 0.4 else int(rng.integers(len(base.chunks)))
    at, cbytes = base.chunks[i]
    if at + 16 > len(buf):
        return "chunk header beyond the end (no-op)"
    field_name = _pick(
        rng, ("version", "versionlz", "flags", "typesize", "nbytes", "blocksize", "cbytes", "after", "random16")
    )
    if field_name in ("version", "versionlz", "flags", "typesize"):
        pos = at + ("version", "versionlz", "flags", "typesize").index(field_name)
        if field_name == "version":
            value = int(_pick(rng, (0, 1, 2, 3, 4, 5, 6, 255)))
        elif field_name == "typesize":
            value = int(_pick(rng, (0, 1, 2, 3, 4, 5, 8, 16, 255)))
        elif field_name == "flags" and rng.random() < 0.6:
            value = buf[pos] ^ (1 << int(rng.integers(8)))
        else:
            value = int(rng.integers(256))
        old = buf[pos]
        buf[pos] = value
        return f"chunk {i} {field_name}: {old} -> {value}"
    if field_name in ("nbytes", "blocksize", "cbytes"):
        pos = at + {"nbytes": 4, "blocksize": 8, "cbytes": 12}[field_name]
        old = struct.unpack_from("<I", buf, pos)[0]
        nbytes = struct.unpack_from("<I", buf, at + 4)[0]
        related = (old - 1, old + 1, old * 2, old // 2, nbytes, nbytes + 1, nbytes * 2, cbytes, len(buf) - at)
        value = int(_pick(rng, _INTERESTING_U32 + related)) % 2**32
        struct.pack_into("<I", buf, pos, value)
        return f"chunk {i} {field_name}: {old} -> {value}"
    if field_name == "after":  # blosc1 block starts (bstarts) or the blosc2 extended header
        span = max(1, min(cbytes, 96) - 16)
        pos = at + 16 + 4 * int(rng.integers(max(1, span // 4)))
        if pos + 4 > len(buf):
            return "chunk tail beyond the end (no-op)"
        value = int(_pick(rng, _INTERESTING_U32 + (cbytes, cbytes - 1, cbytes + 1)))
        struct.pack_into("<I", buf, pos, value)
        return f"chunk {i} u32 at +{pos - at}: -> {value}"
    buf[at : at + 16] = rng.bytes(16)
    return f"chunk {i} header replaced by random bytes"


def mutate_data_bytes(buf: bytearray, base: Base, rng: np.random.Generator) -> str:
    """Flip bits or overwrite runs in the data (for MRCZ, inside one chunk's payload)."""
    start = base.data_offset
    stop = len(buf)
    if base.chunks and rng.random() < 0.7:
        i = int(rng.integers(len(base.chunks)))
        at, cbytes = base.chunks[i]
        start, stop = at + 16, min(at + cbytes, len(buf))
    if stop <= start:
        start, stop = min(1024, len(buf) - 1), len(buf)
    kind = rng.random()
    if kind < 0.5:
        flips = int(rng.integers(1, 9))
        for _ in range(flips):
            pos = int(rng.integers(start, stop))
            buf[pos] ^= 1 << int(rng.integers(8))
        return f"{flips} bit flips in bytes {start}-{stop}"
    run = int(rng.integers(1, 65))
    pos = int(rng.integers(start, stop))
    fill = _pick(rng, ("zero", "ff", "random"))
    value = bytes(run) if fill == "zero" else b"\xff" * run if fill == "ff" else rng.bytes(run)
    end = min(pos + run, len(buf))
    buf[pos:end] = value[: end - pos]
    return f"{fill} run of {end - pos} bytes at {pos}"


def mutate_structure(buf: bytearray, base: Base, rng: np.random.Generator) -> str:
    """Cut, extend, splice or reorder the file; corrupt the extended header."""
    kind = _pick(rng, ("truncate", "truncate", "append", "insert", "delete", "swap_chunks", "ext_header", "ext_json"))
    n = len(buf)
    if kind == "truncate":
        points = [int(rng.integers(0, n + 1)), 1023, 1024, base.data_offset, base.data_offset + 1, n - 1]
        points += [o + d for o, _ in base.chunks for d in (0, 1, 15, 16)] if base.chunks else []
        cut = max(0, min(n, int(_pick(rng, points))))
        del buf[cut:]
        return f"truncated to {cut} of {n} bytes"
    if kind == "append":
        extra = rng.bytes(int(rng.integers(1, 4097)))
        buf.extend(extra)
        return f"appended {len(extra)} random bytes"
    if kind == "insert":
        pos = int(rng.integers(0, n + 1))
        extra = rng.bytes(int(rng.integers(1, 64)))
        buf[pos:pos] = extra
        return f"inserted {len(extra)} bytes at {pos}"
    if kind == "delete":
        pos = int(rng.integers(0, n))
        count = int(rng.integers(1, 64))
        del buf[pos : pos + count]
        return f"deleted {count} bytes at {pos}"
    if kind == "swap_chunks" and len(base.chunks) >= 2:
        i, j = sorted(int(x) for x in rng.choice(len(base.chunks), 2, replace=False))
        (ai, ci), (aj, cj) = base.chunks[i], base.chunks[j]
        a, b = bytes(buf[ai : ai + ci]), bytes(buf[aj : aj + cj])
        buf[aj : aj + cj] = a  # the later chunk first, so the earlier offset stays valid
        buf[ai : ai + ci] = b
        return f"swapped compressed slices {i} and {j}"
    if kind == "ext_json" or base.data_offset == 1024:
        # claim a JSON extended header over whatever follows the header
        size = int(_pick(rng, (1, 2, 16, 64, max(1, n - 1024))))
        order = base.byte_order
        struct.pack_into(order + "i", buf, 92, size)
        buf[104:108] = b"json"
        return f"EXTTYP json, NSYMBT {size}"
    length = base.data_offset - 1024
    payload = _pick(rng, ("random", "badutf8", "deep", "list"))
    if payload == "random":
        value = rng.bytes(length)
    elif payload == "badutf8":
        value = (b"{\"k\": \"\xff\xfe\"}" * length)[:length]
    elif payload == "deep":
        value = (b"[" * length)[: length - 1] + b"]" if length > 1 else b"["
    else:
        value = (b"[1, 2, 3]" + b" " * length)[:length]
    buf[1024 : 1024 + length] = value
    buf[104:108] = b"json"
    return f"extended header ({length} bytes) replaced: {payload}"


_FAMILY_OPS: dict[str, tuple[Mutation, ...]] = {
    "header": (mutate_header_word,),
    "chunks": (mutate_chunk_header,),
    "data": (mutate_data_bytes,),
    "structure": (mutate_structure,),
    "mixed": (mutate_header_word, mutate_chunk_header, mutate_data_bytes, mutate_structure),
}


def make_case(family: str, seed: int, case: int, bases: list[Base]) -> tuple[Base, bytes, list[str]]:
    """The mutated file of one case: its base, its bytes on disk, and what was done to it.

    Parameters
    ----------
    family
        One of :data:`FAMILIES`.
    seed, case
        Together they fix the random choices.
    bases
        From :func:`make_bases`.
    """
    rng = np.random.default_rng([seed, FAMILIES.index(family), case])
    pool = [b for b in bases if b.chunks] if family == "chunks" else bases
    base = pool[int(rng.integers(len(pool)))]
    buf = bytearray(base.raw)
    ops = _FAMILY_OPS[family]
    steps = int(rng.integers(1, 4)) if family in ("header", "mixed") else int(rng.integers(1, 3))
    done = []
    for _ in range(steps):
        op = _pick(rng, ops)
        try:
            done.append(op(buf, base, rng))
        except (struct.error, IndexError, ValueError):  # an earlier step cut the file too short
            done.append(f"{op.__name__} skipped: file cut to {len(buf)} bytes")
    disk = wrap_bytes(bytes(buf), base.wrap)
    if base.wrap and family in ("structure", "mixed") and rng.random() < 0.3:
        cut = int(rng.integers(0, len(disk)))
        disk = disk[:cut]  # a cut compressed stream
        done.append(f"{base.wrap} stream truncated to {cut} bytes")
    return base, disk, done


# -------------------------------------------------------------------------------------------- worker


def _read_both(path: Path) -> dict[str, Any]:
    """Read ``path`` eagerly and lazily; returns each outcome (array, MrczError, or a failure text)."""
    import napari_mrcz as nm

    outcomes: dict[str, Any] = {}
    for how in ("eager", "lazy", "eager-permissive", "rows"):
        try:
            if how == "eager":
                outcomes[how] = nm.read(path).data
            elif how == "lazy":
                outcomes[how] = np.asarray(nm.read(path, lazy=True).data.compute())
            elif how == "rows":  # the middle row of every slice: partial decode of compressed files
                from napari_mrcz.io.reader.array import MrcArray

                rows = MrcArray(nm.open_mrc(path))
                outcomes[how] = rows[(slice(None),) * (rows.ndim - 2) + (rows.shape[-2] // 2,)]
            else:
                outcomes[how] = nm.read(path, strict=False).data
        except nm.MrczError as err:
            outcomes[how] = err
        except Exception as err:  # noqa: BLE001 - the point is to catch everything else
            outcomes[how] = f"{type(err).__name__}: {err}\n{traceback.format_exc()}"
    return outcomes


def check_case(path: Path) -> list[str]:
    """Problems with reading one mutated file (empty when it read or raised MrczError properly).

    Parameters
    ----------
    path
        The mutated file.
    """
    import napari_mrcz as nm

    problems = []
    outcomes = _read_both(path)
    for how, got in outcomes.items():
        if isinstance(got, str):
            problems.append(f"{how} read raised a non-MrczError: {got}")
        elif isinstance(got, nm.MrczError) and path.name not in str(got):
            problems.append(f"{how} read: MrczError message does not name the file: {got!r}")
    eager, lazy, rows = outcomes["eager"], outcomes["lazy"], outcomes["rows"]
    if isinstance(eager, np.ndarray) and isinstance(rows, np.ndarray):
        middle = eager[(slice(None),) * (eager.ndim - 2) + (eager.shape[-2] // 2,)]
        if not np.array_equal(np.ascontiguousarray(middle).view(np.uint8), np.ascontiguousarray(rows).view(np.uint8)):
            problems.append("a partial read of the middle rows differs from the eager read")
    if isinstance(eager, np.ndarray) and isinstance(lazy, np.ndarray):
        if eager.shape != lazy.shape or eager.dtype != lazy.dtype:
            problems.append(f"eager {eager.shape} {eager.dtype} != lazy {lazy.shape} {lazy.dtype}")
        elif not np.array_equal(np.ascontiguousarray(eager).view(np.uint8), np.ascontiguousarray(lazy).view(np.uint8)):
            problems.append("eager and lazy reads differ")
    elif isinstance(eager, np.ndarray) != isinstance(lazy, np.ndarray) and not (
        isinstance(eager, str) or isinstance(lazy, str)
    ):
        error = lazy if isinstance(eager, np.ndarray) else eager
        problems.append(f"eager {type(eager).__name__} but lazy {type(lazy).__name__}: {error}")
    return problems


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def run_worker(args: argparse.Namespace) -> int:
    """Run cases ``start .. start + cases - 1`` of one family; write a JSON report to ``args.out``."""
    import dask

    import napari_mrcz as nm  # noqa: F401 - imported before the memory limit is set

    warnings.simplefilter("ignore")
    faulthandler.enable()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    bases = make_bases(workdir)
    # warm up: one eager and one lazy read, so thread pools and arenas exist before the limit
    warm = workdir / "warm.mrcz"
    warm.write_bytes(bases[0].raw)
    check_case(warm)
    dask.config.set(scheduler="threads")
    limit = args.as_mb * 2**20
    used = _status_kb("VmSize") * 1024
    if used > limit - 256 * 2**20:
        print(f"worker already uses {used >> 20} MiB of address space; raise NAPARI_MRCZ_FUZZ_AS_MB", file=sys.stderr)
        return 3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    failures: list[dict[str, Any]] = []
    progress = open(args.progress, "w", buffering=1) if args.progress else None  # noqa: SIM115
    slowest = (0.0, -1)
    for case in range(args.start, args.start + args.cases):
        if progress:
            progress.write(f"{case}\t(building the mutated file)\n")
        base, disk, done = make_case(args.family, args.seed, case, bases)
        path = workdir / f"case-{case}.mrc"
        path.write_bytes(disk)
        if progress:
            progress.write(f"{case}\t{base.name}\t{'; '.join(done)}\n")
        faulthandler.dump_traceback_later(CASE_WATCHDOG_S, exit=True)
        t0 = time.perf_counter()
        problems = check_case(path)
        elapsed = time.perf_counter() - t0
        faulthandler.cancel_dump_traceback_later()
        slowest = max(slowest, (elapsed, case))
        if elapsed > CASE_SLOW_S:
            problems.append(f"took {elapsed:.1f} s")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if rss - rss0 > RSS_GROWTH_LIMIT:
            problems.append(f"peak RSS grew by {(rss - rss0) >> 20} MiB")
            rss0 = rss
        if problems:
            failures.append({"case": case, "base": base.name, "mutations": done, "problems": problems})
            if args.keep:
                print(f"kept {path}", file=sys.stderr)
        if not args.keep:
            path.unlink()
        if args.verbose:
            print(f"case {case} [{base.name}] {'; '.join(done)} -> {problems or 'ok'} ({elapsed * 1e3:.1f} ms)")
    report = {"family": args.family, "seed": args.seed, "start": args.start, "cases": args.cases,
              "failures": failures, "slowest": {"seconds": slowest[0], "case": slowest[1]}, "bases": len(bases)}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="napari-mrcz reader fuzz worker")
    p.add_argument("--family", choices=FAMILIES, required=True)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--cases", type=int, default=100)
    p.add_argument("--as-mb", type=int, default=DEFAULT_AS_MB)
    p.add_argument("--workdir", default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--progress", default=None)
    p.add_argument("--keep", action="store_true", help="keep the mutated files of failing cases")
    p.add_argument("--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry of the worker (see the module docstring)."""
    args = _parser().parse_args(argv)
    if args.workdir is None:
        args.workdir = tempfile.mkdtemp(prefix="napari-mrcz-fuzz-")
    return run_worker(args)


# --------------------------------------------------------------------------------------------- tests


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def _family_cases(family: str) -> int:
    total = _env_int("NAPARI_MRCZ_FUZZ_CASES", DEFAULT_CASES)
    return max(1, round(total * _FAMILY_SHARE[family]))


def _signal_name(returncode: int) -> str:
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def _last_case(progress: Path) -> str:
    lines = progress.read_text().splitlines() if progress.exists() else []
    return lines[-1] if lines else "(no case started)"


def _format_failures(report: dict[str, Any], limit: int = 12) -> str:
    out = []
    for f in report["failures"][:limit]:
        rerun = (f"python tests/test_fuzz.py --family {report['family']} --seed {report['seed']} "
                 f"--start {f['case']} --cases 1 --verbose --keep")
        problems = "\n      ".join(p.strip().replace("\n", "\n      ")[:1500] for p in f["problems"])
        out.append(f"case {f['case']} [{f['base']}] {'; '.join(f['mutations'])}\n  rerun: {rerun}\n      {problems}")
    more = len(report["failures"]) - limit
    return "\n".join(out) + (f"\n... and {more} more" if more > 0 else "")


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_fuzz_family(family: str, tmp_path: Path) -> None:
    """A family of mutated files: each reads or raises MrczError, eagerly and lazily, within limits."""
    seed = _env_int("NAPARI_MRCZ_FUZZ_SEED", DEFAULT_SEED)
    cases = _family_cases(family)
    out, progress = tmp_path / "report.json", tmp_path / "progress.tsv"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--family", family, "--seed", str(seed),
           "--cases", str(cases), "--as-mb", str(_env_int("NAPARI_MRCZ_FUZZ_AS_MB", DEFAULT_AS_MB)),
           "--workdir", str(tmp_path / "work"), "--out", str(out), "--progress", str(progress)]
    env = dict(os.environ, MALLOC_ARENA_MAX="2", PYTHONFAULTHANDLER="1")
    timeout = 120 + 0.2 * cases
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path)
    except subprocess.TimeoutExpired as err:
        raise AssertionError(
            f"fuzz worker ({family}, seed {seed}) did not finish in {timeout:.0f} s; "
            f"last case started: {_last_case(progress)}\n{(err.stderr or b'')[-3000:]!r}"
        ) from None
    if proc.returncode != 0:
        raise AssertionError(
            f"fuzz worker ({family}, seed {seed}) died with {_signal_name(proc.returncode)} "
            f"(a crash, a hang caught by the {CASE_WATCHDOG_S:.0f} s watchdog, or the memory limit); "
            f"last case started: {_last_case(progress)}\nstderr:\n{proc.stderr[-4000:]}"
        )
    report = json.loads(out.read_text())
    assert report["cases"] == cases
    assert not report["failures"], (
        f"{len(report['failures'])} of {cases} {family} cases failed (seed {seed}):\n" + _format_failures(report)
    )


if __name__ == "__main__":
    sys.exit(main())
