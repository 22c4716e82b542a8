"""Read, write and view MRC2014 and MRCZ (blosc-compressed MRC) files: a core codec, a napari
plugin, a RosettaSciIO-compatible API and a command-line tool.

The package is layered; each layer imports only the ones above it in this list:

- :mod:`napari_mrcz.errors` — the exception and warning types every layer raises.
- :mod:`napari_mrcz.format` — the bytes on disk (header, modes, blosc chunk headers, metadata); no I/O.
- :mod:`napari_mrcz.io` — sources, codec, reader, lazy arrays, writer, validation.
- front-ends, which parse no bytes: :mod:`napari_mrcz.plugin` (napari), :mod:`napari_mrcz.cli`
  (command line), :mod:`napari_mrcz.rsciio` (RosettaSciIO-compatible API) and
  :mod:`napari_mrcz.fuse` (FUSE: ``.mrcz`` as plain ``.mrc``; imported on first use of ``mount``).
"""

from __future__ import annotations

from ._version import __version__
from .errors import (ChunkError, HeaderError, MrczError, MrczWarning, ReadOnlyTargetError, RemoteError, UnsupportedError,
                     VerifyError)
from .values.dtypes import storage_dtype
from .format.header import Header
from .values.noise import suggest_tolerance
from .io.batch import ConvertResult, convert_many
from .io.reader.file import MrcFileInfo, open_mrc
from .io.reader.read import MrcImage
from .io.writer.mrcz_writer import MrczWriter
from .io.validate import Problem, validate
from .io.writer.write import write_async
from .io.zarr.dispatch import convert_file, read, write  # OME-Zarr by name; MRC/MRCZ otherwise
from .io.writer.add_pyramid import add_pyramid

__all__ = [
    "add_pyramid",
    "ChunkError",
    "ConvertResult",
    "Header",
    "HeaderError",
    "MrcFileInfo",
    "MrcImage",
    "MrczError",
    "MrczWriter",
    "Problem",
    "MrczWarning",
    "RemoteError",
    "ReadOnlyTargetError",
    "UnsupportedError",
    "VerifyError",
    "__version__",
    "convert_file",
    "convert_many",
    "open_mrc",
    "read",
    "storage_dtype",
    "suggest_tolerance",
    "mount",
    "validate",
    "write",
    "write_async",
    "references",
]


def __getattr__(name: str) -> object:
    """``mount`` and ``references`` on first use: importing napari_mrcz must load neither mfusepy (nor
    need libfuse) nor zarr."""
    if name == "mount":
        import importlib

        return importlib.import_module(".fuse.control", __name__).mount
    if name == "references":
        from .io.zarr.references import references

        return references
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
