"""Atomic file replacement for the writer: a temporary file beside the target, synced, given the right
mode and moved into place in one step, so a reader sees the old file or the new one, never a part.

No process-wide state is read or changed (not the umask: the kernel applies it when the temporary file
is created). May import what :mod:`napari_mrcz.io.writer` may.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ..storage.paths import Overwrite, check_replaceable


def datasync(fd: int) -> None:
    """Flush a file's data to the disk (``fdatasync``; ``fsync`` where there is none: macOS, Windows)."""
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def create_temporary(target: Path) -> tuple[int, Path]:
    """A new, empty ``.<name>.<random>.part`` beside ``target``, opened for reading and writing.

    Created with mode 0666, so the process's umask applies as the kernel creates it (as for
    ``open(path, "w")``); reading or changing the umask is process-wide and would race other threads.
    """
    # read and write: the pyramid writer reads back what was written (its echo of the data)
    flags = os.O_CREAT | os.O_EXCL | os.O_RDWR | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    folder = target.parent
    while True:
        tmp = folder / f".{target.name}.{secrets.token_hex(4)}.part"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # another writer's temporary file: draw another name
            continue


def keep_mode(tmp: Path, target: Path) -> None:
    """A replaced file keeps its mode; a new one has the umask's, given when it was created."""
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return
    os.chmod(tmp, mode)


def move_into_place(tmp: Path, target: Path, overwrite: Overwrite) -> None:
    """Give the complete ``tmp`` the target's mode (:func:`keep_mode`) and move it to ``target``.

    Raises
    ------
    ReadOnlyTargetError
        The target became read-only meanwhile and ``overwrite`` is True (not "force").
    FileExistsError
        ``overwrite`` is False and the target appeared meanwhile.
    """
    keep_mode(tmp, target)
    if overwrite is True:
        check_replaceable(target, True)  # it may have been made read-only meanwhile
    if overwrite:
        os.replace(tmp, target)
    else:
        os.link(tmp, target)  # fails if the target appeared meanwhile
        tmp.unlink()
