"""The package's exception and warning types.

Every problem with a file's content or with a caller's arguments raises :class:`MrczError` (or one of
its subclasses), a ``ValueError``, so RosettaSciIO-style ``except ValueError`` code keeps working.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass


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


@dataclass(frozen=True)
class Finding:
    """Something odd about a file that does not stop it being read or written (a value, not a warning yet).

    Checks return findings; readers warn with them (:meth:`warn`: an :class:`MrczWarning` reading
    ``source: message``) and :func:`napari_mrcz.validate` lists their messages: one message, two
    outlets, as mrcfile does, without changing the process's warning filters. Calls with a
    ``findings`` keyword (:func:`napari_mrcz.write`, :func:`napari_mrcz.convert_file`,
    :class:`napari_mrcz.MrczWriter`, ...) warn with theirs by default, or append them to the list
    given (:meth:`report`): how code on worker threads gets one call's findings, since the warnings
    machinery (``catch_warnings``, filters) is process-wide and not thread-safe.
    """

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"

    def warn(self, stacklevel: int = 2) -> None:
        """Warn with this finding as an :class:`MrczWarning`; ``stacklevel`` as for ``warnings.warn``
        from the caller's point of view."""
        warnings.warn(str(self), MrczWarning, stacklevel=stacklevel + 1)

    def report(self, findings: list[Finding] | None, stacklevel: int = 2) -> None:
        """Append this finding to ``findings``, or warn with it (:meth:`warn`, ``stacklevel`` from the
        caller's point of view) when that is None: what a call given ``findings=`` does with each."""
        if findings is None:
            self.warn(stacklevel + 1)
        else:
            findings.append(self)


class ReadOnlyTargetError(PermissionError, MrczError):
    """A writer was asked to replace a read-only file (``overwrite="force"`` replaces it anyway).

    Both a ``PermissionError`` (what ``open(path, "wb")`` raises for such a file) and a :class:`MrczError`.
    """


class RemoteError(MrczError):
    """A remote file cannot be read: network error, HTTP error, cut-off or oversized response, a server
    that ignores ``Range`` or takes longer than the deadline, or a file that changed since it was opened."""
