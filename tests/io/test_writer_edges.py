"""What users hand the writers: dask arrays of unknown length, writers closed twice or used after
closing, bytes and other path-likes, and read-only targets (which the atomic rename would replace)."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz import MrczError, ReadOnlyTargetError
from napari_mrcz.cli.main import main
from napari_mrcz.io.writer.convert import convert_file
from napari_mrcz.rsciio import file_reader, file_writer

DATA = np.arange(4 * 6 * 5, dtype=np.int16).reshape(4, 6, 5)

# ------------------------------------------------------------------ dask arrays of unknown chunk sizes

UNKNOWN: dict[str, Callable[[], da.Array]] = {
    "boolean_index": lambda: (lambda x: x[x[:, 0, 0] >= 0])(da.from_array(DATA, chunks=(1, 6, 5))),
    "mask_of_volume": lambda: (lambda x: x[x.mean(axis=(1, 2)) > 20])(da.from_array(DATA, chunks=(2, 6, 5))),
    "from_delayed": lambda: da.concatenate([
        da.from_delayed(dask.delayed(lambda: DATA[:2])(), shape=(np.nan, 6, 5), dtype=DATA.dtype),
        da.from_array(DATA[2:], chunks=(1, 6, 5))]),
    "four_d": lambda: (lambda x: x[x[:, 0, 0, 0] >= 0])(da.from_array(DATA.reshape(2, 2, 6, 5), chunks=(1, 2, 6, 5))),
}
WRITE_CALLS: dict[str, Callable[[Path, Any], Any]] = {
    "write": lambda path, data: nm.write(path, data),
    "write_async": lambda path, data: nm.write_async(path, data).result(),
    "rsciio": lambda path, data: file_writer(str(path), {"data": data, "axes": [], "metadata": {}}, compressor="zstd"),
}


@pytest.mark.parametrize("call", sorted(WRITE_CALLS))
@pytest.mark.parametrize("kind", sorted(UNKNOWN))
def test_unknown_chunk_sizes_say_what_to_do(tmp_path: Path, call: str, kind: str) -> None:
    data = UNKNOWN[kind]()
    assert any(np.isnan(n) for n in data.shape)
    with pytest.raises(MrczError, match=r"unknown chunk sizes.*compute_chunk_sizes\(\)"):
        WRITE_CALLS[call](tmp_path / "u.mrcz", data)
    assert list(tmp_path.iterdir()) == []
    data.compute_chunk_sizes()
    WRITE_CALLS[call](tmp_path / "u.mrcz", data)
    assert np.array_equal(nm.read(tmp_path / "u.mrcz").data, data.compute())


# ------------------------------------------------------------------------------ writer life cycle


def _writer(path: Path) -> nm.MrczWriter:
    writer = nm.MrczWriter(path)
    writer.write(DATA)
    return writer


@pytest.mark.parametrize("suffix", [".mrcz", ".mrc"])
def test_close_twice_is_a_no_op(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"w{suffix}"
    with _writer(path) as writer:
        assert writer.close() == path
        assert writer.close() == path
        first = path.read_bytes()
    assert writer.close() == path and path.read_bytes() == first
    writer.abort()  # after close: nothing to discard, the file stays
    assert path.read_bytes() == first and np.array_equal(nm.read(path).data, DATA)


@pytest.mark.parametrize("finish", ["close", "abort", "context"])
@pytest.mark.parametrize("block", [DATA, DATA[0], DATA[:1]])
def test_write_after_finishing_is_mrcz_error(tmp_path: Path, finish: str, block: np.ndarray) -> None:
    path = tmp_path / "w.mrcz"
    writer = _writer(path)
    if finish == "context":
        with writer:
            pass
    else:
        getattr(writer, finish)()
    state = "aborted" if finish == "abort" else "closed"
    with pytest.raises(MrczError, match=f"writer was {state}"):
        writer.write(block)
    assert path.exists() == (finish != "abort")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_close_after_abort_is_mrcz_error(tmp_path: Path) -> None:
    writer = _writer(tmp_path / "w.mrcz")
    writer.abort()
    writer.abort()
    with pytest.raises(MrczError, match="aborted; nothing was written"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------- path-likes


class _PathLike:
    def __init__(self, path: str | bytes) -> None:
        self.path = path

    def __fspath__(self) -> str | bytes:
        return self.path


def _spellings(path: Path) -> dict[str, Any]:
    return {"str": str(path), "bytes": os.fsencode(path), "Path": path,
            "PathLike_str": _PathLike(str(path)), "PathLike_bytes": _PathLike(os.fsencode(path))}


@pytest.mark.parametrize("name", ["plain.mrc", "z.mrcz", "café.mrc", "caf\udce9.mrcz", "spaced name.mrc"])
@pytest.mark.parametrize("spelling", ["str", "bytes", "Path", "PathLike_str", "PathLike_bytes"])
def test_every_path_spelling(tmp_path: Path, name: str, spelling: str) -> None:
    """Every public function takes str, bytes (also bytes that are not UTF-8) and os.PathLike."""
    target = _spellings(tmp_path / name)[spelling]
    nm.write(target, DATA)
    assert np.array_equal(nm.read(target).data, DATA)
    assert nm.open_mrc(target).shape == DATA.shape
    assert nm.validate(target) == []
    nm.write_async(target, DATA + 1).result()
    with nm.MrczWriter(target) as writer:
        writer.write(DATA)
    copy = _spellings(tmp_path / f"copy-{name}")[spelling]
    convert_file(target, copy)
    assert np.array_equal(file_reader(copy)[0]["data"], DATA)
    assert os.fsencode(tmp_path / name) in [os.path.join(os.fsencode(tmp_path), n) for n in os.listdir(os.fsencode(tmp_path))]


@pytest.mark.parametrize("bad", [3, None, 2.5, ["a.mrc"], b"", ""])
def test_non_paths_are_mrcz_error(tmp_path: Path, bad: Any) -> None:
    for call in (lambda: nm.read(bad), lambda: nm.open_mrc(bad), lambda: nm.write(bad, DATA),
                 lambda: nm.MrczWriter(bad), lambda: convert_file(bad, tmp_path / "x.mrcz"), lambda: nm.validate(bad)):
        with pytest.raises(MrczError, match="path"):
            call()


# ------------------------------------------------------------------------------ read-only targets

READ_ONLY_MODES = [0o444, 0o400, 0o440, 0o404, 0o000, 0o555]
REPLACERS: dict[str, Callable[..., Any]] = {
    "write": lambda path, **kw: nm.write(path, DATA, **kw),
    "write_async": lambda path, **kw: nm.write_async(path, DATA, **kw).result(),
    "MrczWriter": lambda path, **kw: _writer_close(path, **kw),
    "convert_file": lambda path, **kw: convert_file(path.parent / "source.mrcz", path, **kw),
}


def _writer_close(path: Path, **kw: Any) -> Path:
    with nm.MrczWriter(path, **kw) as writer:
        writer.write(DATA)
    return writer.path


def _read_only(tmp_path: Path, name: str, mode: int) -> tuple[Path, bytes]:
    nm.write(tmp_path / "source.mrcz", DATA)
    path = tmp_path / name
    nm.write(path, np.zeros((1, 2, 2), np.int8))
    os.chmod(path, mode)
    return path, path.read_bytes() if mode & stat.S_IRUSR or os.geteuid() == 0 else b""


@pytest.mark.parametrize("how", sorted(REPLACERS))
@pytest.mark.parametrize("mode", READ_ONLY_MODES)
def test_read_only_target_is_refused(tmp_path: Path, how: str, mode: int) -> None:
    path, before = _read_only(tmp_path, "ro.mrc", mode)
    with pytest.raises(ReadOnlyTargetError, match="read-only") as caught:
        REPLACERS[how](path, overwrite=True)
    assert isinstance(caught.value, PermissionError) and isinstance(caught.value, MrczError)
    assert caught.value.filename == str(path) and str(path) in str(caught.value)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    if before:
        assert path.read_bytes() == before
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize("how", sorted(REPLACERS))
@pytest.mark.parametrize("mode", [0o444, 0o000])
def test_force_replaces_a_read_only_target(tmp_path: Path, how: str, mode: int) -> None:
    path, _ = _read_only(tmp_path, "ro.mrc", mode)
    REPLACERS[how](path, overwrite="force")
    os.chmod(path, 0o644)
    assert np.array_equal(nm.read(path).data, DATA)


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o664, 0o222])
def test_writable_targets_are_replaced_by_default(tmp_path: Path, mode: int) -> None:
    path, _ = _read_only(tmp_path, "rw.mrcz", mode)
    nm.write(path, DATA)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode  # the new file keeps the old one's mode
    os.chmod(path, 0o644)
    assert np.array_equal(nm.read(path).data, DATA)


def test_target_made_read_only_while_writing(tmp_path: Path) -> None:
    path = tmp_path / "t.mrcz"
    nm.write(path, DATA)
    before = path.read_bytes()
    writer = nm.MrczWriter(path)
    writer.write(DATA * 2)
    os.chmod(path, 0o444)
    with pytest.raises(ReadOnlyTargetError):
        writer.close()
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["t.mrcz"]


@pytest.mark.parametrize("bad", ["yes", 1, "FORCE", None])
def test_overwrite_values(tmp_path: Path, bad: Any) -> None:
    with pytest.raises(MrczError, match="overwrite must be"):
        nm.write(tmp_path / "o.mrcz", DATA, overwrite=bad)


def test_cli_force_replaces_a_read_only_out(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path, _ = _read_only(tmp_path, "ro.mrc", 0o444)
    assert main(["convert", str(tmp_path / "source.mrcz"), str(path), "-q"]) == 1  # exists
    assert main(["convert", str(tmp_path / "source.mrcz"), str(path), "-q", "--force"]) == 0  # cp -f
    assert np.array_equal(nm.read(path).data, DATA)


_AS_USER = textwrap.dedent("""
    import os, sys
    import numpy as np
    import napari_mrcz as nm
    os.chdir(sys.argv[1])
    data = np.zeros((2, 3, 4), np.int8)
    nm.write("warm.mrc", data)  # every module the checks need is imported before dropping root
    nm.read("warm.mrc")
    if len(sys.argv) > 2:  # started as root: act as this user (file access follows the effective ids)
        os.setegid(int(sys.argv[3]))
        os.seteuid(int(sys.argv[2]))
    nm.write("ro.mrc", data)
    os.chmod("ro.mrc", 0o444)
    assert not os.access("ro.mrc", os.W_OK, effective_ids=True)
    try:
        open("ro.mrc", "wb")
    except PermissionError:
        pass
    else:
        raise SystemExit("open(path, 'wb') was allowed")
    try:
        nm.write("ro.mrc", data + 1)
    except nm.ReadOnlyTargetError:
        pass
    else:
        raise SystemExit("a read-only file was replaced")
    assert (nm.read("ro.mrc").data == 0).all()
    nm.write("ro.mrc", data + 1, overwrite="force")
    assert (nm.read("ro.mrc").data == 1).all()
    print("ok", os.geteuid())
""")


@pytest.mark.slow
def test_read_only_as_a_user_who_is_not_root() -> None:
    """As a non-root user ``open(path, "wb")`` itself refuses; the writer refuses alike. When the tests
    run as root, a child process takes the ``nobody`` user's ids (after importing what it needs, since
    the interpreter may live where that user cannot read)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    ids: list[str] = []
    if os.geteuid() == 0:
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("no 'nobody' user to act as")
        ids = [str(nobody.pw_uid), str(nobody.pw_gid)]
    # pytest's own temporary folders are private to their owner: a world-writable folder of its own
    with tempfile.TemporaryDirectory(prefix="napari-mrcz-ro-") as folder:
        os.chmod(folder, 0o777)
        result = subprocess.run([sys.executable, "-c", _AS_USER, folder, *ids], capture_output=True, text=True, env=env)
    assert result.returncode == 0 and result.stdout.split()[0] == "ok", result.stderr
    assert result.stdout.split()[1] != "0"
