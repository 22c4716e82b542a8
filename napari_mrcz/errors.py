"""The package's exception and warning types.

Every problem with a file's content or with a caller's arguments raises :class:`MrczError` (or one of
its subclasses), a ``ValueError``, so RosettaSciIO-style ``except ValueError`` code keeps working.
"""

from __future__ import annotations


class MrczError(ValueError):
    """A file cannot be read or written as MRC/MRCZ, or an argument is invalid."""


class HeaderError(MrczError):
    """The 1024-byte header or the extended header is malformed or inconsistent with the file."""


class ChunkError(MrczError):
    """A compressed z-slice (blosc chunk) is missing, truncated or inconsistent with the header."""


class UnsupportedError(MrczError):
    """The file or the data uses a mode, compressor or dtype this package cannot handle."""


class VerifyError(MrczError):
    """A converted file does not read back equal to its input (values, voxel size, origin or metadata)."""


class MrczWarning(RuntimeWarning):
    """A recoverable oddity: a file opened without its MAP ID, metadata that cannot be read, a
    compressor asked for with a plain MRC file name."""


class ReadOnlyTargetError(PermissionError, MrczError):
    """A writer was asked to replace a read-only file (``overwrite="force"`` replaces it anyway).

    Both a ``PermissionError`` (what ``open(path, "wb")`` raises for such a file) and a :class:`MrczError`.
    """


class RemoteError(MrczError):
    """A remote file cannot be read: network error, HTTP error, cut-off or oversized response, a server
    that ignores ``Range`` or takes longer than the deadline, or a file that changed since it was opened."""
