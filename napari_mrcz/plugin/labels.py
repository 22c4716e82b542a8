"""Segmentations: napari Labels layers to ``.mrc`` / ``.mrcz``, and files written from them back as Labels.

Labels are stored in the smallest integer mode that holds every label, preferring modes other programs
read: mode 0 (int8, labels -128..127; IMOD reads mode 0 as unsigned bytes, which agrees on 0..127),
mode 1 (int16), mode 6 (uint16), and only beyond those mrcz's mode 7 (int32) and, for non-negative
labels above 2³¹−1, mode 8 (uint32), which mrcfile, IMOD and ChimeraX cannot read. A file written from a Labels layer carries one MRC header label,
:data:`LABELS_MARKER`; other readers ignore it, ours opens such files as Labels again. Nothing is
added to the user's JSON metadata.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import MrczError
from ..format.names import COMPRESSED_SUFFIX, with_default_suffix
from ..values.dtypes import first_fitting
from .writer import default_codec, save_image, writer_hook

LABELS_MARKER = "napari-mrcz labels"
"""The MRC header label that marks a file written from a napari Labels layer."""
LABEL_DTYPES = (np.dtype("i1"), np.dtype("i2"), np.dtype("u2"), np.dtype("i4"), np.dtype("u4"))
"""Modes 0, 1, 6, 7, 8: tried in this order, the first that holds every label is written."""


def value_range(data: Any) -> tuple[int, int]:
    """(min, max) of integer or bool label data (numpy, dask or any array-like) in one pass."""
    if hasattr(data, "dask"):
        import dask

        low, high = dask.compute(data.min(), data.max())
    else:
        values = np.asarray(data)
        low, high = values.min(), values.max()
    return int(low), int(high)


def labels_dtype(data: Any) -> np.dtype:
    """The smallest of :data:`LABEL_DTYPES` that holds every label of ``data``.

    Raises
    ------
    MrczError
        The data is not integer (or bool), or holds labels no integer MRC mode holds (below −2³¹, or
        above 2³²−1, or both negative labels and labels above 2³¹−1).
    """
    dtype = np.dtype(data.dtype)
    if dtype.kind not in "iub":
        raise MrczError(f"labels must be integers, not {dtype}")
    low, high = value_range(data)
    fitting = first_fitting(low, high, LABEL_DTYPES)
    if fitting is not None:
        return fitting
    raise MrczError(
        f"labels {low}..{high} fit no integer MRC mode (int32 holds −2³¹..2³¹−1, uint32 0..2³²−1); "
        "renumber the labels"
    )


def save_labels(path: str | os.PathLike[str], data: Any, attributes: dict[str, Any], *,
                compressor: str | None, clevel: int = 1, **options: Any) -> str:
    """Write one Labels layer (first level of a multiscale one) in :func:`labels_dtype`, marked with
    :data:`LABELS_MARKER`; scale, translate, units and metadata as for images; ``options`` are
    :func:`writer.save_image`'s (shuffle, n_threads, progress)."""
    if attributes.get("multiscale") or isinstance(data, (list, tuple)):
        data = data[0]
    if not hasattr(data, "astype"):  # a lazy array-like (our MrcArray): napari's dask wrapper streams it
        import dask.array as da

        data = da.from_array(data, chunks=(1,) * (data.ndim - 2) + tuple(data.shape[-2:]))
    data = data.astype(labels_dtype(data))  # numpy, or lazily for dask
    return str(save_image(path, data, attributes, compressor=compressor, clevel=clevel, labels=(LABELS_MARKER,),
                          **options))


@writer_hook
def write_labels_mrcz(path: str, data: Any, attributes: dict[str, Any]) -> list[str]:
    """npe2 single-layer writer: a Labels layer to MRCZ with the default codec."""
    compressor, clevel = default_codec()
    return [save_labels(with_default_suffix(path, COMPRESSED_SUFFIX), data, attributes, compressor=compressor, clevel=clevel)]


@writer_hook
def write_labels_mrc(path: str, data: Any, attributes: dict[str, Any]) -> list[str]:
    """npe2 single-layer writer: a Labels layer to plain MRC2014."""
    return [save_labels(with_default_suffix(path, ".mrc"), data, attributes, compressor=None)]
