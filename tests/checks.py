"""Shared checkers (numcodecs' common.py style): every backend and option runs the same assertions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import napari_mrcz as nm

PLUGIN = "napari-mrcz"
"""The plugin's npe2 name, as napari.yaml declares it."""


def assert_roundtrip(path: Path, data: np.ndarray, **write_options: Any) -> nm.MrcImage:
    """Write ``data``, read it eagerly and lazily, and assert both equal it bit for bit."""
    nm.write(path, data, **write_options)
    eager = nm.read(path)
    lazy = nm.read(path, lazy=True)
    expected = np.asarray(data)
    for got in (eager.data, lazy.data.compute()):
        assert got.shape == expected.shape
        assert got.dtype == expected.dtype.newbyteorder("=")
        assert np.array_equal(got, expected, equal_nan=True)
    assert eager.metadata == (write_options.get("metadata") or {})
    return eager


def random_data(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    """Values that fill ``dtype`` (integers across its whole range, floats and complex normal)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, shape, endpoint=True).astype(dt)


def mrcfile_permissive_data(path: Path) -> np.ndarray:
    """What ``mrcfile.open(path, permissive=True)`` reads (the oracle for files without a MAP ID)."""
    import warnings

    import mrcfile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mrcfile.open(path, permissive=True) as mrc:
            return np.array(mrc.data)


def reads_after_heap_spray(path: Path) -> list[Any]:
    """Read ``path`` eagerly and lazily, each after filling the heap with a different pattern of the
    slice's size: the bytes read, or the MrczError's name. A read that returns memory no chunk wrote
    shows the pattern, so all outcomes are equal only if none does."""
    from napari_mrcz.errors import MrczError
    from napari_mrcz.format.header import parse_header

    slice_bytes = parse_header(path.read_bytes()[:1024]).slice_nbytes
    outcomes: list[Any] = []
    for fill in (0xAA, 0x55):
        for lazy in (False, True):
            spray = [np.full(slice_bytes * k, fill, np.uint8) for k in (1, 4) for _ in range(16)]
            del spray
            try:
                image = nm.read(path, lazy=lazy)
                outcomes.append(np.asarray(image.data.compute() if lazy else image.data).tobytes())
            except MrczError as err:
                outcomes.append(type(err).__name__)
    return outcomes


class FailingArray:
    """An array-like whose reads fail (OSError) after ``after`` of them: a source or store failing midway
    through a write."""

    def __init__(self, data: np.ndarray, after: int, message: str = "source lost") -> None:
        self.data, self.after, self.message = data, after, message
        self.shape, self.dtype = data.shape, data.dtype

    def __getitem__(self, key: Any) -> np.ndarray:
        self.after -= 1
        if self.after < 0:
            raise OSError(self.message)
        return self.data[key]


def layer_tuples(layers: list[Any]) -> list[tuple[Any, dict[str, Any], str]]:
    """The reader's result as layer data tuples (napari >= 0.9 readers return Layer objects), units as
    the reader's short names ('nm', 'angstrom', 'pixel')."""
    out = []
    for layer in layers:
        if isinstance(layer, tuple):
            out.append(layer)
            continue
        data, state, kind = layer.as_layer_data_tuple()
        state["units"] = tuple({"nanometer": "nm"}.get(str(u), str(u)) for u in state["units"])
        state["axis_labels"] = tuple(state["axis_labels"])
        out.append((data, state, kind))
    return out
