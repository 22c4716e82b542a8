"""Start and stop mounts: :func:`run` serves one in this process (the CLI), :func:`mount` runs one in a
child process for the length of a ``with`` block, :func:`unmount` ends one."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import MrczError
from ..io.storage.paths import PathLike, as_path
from ..io.writer.plain_view import DEFAULT_CACHE_BYTES, DEFAULT_READAHEAD_BYTES

START_TIMEOUT = 30.0
"""Seconds :func:`mount` waits for the file system to appear."""


def check_places(src: PathLike, mountpoint: PathLike) -> tuple[Path, Path]:
    """``src`` and ``mountpoint`` as absolute paths, checked.

    Raises
    ------
    MrczError
        ``src`` is not a folder; ``mountpoint`` is not an empty folder, or lies inside ``src`` (the
        mount would contain itself).
    """
    src, mnt = as_path(src).resolve(), as_path(mountpoint).absolute()
    if not src.is_dir():
        raise MrczError(f"{src}: not a folder; the mount mirrors a folder of .mrcz files")
    if not mnt.is_dir():
        raise MrczError(f"{mnt}: the mount point must be an existing empty folder")
    if os.path.ismount(mnt) or any(mnt.iterdir()):
        raise MrczError(f"{mnt}: the mount point is not empty (or already mounted); use an empty folder")
    if mnt.resolve() == src or src in mnt.resolve().parents:
        raise MrczError(f"{mnt}: the mount point lies inside {src}; choose a folder outside it")
    return src, mnt


def run(
    src: PathLike,
    mountpoint: PathLike,
    *,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    readahead: int = DEFAULT_READAHEAD_BYTES,
    workers: int | None = None,
    foreground: bool = True,
) -> None:
    """Serve the mount until it is unmounted (``fusermount3 -u``, or Ctrl-C in the foreground).

    ``foreground=False`` detaches (libfuse daemonizes) once mounted. See :func:`mount` for the rest.

    Raises
    ------
    MrczError
        As :func:`check_places`; mfusepy or libfuse is missing; the mount failed.
    """
    src, mnt = check_places(src, mountpoint)
    try:
        from mfusepy import FUSE
    except (ImportError, OSError) as err:  # no mfusepy, or it found no libfuse
        raise MrczError(f"the mount needs mfusepy and libfuse 3 (pip install 'napari-mrcz[mount]'; "
                        f"Debian: apt install fuse3): {err}") from None
    from .fs import MrczFS

    ops = MrczFS(src, cache_bytes, readahead, workers)
    try:
        FUSE(ops, str(mnt), foreground=foreground, ro=True, nothreads=False, fsname=f"napari-mrcz:{src}",
             subtype="napari-mrcz", auto_cache=True, default_permissions=True,
             attr_timeout=0, entry_timeout=0, negative_timeout=0)  # a changed file shows at once, whole
    except RuntimeError as err:
        raise MrczError(f"{mnt}: mounting failed ({err}); is /dev/fuse available and fusermount3 installed?") from None


def unmount(mountpoint: PathLike) -> None:
    """Unmount ``mountpoint`` (``fusermount3 -u``; ``umount`` on macOS).

    Raises
    ------
    MrczError
        The unmount failed (e.g. a process still has a file open there: close it and try again).
    """
    mnt = str(as_path(mountpoint).absolute())
    tool = shutil.which("fusermount3") or shutil.which("fusermount")
    command = [tool, "-u", mnt] if tool else ["umount", mnt]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise MrczError(f"{mnt}: unmount failed: {done.stderr.strip() or done.returncode}")


@contextlib.contextmanager
def mount(
    src: PathLike,
    mountpoint: PathLike,
    *,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    readahead: int = DEFAULT_READAHEAD_BYTES,
    workers: int | None = None,
    log: PathLike | None = None,
) -> Iterator[Path]:
    """Mount ``src`` read-only at ``mountpoint`` for the ``with`` block; every ``x.mrcz`` in it shows
    as the plain MRC2014 file ``x.mrc`` (see ``docs/mount.md``)::

        with napari_mrcz.mount("tomograms", "/tmp/plain") as root:
            mrcfile.open(root / "tomo.mrc")

    The file system runs in a child process (``napari-mrcz mount``), so this process's threads and
    signals are untouched; it is unmounted when the block ends.

    Parameters
    ----------
    src
        The folder to mirror (never written to).
    mountpoint
        An empty folder.
    cache_bytes
        Decoded slices kept for all files together (default 512 MiB); memory stays near this.
    readahead
        Bytes decoded ahead of a reader that reads sequentially (default 32 MiB; 0: none).
    workers
        Decode threads (default: the cores, at most 8).
    log
        A file the file system appends its log lines to (a read that fails: file and slice);
        default: this process's stderr.

    Yields
    ------
    Path
        The mount point.

    Raises
    ------
    MrczError
        As :func:`check_places`; the file system did not start (its error is in the message).
    """
    src, mnt = check_places(src, mountpoint)
    command = [sys.executable, "-m", "napari_mrcz", "mount", str(src), str(mnt),
               "--cache-size", str(cache_bytes), "--readahead", str(readahead)]
    if workers:
        command += ["--threads", str(workers)]
    sink = open(as_path(log), "ab") if log is not None else None  # noqa: SIM115 (closed below)
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.ismount(mnt):
            if child.poll() is not None:
                where = f"see {log}" if log is not None else "see the messages above"
                raise MrczError(f"{mnt}: the mount did not start (exit status {child.returncode}; {where})")
            if time.monotonic() > deadline:
                raise MrczError(f"{mnt}: the mount did not start within {START_TIMEOUT:g} s")
            time.sleep(0.02)
        yield mnt
    finally:
        if os.path.ismount(mnt):
            unmount(mnt)
        try:
            child.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if sink is not None:
            sink.close()
