"""Shared checkers (numcodecs' common.py style): every backend and option runs the same assertions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import napari_mrcz as nm


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
