"""Read MRC/MRCZ files into numpy (eager) or dask (lazy) arrays: :func:`read` and :class:`MrcImage`.

Built on :func:`opener.open_mrc`, which reads everything but the voxels, and :mod:`lazy`, which
reads slices on demand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import MrczError
from ...format.header import Header
from ...format.identity import Strictness
from ...values.quantize import tolerance_from_labels
from .lazy import as_dask
from .file import MrcFileInfo, PathLike, open_mrc

if TYPE_CHECKING:
    import dask.array


def _check_memory(info: MrcFileInfo) -> None:
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if info.nbytes > physical:
        raise MrczError(
            f"{info.path}: {info.nbytes / 1e9:.1f} GB of data does not fit in this machine's "
            f"{physical / 1e9:.1f} GB of memory; read it with lazy=True"
        )


@dataclass(frozen=True)
class MrcImage:
    """What :func:`read` returns.

    Attributes
    ----------
    data
        numpy array, or dask array when read lazily; z, y, x order (2-D for single images,
        4-D (volume, z, y, x) for volume stacks); native byte order.
    voxel_size
        (z, y, x) in Å.
    metadata
        The user's JSON metadata exactly as written; ``{}`` when there is none.
    header
        The decoded header (voltage, C3, gain, compressor, extended-header type, ...).
    path
        The file read (the URL, a str, for remote files).
    units
        The unit of ``voxel_size`` and ``origin``.
    origin
        Position of voxel [0, 0, 0] in Å, (z, y, x), as ChimeraX places it (see
        :attr:`MrcFileInfo.origin`).
    tilt_angles
        Tilt angles in degrees, one per z-slice, or None (see :attr:`MrcFileInfo.tilt_angles`).
    """

    data: np.ndarray | dask.array.Array | list[Any]
    voxel_size: tuple[float, float, float]
    metadata: dict[str, Any]
    header: Header
    path: Path | str
    units: str = "Å"
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tilt_angles: np.ndarray | None = None

    @property
    def tolerance(self) -> float | None:
        """Bound on |stored - original| when the file was written with ``tolerance`` (lossy by the
        writer's choice), in the data's units; None when the data was stored exactly."""
        return tolerance_from_labels(self.header.labels)

    @property
    def axis_labels(self) -> tuple[str, ...]:
        """Names of the data's axes ('z', 'y', 'x'; a leading 'volume' for volume stacks)."""
        names = ("volume", "z", "y", "x")
        return names[-np.ndim(self.data[0] if isinstance(self.data, list) else self.data) :]


def read(
    path: PathLike | MrcFileInfo,
    *,
    lazy: bool = False,
    n_threads: int | None = None,
    strict: Strictness = "auto",
    storage_options: dict[str, Any] | None = None,
    multiscale: bool = False,
) -> MrcImage:
    """Read an MRC or MRCZ file (or a ``.gz``/``.bz2`` of one).

    Parameters
    ----------
    path
        The file (str, bytes or os.PathLike), a URL (``https://``, ``s3://``, any fsspec URL; see
        :func:`open_mrc`), or a file already opened with :func:`open_mrc` (not opened again).
    lazy
        Return a dask array with one chunk per z-slice; nothing is decompressed until computed.
        Plain files are read slice by slice with positional reads (``pread``), not memory-mapped;
        gzip/bzip2 files are decompressed into memory first.
    n_threads
        blosc threads for decompression (None: all cores, at most 8).
    strict
        True, "auto" (default) or False: how to treat files without the MAP ID and machine stamp;
        see :func:`open_mrc`.
    storage_options
        See :func:`open_mrc`.
    multiscale
        Return a list of arrays, full resolution first, each next one halving y and x (and z for
        volumes) by 2×2(×2) means down to at most 1024 px per halved side and 1 GiB
        (:mod:`napari_mrcz.io.reader.multiscale`): dask arrays computed on demand when ``lazy``, else numpy
        arrays.

    Raises
    ------
    MrczError
        The file is not readable MRC/MRCZ, is truncated or corrupt, or is too big for memory
        when read eagerly; the message says which and where.
    OSError
        The file cannot be opened.
    """
    info = path if isinstance(path, MrcFileInfo) else open_mrc(path, strict=strict, storage_options=storage_options)
    if lazy:
        data: Any = as_dask(info, n_threads=n_threads)
    else:
        with info:
            _check_memory(info)
            try:
                data = info.to_output(info.read_slices(0, info.header.nz, n_threads))
            except MemoryError:
                raise MrczError(
                    f"{info.path}: {info.nbytes} bytes of data do not fit in this process's memory; "
                    "read it with lazy=True"
                ) from None
    if multiscale:
        from .multiscale import dask_levels, numpy_levels

        data = dask_levels(info, data, n_threads) if lazy else numpy_levels(info, data)
    return MrcImage(
        data, info.voxel_size, info.metadata, info.header, info.path, origin=info.origin, tilt_angles=info.tilt_angles
    )
