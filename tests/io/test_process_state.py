"""Library code changes no process-wide state: the umask stays put while files are written (files other
threads create meanwhile keep the umask's mode), replaced targets keep their mode, the background
writer's executor is created once however many threads ask for it first, and no module but the command
line's entry point touches the warnings machinery, dask's configuration or this package's settings."""

from __future__ import annotations

import ast
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.io.writer import write as write_module


@pytest.fixture
def umask_022() -> int:
    old = os.umask(0o022)
    yield 0o022
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writing_never_touches_the_umask(umask_022: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.umask is process-wide (reading it means setting it): a write must not call it at all."""

    def refuse(mask: int) -> int:
        raise AssertionError("os.umask called while writing")

    data = np.arange(3 * 8 * 8, dtype=np.float32).reshape(3, 8, 8)
    with monkeypatch.context() as patch:
        patch.setattr(os, "umask", refuse)
        for name in ("new.mrcz", "new.mrc"):
            nm.write(tmp_path / name, data)
        nm.write(tmp_path / "new.mrcz", data)  # replaced
    for name in ("new.mrcz", "new.mrc"):
        assert _mode(tmp_path / name) == 0o666 & ~umask_022


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o444])
def test_a_replaced_file_keeps_its_mode(tmp_path: Path, mode: int, umask_022: int) -> None:
    path = tmp_path / "kept.mrcz"
    nm.write(path, np.zeros((2, 4, 4), np.int16))
    os.chmod(path, mode)
    nm.write(path, np.ones((2, 4, 4), np.int16), overwrite="force" if not mode & 0o200 else True)
    assert _mode(path) == mode
    assert nm.read(path).data.sum() == 32


def test_files_other_threads_create_during_writes_keep_the_umask_mode(tmp_path: Path, umask_022: int) -> None:
    """Writes in one thread, plain ``open`` in another: every file the other thread made is 0644."""
    stop = threading.Event()
    made: list[Path] = []

    def create() -> None:
        n = 0
        while not stop.is_set():
            path = tmp_path / f"other-{n}.txt"
            with open(path, "w"):
                pass
            made.append(path)
            n += 1

    other = threading.Thread(target=create)
    other.start()
    try:
        for i in range(40):
            nm.write(tmp_path / f"w{i % 4}.mrcz", np.full((1, 4, 4), i, np.int16))
    finally:
        stop.set()
        other.join()
    assert made
    assert {_mode(p) for p in made} == {0o644}
    assert {_mode(tmp_path / f"w{i}.mrcz") for i in range(4)} == {0o644}


def test_write_async_starts_one_executor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many threads calling write_async first at once share one executor."""
    started = []

    class Counted(write_module.ThreadPoolExecutor):
        def __init__(self, *args: object, **kwargs: object) -> None:
            started.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(write_module, "_executor", None)
    monkeypatch.setattr(write_module, "ThreadPoolExecutor", Counted)
    barrier = threading.Barrier(8)
    futures = []

    def go(i: int) -> None:
        barrier.wait()
        futures.append(nm.write_async(tmp_path / f"a{i}.mrcz", np.full((1, 4, 4), i, np.int8)))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(int(nm.read(f.result(timeout=60)).data[0, 0, 0]) for f in futures) == list(range(8))
    assert len(started) == 1
    started[0].shutdown()


def test_codec_threads_follow_the_setting(settings: object) -> None:
    """The default codec thread count is read where it is used: a setting changes the next call."""
    from napari_mrcz.io.codec.blosc import MrczBlosc, default_threads

    settings("threads", 3)  # type: ignore[operator]
    assert default_threads() == 3 and MrczBlosc("zstd").threads == 3
    assert MrczBlosc("zstd", n_threads=2).threads == 2


def test_convert_block_size_is_a_setting(tmp_path: Path, settings: object) -> None:
    from napari_mrcz.io.writer.convert import iter_file_blocks

    nm.write(tmp_path / "c.mrc", np.zeros((10, 16, 16), np.float32))
    settings("convert.block_bytes", 3 * 16 * 16 * 4)  # type: ignore[operator]
    with nm.open_mrc(tmp_path / "c.mrc") as info:
        assert [len(b) for b in iter_file_blocks(info)] == [3, 3, 3, 1]


PACKAGE = Path(nm.__file__).parent
PROCESS_WIDE = {"catch_warnings", "simplefilter", "filterwarnings", "resetwarnings", "showwarning"}
"""The warnings machinery's process-wide state (the filters, the display hook)."""
OWNS_ITS_PROCESS = {("cli/main.py", "main")}
"""(module, function) that may change it: the command line's entry point, which owns its process."""


def _process_wide_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of each use of :data:`PROCESS_WIDE`, ``dask.config.set`` or ``napari_mrcz.config.set``
    in ``tree``: attributes (``warnings.simplefilter``, ``dask.config.set``, ``config.set`` with a
    ``config`` imported from dask or this package) and names imported from ``warnings`` or ``dask.config``."""
    configs = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and (node.module in ("dask", "napari_mrcz") or node.level) for alias in node.names
               if alias.name == "config"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                parts.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name):
                parts.append(base.id)
            dotted = ".".join(reversed(parts))
            if node.attr in PROCESS_WIDE or dotted.endswith(("dask.config.set", "napari_mrcz.config.set")) or (
                    len(parts) == 2 and parts[1] in configs and node.attr == "set"):
                found.append((node.lineno, dotted))
        elif isinstance(node, ast.ImportFrom) and node.module in ("warnings", "dask.config"):
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names
                      if a.name in PROCESS_WIDE or (node.module == "dask.config" and a.name == "set")]
    return found


def _allowed_lines(tree: ast.AST, module: str) -> set[int]:
    return {line for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and (module, node.name) in OWNS_ITS_PROCESS
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)}


def test_no_library_module_changes_warning_filters_or_settings() -> None:
    """catch_warnings, simplefilter, filterwarnings, dask.config.set and our own config.set change state
    every thread shares (and catch_warnings is not thread-safe): library code returns findings as values
    and passes a scheduler to compute, or a setting as an argument, instead."""
    offending, allowed_seen = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        allowed = _allowed_lines(tree, module)
        for line, what in _process_wide_uses(tree):
            (allowed_seen if line in allowed else offending).append(f"{module}:{line}: {what}")
    assert not offending, offending
    assert allowed_seen  # the scan sees the entry point's own use: it would see others


@pytest.mark.parametrize("source", [
    "import warnings\nwith warnings.catch_warnings(): pass",
    "import warnings as w\nw.simplefilter('ignore')",
    "from warnings import filterwarnings",
    "import dask\nwith dask.config.set(scheduler='threads'): pass",
    "from dask import config\nconfig.set(scheduler='threads')",
    "from dask.config import set",
    "from .. import config\nwith config.set(threads=2): pass",
    "import napari_mrcz.config\nnapari_mrcz.config.set(threads=2)",
    "import warnings\nwarnings.showwarning = print",
])
def test_the_scan_finds_each_spelling(source: str) -> None:
    assert _process_wide_uses(ast.parse(source))


def test_the_scan_ignores_docstrings_and_other_sets() -> None:
    assert not _process_wide_uses(ast.parse('"""as dask.config.set does"""\nimport warnings\nwarnings.warn("x")\n'
                                            "from .. import config\nconfig.get('threads')\nfrom . import cache\n"
                                            "cache.set(1)\n"))
