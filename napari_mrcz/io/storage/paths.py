"""Paths as callers give them, and whether a writer may replace an existing file.

Every public function takes what the ``os`` module takes: ``str``, ``bytes`` (file system encoding) or
any ``os.PathLike``. Writers replace files by renaming a finished temporary file over them, which the
file's own permissions do not stop (only the folder's); :func:`check_replaceable` makes them refuse a
read-only file as ``open(path, "wb")`` would.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any, Literal, Union

from ...errors import MrczError, ReadOnlyTargetError

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
Overwrite = Union[bool, Literal["force"]]


def as_path(path: Any) -> Path:
    """``path`` (str, bytes or os.PathLike) as a :class:`Path`; bytes are decoded as ``os.fsdecode`` does.

    Raises
    ------
    MrczError
        ``path`` is none of those, or is empty.
    """
    try:
        text = os.fsdecode(path)
    except TypeError:
        raise MrczError(f"a path must be a str, bytes or os.PathLike, not {type(path).__name__}") from None
    if not text:
        raise MrczError("the path is empty")
    return Path(text)


def is_read_only(path: Path) -> bool:
    """True when ``path`` is an existing file nobody may write (no write bit at all, as after
    ``chmod a-w``), or one this process may not write. The mode bits count even for root, whom
    ``os.access`` always lets write."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(mode):
        return False
    effective = os.access in os.supports_effective_ids
    return not mode & 0o222 or not os.access(path, os.W_OK, effective_ids=effective)


def check_replaceable(path: Path, overwrite: Overwrite) -> None:
    """Refuse to write ``path`` where ``overwrite`` does not allow it.

    ``False``: only a new file. ``True``: also replace an existing writable file. ``"force"``: also a
    read-only one (like ``cp -f``; the rename needs only a writable folder).

    Raises
    ------
    MrczError
        ``overwrite`` is not one of those, or ``path`` exists and ``overwrite`` is False, or is a folder.
    ReadOnlyTargetError
        ``path`` is a read-only file and ``overwrite`` is not "force" (also a ``PermissionError``).
    """
    if not (isinstance(overwrite, bool) or (isinstance(overwrite, str) and overwrite == "force")):
        raise MrczError(f"overwrite must be True, False or 'force', not {overwrite!r}")
    if path.is_dir():
        raise MrczError(f"{path} is a folder, not a file name")
    if overwrite is False and os.path.lexists(path):
        raise MrczError(f"{path} exists; pass overwrite=True to replace it")
    if overwrite is True and is_read_only(path):
        raise ReadOnlyTargetError(
            errno.EACCES, "the file is read-only; pass overwrite='force' to replace it anyway", str(path)
        )
