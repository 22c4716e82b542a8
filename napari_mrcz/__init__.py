"""Read, write and view MRC2014 and MRCZ (blosc-compressed MRC) files: a core codec, a napari
plugin, a RosettaSciIO-compatible API and a command-line tool."""

from __future__ import annotations

from .dtypes import storage_dtype
from .errors import ChunkError, HeaderError, MrczError, MrczWarning, UnsupportedError
from .header import Header
from .reader import MrcFileInfo, MrcImage, open_mrc, read
from .validate import Problem, validate
from .writer import MrczWriter, write, write_async

__version__ = "0.1.0"

__all__ = [
    "ChunkError",
    "Header",
    "HeaderError",
    "MrcFileInfo",
    "MrcImage",
    "MrczError",
    "MrczWriter",
    "Problem",
    "MrczWarning",
    "UnsupportedError",
    "__version__",
    "open_mrc",
    "read",
    "storage_dtype",
    "validate",
    "write",
    "write_async",
]
