"""Read, write and view MRC2014 and MRCZ (blosc-compressed MRC) files: a core codec, a napari
plugin, a RosettaSciIO-compatible API and a command-line tool.

The package is layered; each layer imports only the ones above it in this list:

- :mod:`napari_mrcz.errors` — the exception and warning types every layer raises.
- :mod:`napari_mrcz.format` — the bytes on disk (header, modes, blosc chunk headers, metadata); no I/O.
- :mod:`napari_mrcz.values` — numerics on arrays in memory (dtypes, tolerance, noise); no I/O.
- :mod:`napari_mrcz.io` — storage, codec, reader, writer, statistics, validation, batch conversion.
- front-ends, which parse no bytes: :mod:`napari_mrcz.plugin` (napari), :mod:`napari_mrcz.cli`
  (command line) and :mod:`napari_mrcz.rsciio` (RosettaSciIO-compatible API).

The public names below are imported on first use (PEP 562, as numpy and scipy do), so
``import napari_mrcz`` costs little more than numpy and loads only what a program uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports on first use
    from . import config
    from .errors import (
        ChunkError,
        HeaderError,
        MrczError,
        MrczWarning,
        ReadOnlyTargetError,
        RemoteError,
        UnsupportedError,
        VerifyError,
    )
    from .format.header import Header
    from .io.batch import ConvertResult, convert_many
    from .io.reader.file import MrcFileInfo, open_mrc
    from .fuse.control import mount
    from .io.reader.read import MrcImage
    from .io.validate import Problem, validate
    from .io.writer.add_pyramid import add_pyramid
    from .io.writer.mrcz_writer import MrczWriter
    from .io.writer.write import write_async
    from .io.zarr.dispatch import convert_file, read, write  # OME-Zarr by name; MRC/MRCZ otherwise
    from .io.zarr.references import references
    from .values.dtypes import storage_dtype
    from .values.noise import suggest_tolerance

_WHERE = {
    "add_pyramid": ".io.writer.add_pyramid",
    "ChunkError": ".errors",
    "HeaderError": ".errors",
    "MrczError": ".errors",
    "MrczWarning": ".errors",
    "ReadOnlyTargetError": ".errors",
    "UnsupportedError": ".errors",
    "VerifyError": ".errors",
    "ConvertResult": ".io.batch",
    "convert_many": ".io.batch",
    "Header": ".format.header",
    "MrcFileInfo": ".io.reader.file",
    "open_mrc": ".io.reader.file",
    "MrcImage": ".io.reader.read",
    "read": ".io.zarr.dispatch",
    "RemoteError": ".errors",
    "MrczWriter": ".io.writer.mrcz_writer",
    "Problem": ".io.validate",
    "validate": ".io.validate",
    "convert_file": ".io.zarr.dispatch",
    "write": ".io.zarr.dispatch",
    "write_async": ".io.writer.write",
    "mount": ".fuse.control",  # needs mfusepy (and libfuse) only when used
    "references": ".io.zarr.references",  # needs zarr only when used
    "storage_dtype": ".values.dtypes",
    "suggest_tolerance": ".values.noise",
}
"""Public name → the module that defines it."""

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
    "config",
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


_MODULES = ("config",)
"""Public names that are modules."""


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module("." + name, __name__)
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
