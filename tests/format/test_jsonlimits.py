"""Metadata the extended header cannot hold is refused with MrczError before anything is written:
nesting deeper than the JSON reader reads back (not RecursionError), and JSON over NSYMBT's 2^31 - 1
bytes (not OverflowError at close, after all the data). The size check counts a lower bound of the
encoded size without encoding, so these tests need a few MiB, never the 2 GiB."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz import MrczError
from napari_mrcz.format.jsonlimits import MAX_DEPTH, MAX_EXTENDED_BYTES, check_metadata_limits
from napari_mrcz.format.metadata import decode_metadata, encode_metadata

DATA = np.zeros((3, 4, 5), np.float32)


def _nested(depth: int, kind: str) -> dict[str, Any]:
    """A dict whose JSON nests ``depth`` containers deep (the outer dict counts)."""
    inner: Any = 1
    for level in range(depth - 1):
        inner = {"k": inner} if kind == "dicts" or (kind == "mixed" and level % 2) else [inner]
    return {"top": inner}


WRITERS: dict[str, Callable[[Path, dict], Any]] = {
    "write": lambda path, meta: nm.write(path, DATA, metadata=meta),
    "MrczWriter": lambda path, meta: nm.MrczWriter(path, metadata=meta),
    "write_async": lambda path, meta: nm.write_async(path, DATA, metadata=meta).result(),
}


def _assert_refused_before_writing(tmp_path: Path, how: str, metadata: dict, match: str) -> None:
    target = tmp_path / "t.mrcz"
    target.write_bytes(b"old")
    with pytest.raises(MrczError, match=match):
        WRITERS[how](target, metadata)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.mrcz"]  # no temporary file was made


@pytest.mark.slow
@pytest.mark.parametrize("how", sorted(WRITERS))
@pytest.mark.parametrize("kind", ["dicts", "lists", "mixed"])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 5000, 100_000])
def test_too_deep_is_mrcz_error(tmp_path: Path, how: str, kind: str, depth: int) -> None:
    _assert_refused_before_writing(tmp_path, how, _nested(depth, kind), "nested more than")


@pytest.mark.parametrize("kind", ["dicts", "lists", "mixed"])
@pytest.mark.parametrize("depth", [1, 2, 50, MAX_DEPTH])
def test_deep_but_allowed_reads_back(tmp_path: Path, kind: str, depth: int) -> None:
    metadata = _nested(depth, kind)
    nm.write(tmp_path / "d.mrcz", DATA, metadata=metadata)
    assert nm.read(tmp_path / "d.mrcz").metadata == metadata


def _shared_strings(total: int) -> dict[str, str]:
    piece = "x" * 2**20  # one MiB, referred to many times: the JSON repeats it
    return {f"k{i}": piece for i in range(total // 2**20 + 1)}


LARGE: dict[str, Callable[[], dict]] = {
    "shared_string": lambda: _shared_strings(MAX_EXTENDED_BYTES),
    "numpy_array": lambda: {"volume": np.broadcast_to(np.float32(0.5), (2**30,))},  # 4 bytes of memory
    "list_of_arrays": lambda: {"frames": [np.broadcast_to(np.int8(1), (2**28,))] * 4},
    "nested_shared": lambda: {"a": [_shared_strings(2**28)] * 9},
}


@pytest.mark.parametrize("how", sorted(WRITERS))
@pytest.mark.parametrize("kind", sorted(LARGE))
def test_over_two_gib_is_refused_at_once(tmp_path: Path, how: str, kind: str) -> None:
    metadata = LARGE[kind]()
    start = time.perf_counter()
    _assert_refused_before_writing(tmp_path, how, metadata, r"at least \d+ bytes as JSON.*2147483647")
    assert time.perf_counter() - start < 5  # nothing was encoded


@pytest.mark.parametrize("limit", [10, 100, 1000])
def test_lower_bound_never_exceeds_the_encoding(limit: int) -> None:
    """The bound is a lower bound: metadata whose JSON fits is never refused; JSON over the limit by
    more than its punctuation always is."""
    rng = np.random.default_rng(limit)
    for _ in range(200):
        metadata = {f"k{i}": ("é" * int(rng.integers(0, 40)) if rng.random() < 0.5 else
                              [int(v) for v in rng.integers(0, 10**6, int(rng.integers(0, 8)))])
                    for i in range(int(rng.integers(0, 12)))}
        size = len(json.dumps(metadata, ensure_ascii=False).encode())
        if size <= limit:
            check_metadata_limits(metadata, limit)
        elif len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":"))) > 2 * limit:
            with pytest.raises(MrczError):
                check_metadata_limits(metadata, limit)


def test_cycles_and_shared_parts() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(MrczError, match="Circular reference"):
        encode_metadata({"loop": loop})
    shared = {"a": 1}
    assert json.loads(encode_metadata({"x": [shared, shared], "y": shared})) == {"x": [shared, shared], "y": shared}


def test_reader_keeps_pixels_for_json_too_deep_to_read(tmp_path: Path) -> None:
    """A file from another writer with JSON nested beyond the recursion limit: warning, {} metadata."""
    raw = ("[" * 100_000 + "]" * 100_000).encode()
    with pytest.warns(nm.MrczWarning, match="JSON extended header ignored"):
        assert decode_metadata(raw, "json", "other.mrc") == {}
