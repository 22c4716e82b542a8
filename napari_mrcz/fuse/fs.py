"""The FUSE operations of the mount: a read-only mirror of a folder in which every ``x.mrcz`` shows as
the plain MRC2014 file ``x.mrc`` (:class:`~napari_mrcz.io.writer.plain_view.PlainView`); everything else
passes through unchanged.

Listings, ``stat`` and ``open`` read headers and chunk indexes, never voxels. A file whose size or
modification time changed is indexed again (its cached slices are keyed by the old identity, never
mixed with the new ones); a handle opened on the old version then fails with EIO. A file that cannot
be indexed (corrupt, truncated) is still listed, with the size of the .mrcz, and reading it fails with
EIO and a log line naming it; a corrupt slice fails only the reads that touch it.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from mfusepy import FuseOSError, Operations

from ..errors import MrczError
from ..format.names import plain_name
from ..io.codec.blosc import load_blosc2
from ..io.writer.plain_view import PlainReader, PlainView, SliceCache

log = logging.getLogger("napari_mrcz.fuse")
MAX_VIEWS = 256  # indexed files kept open (one descriptor and a chunk index each)


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _attrs(st: os.stat_result, size: int | None = None) -> dict[str, Any]:
    """getattr's answer: the source's stat, read-only, times in ns (``use_ns``), ``size`` if given."""
    return {
        "st_mode": st.st_mode & ~0o222, "st_nlink": st.st_nlink, "st_uid": st.st_uid, "st_gid": st.st_gid,
        "st_size": st.st_size if size is None else size,
        "st_atime": st.st_atime_ns, "st_mtime": st.st_mtime_ns, "st_ctime": st.st_ctime_ns,
    }


class _Broken:
    """A .mrcz that could not be indexed: listed, unreadable."""

    def __init__(self, path: Path, error: MrczError | OSError) -> None:
        self.path, self.error = path, error


class MrczFS(Operations):
    """The operations mfusepy calls (paths are relative to the mount's root, starting with '/').

    Parameters
    ----------
    src
        The folder mirrored.
    cache_bytes, readahead, workers
        The shared slice cache's budget, the read-ahead of sequential readers (bytes), the decode threads.
    """

    use_ns = True

    def __init__(self, src: Path, cache_bytes: int, readahead: int, workers: int | None) -> None:
        self.src = src
        self.cache_bytes, self.readahead, self.workers = cache_bytes, readahead, workers
        self.cache: SliceCache | None = None
        self._views: OrderedDict[Path, tuple[tuple[int, int, int, int], PlainView | _Broken]] = OrderedDict()
        self._handles: dict[int, PlainReader | _Broken | int] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # ---- life cycle ----------------------------------------------------------------------------

    def init(self, path: str) -> None:  # after a --background fork: threads start here
        self.cache = SliceCache(self.cache_bytes, self.workers)
        load_blosc2()  # now, not inside the first read (a few hundred ms)

    def destroy(self, path: str) -> None:
        if self.cache is not None:
            self.cache.close()
        with self._lock:
            for _, view in self._views.values():
                if isinstance(view, PlainView):
                    view.close()
            self._views.clear()

    # ---- names -----------------------------------------------------------------------------------

    def _resolve(self, path: str) -> tuple[Path, bool]:
        """(the file in SRC, whether it shows as its plain view); ENOENT for names that do not exist
        and for a .mrcz that shows under its plain name."""
        real = self.src / path.lstrip("/")
        if os.path.lexists(real):
            if plain_name(real.name) and real.is_file() and not os.path.lexists(real.with_name(plain_name(real.name))):
                raise FuseOSError(errno.ENOENT)  # listed as x.mrc
            return real, False
        if real.name.lower().endswith(".mrc"):
            folder = real.parent
            for candidate in (real.name + "z", real.name[:-4] + ".MRCZ"):
                if (folder / candidate).is_file():
                    return folder / candidate, True
            try:
                for entry in os.scandir(folder):
                    if plain_name(entry.name) == real.name and entry.is_file():
                        return Path(entry.path), True
            except OSError:
                pass
        raise FuseOSError(errno.ENOENT)

    def _view(self, real: Path) -> tuple[os.stat_result, PlainView | _Broken]:
        st = os.stat(real)
        ident = _identity(st)
        with self._lock:
            found = self._views.get(real)
            if found is not None and found[0] == ident:
                self._views.move_to_end(real)
                return st, found[1]
        assert self.cache is not None
        try:
            view: PlainView | _Broken = PlainView(real, self.cache)
            if view.identity != ident:  # changed between stat and open: index what was opened
                st = os.stat(real)
        except (MrczError, OSError) as err:
            log.error("%s: listed but unreadable: %s", real, err)
            view = _Broken(real, err)
        with self._lock:
            old = self._views.pop(real, None)
            self._views[real] = (ident, view)
            while len(self._views) > MAX_VIEWS:
                _, (_, dropped) = self._views.popitem(last=False)
                if isinstance(dropped, PlainView):
                    dropped.close()  # open handles still read it: its source reopens the same file
        if old is not None and isinstance(old[1], PlainView) and old[1] is not view:
            old[1].close()
        return st, view

    # ---- metadata ------------------------------------------------------------------------------

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        real, is_view = self._resolve(path)
        try:
            if not is_view:
                return _attrs(os.lstat(real))
            st, view = self._view(real)
        except OSError as err:
            raise FuseOSError(err.errno or errno.EIO) from None
        return _attrs(st, view.size if isinstance(view, PlainView) else st.st_size)

    def readdir(self, path: str, fh: int) -> list[str]:
        real, _ = self._resolve(path)
        try:
            names = os.listdir(real)
        except OSError as err:
            raise FuseOSError(err.errno or errno.EIO) from None
        present = set(names)
        shown = []
        for name in names:
            plain = plain_name(name)
            if plain and plain not in present and (real / name).is_file():
                shown.append(plain)
            else:
                shown.append(name)
        return [".", "..", *shown]

    def readlink(self, path: str) -> str:
        real, _ = self._resolve(path)
        return os.readlink(real)

    def statfs(self, path: str) -> dict[str, int]:
        sv = os.statvfs(self.src)
        return {key: getattr(sv, key) for key in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail",
                                                  "f_files", "f_ffree", "f_favail", "f_namemax")}

    def access(self, path: str, amode: int) -> int:
        self._resolve(path)
        if amode & os.W_OK:
            raise FuseOSError(errno.EROFS)
        return 0

    # ---- data ----------------------------------------------------------------------------------

    def open(self, path: str, flags: int) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_TRUNC):
            raise FuseOSError(errno.EROFS)
        real, is_view = self._resolve(path)
        try:
            if is_view:
                _, view = self._view(real)
                handle: PlainReader | _Broken | int = PlainReader(view, self.readahead) if isinstance(view, PlainView) else view
            else:
                handle = os.open(real, os.O_RDONLY)
        except OSError as err:
            raise FuseOSError(err.errno or errno.EIO) from None
        fh = next(self._ids)
        self._handles[fh] = handle
        return fh

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        handle = self._handles.get(fh)
        if handle is None:
            raise FuseOSError(errno.EBADF)
        if isinstance(handle, int):
            return os.pread(handle, size, offset)
        if isinstance(handle, _Broken):
            log.error("%s: bytes %d-%d cannot be read: %s", handle.path, offset, offset + size, handle.error)
            raise FuseOSError(errno.EIO)
        try:
            return handle.read(offset, size)
        except MrczError as err:
            log.error("%s", err)
            raise FuseOSError(errno.EIO) from None
        except OSError as err:
            log.error("%s: %s", handle.view.path, err)
            raise FuseOSError(err.errno or errno.EIO) from None

    def release(self, path: str, fh: int) -> int:
        handle = self._handles.pop(fh, None)
        if isinstance(handle, int):
            os.close(handle)
        return 0
