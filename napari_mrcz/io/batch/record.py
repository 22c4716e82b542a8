"""The run record of an output folder: which outputs are complete, so a re-run skips them.

``DIR/.napari-mrcz-convert.jsonl`` holds one JSON line per finished output: the input's path, size and
modification time (ns) as they were when its conversion started (for a URL: size and version), the
output's size and modification time, the conversion settings and whether the output was verified. An output counts as complete only while all of these still match, so an input
changed since, an output touched or replaced since, other settings, or a missing record means the file
is converted again. Only the process running :func:`convert_many` writes the record, one whole line per
``write`` after the output is in place; a line cut short by a kill is ignored. While a run holds the
folder's lock file (``DIR/.napari-mrcz-convert.lock``), another run into the same folder is refused.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from pathlib import Path
from typing import Any, Literal

from ...errors import MrczError

RECORD_NAME = ".napari-mrcz-convert.jsonl"
LOCK_NAME = ".napari-mrcz-convert.lock"
_VERSION = 1
State = Literal["complete", "unverified", "redo"]


def _stat(path: Path) -> dict[str, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def fingerprint(source: Path | str) -> dict[str, Any] | None:
    """What identifies an input's content cheaply: size and modification time of a local file; size and
    version (ETag, Last-Modified, ... as the server reports them) of a URL, one metadata request; a URL
    without any has an empty version, which never counts as unchanged (:func:`identifies`). None when
    it cannot be reached (the conversion then fails with the reason)."""
    if not isinstance(source, str):
        return _stat(source)
    from ..storage.remote import RemoteSource

    try:
        remote = RemoteSource(source)
    except MrczError:
        return None
    size, *version = remote.identity if remote.has_validators else (remote.size,)
    return {"size": size, "version": version}


def identifies(source_print: dict[str, Any] | None) -> bool:
    """Whether a :func:`fingerprint` tells an input's content apart: not for an unreachable input, nor a
    URL whose server sends no validator (ETag, Last-Modified, ...), whose file may change at the same
    size: those are converted on every run, never kept stale."""
    return source_print is not None and source_print.get("version", True) != []


class RunRecord:
    """The record of ``out_dir``, locked for one run: use as a context manager.

    Raises
    ------
    MrczError
        Another run holds the folder's lock.
    OSError
        The folder cannot be written.
    """

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / RECORD_NAME
        self._folder = os.path.normcase(os.path.realpath(out_dir))
        self._lock_path = out_dir / LOCK_NAME
        self.entries: dict[str, dict[str, Any]] = {}
        self._lock_fd: int | None = None

    def __enter__(self) -> RunRecord:
        self._lock()
        try:
            self._load()
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._unlock()

    def _lock(self) -> None:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; concurrent runs into one folder are unguarded
            self._lock_fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise MrczError(f"another conversion is writing into {self.path.parent}; wait for it to finish") from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def _load(self) -> None:
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            with contextlib.suppress(ValueError):  # a line cut short by a kill, or not ours
                entry = json.loads(line)
                if isinstance(entry, dict) and entry.get("version") == _VERSION and isinstance(entry.get("output"), str):
                    self.entries[entry["output"]] = entry
        if len(self.entries) < len(lines):  # superseded or broken lines: rewrite the latest entries only
            self._rewrite()

    def _rewrite(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            out.writelines(json.dumps(e, ensure_ascii=False) + "\n" for e in self.entries.values())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def is_output(self, source: Path | str) -> bool:
        """Whether ``source`` is an output this folder's record holds (converted from another input): an
        output folder inside the inputs (the same folder, or under a ``**`` glob) is not read back as input
        on the next run."""
        if not isinstance(source, Path) or os.path.normcase(os.path.realpath(source.parent)) != self._folder:
            return False
        entry = self.entries.get(source.name)
        return entry is not None and entry.get("input") != str(source)

    def state(self, source: Path | str, source_print: dict[str, Any] | None, output: Path,
              settings: dict[str, Any]) -> State:
        """``complete`` if ``output`` is recorded as converted from ``source`` as it is now
        (``source_print``, see :func:`fingerprint`), with these settings, and is unchanged since;
        ``unverified`` if so but never read back; else ``redo``."""
        entry = self.entries.get(output.name)
        if (
            entry is None
            or not identifies(source_print)
            or entry.get("input") != str(source)
            or entry.get("input_stat") != source_print
            or entry.get("output_stat") != _stat(output)
            or entry.get("settings") != settings
        ):
            return "redo"
        return "complete" if entry.get("verified") else "unverified"

    def add(self, source: Path | str, source_print: dict[str, Any] | None, output: Path, settings: dict[str, Any],
            verified: bool) -> None:
        """Record ``output`` as complete (call once it is in place) for the input as it was before the
        conversion started (``source_print``): changed since, it is converted again next time. One line,
        written and synced."""
        entry = {
            "version": _VERSION,
            "output": output.name,
            "input": str(source),
            "input_stat": source_print,
            "output_stat": _stat(output),
            "settings": settings,
            "verified": verified,
        }
        self.entries[output.name] = entry
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            if os.write(fd, line) != len(line):
                raise OSError(errno.ENOSPC, "short write", str(self.path))
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_partial(out_dir: Path, names: set[str]) -> None:
    """Delete the temporary files (``.NAME.XXXXXXXX.part``) that writers killed mid-file left for the
    outputs ``names`` in ``out_dir``; call under the lock. One listing of the folder, whatever its size."""
    for entry in os.scandir(out_dir):
        if entry.name.startswith(".") and entry.name.endswith(".part"):
            target = entry.name[1 : -len(".part")].rpartition(".")[0]
            if target in names:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
