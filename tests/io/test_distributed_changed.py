"""A lazily opened file that changes before its graph runs on dask.distributed: every way of changing it
ends in the MrczError "the file changed since it was opened" at the caller, within seconds, never a
future that waits forever (pickling the graph must not touch the file: an error raised there is lost
inside distributed's comm layer). Cases are generated over changes, formats and ways of computing."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.errors import MrczError

distributed = pytest.importorskip("distributed")

DATA = np.arange(4 * 32 * 40, dtype=np.float32).reshape(4, 32, 40)
TIMEOUT = 60  # seconds: a hang fails the test instead of the suite


def _replace(path: Path) -> None:
    other = path.with_name("other" + path.suffix)
    nm.write(other, DATA + 1, compressor=None if path.suffix == ".mrc" else "zstd")
    os.replace(other, path)


def _rewrite_in_place(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    with open(path, "r+b") as f:  # same inode, other bytes
        f.write(raw)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _append(path: Path) -> None:
    with open(path, "ab") as f:
        f.write(b"\0" * 16)


def _touch(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))


def _delete(path: Path) -> None:
    path.unlink()


CHANGES: dict[str, Callable[[Path], None]] = {
    "replaced": _replace, "rewritten in place": _rewrite_in_place, "truncated": _truncate, "appended to": _append,
    "touched": _touch, "deleted": _delete,
}
COMPUTE: dict[str, Callable[[distributed.Client, object], object]] = {
    "client.compute": lambda c, a: c.compute(a.sum()).result(timeout=TIMEOUT),
    "persist": lambda c, a: c.compute(c.persist(a).sum()).result(timeout=TIMEOUT),
    "submit": lambda c, a: c.submit(np.asarray, a[1]).result(timeout=TIMEOUT),
}


@pytest.fixture(scope="module")
def client(dask_scheduler: str):  # noqa: ANN201
    with distributed.Client(dask_scheduler, set_as_default=False, timeout=TIMEOUT) as c:
        yield c


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("suffix", [".mrcz", ".mrc"])
@pytest.mark.parametrize("how", sorted(COMPUTE))
def test_a_file_changed_after_opening_fails_on_the_cluster(client: distributed.Client, tmp_path: Path, change: str,
                                                           suffix: str, how: str) -> None:
    path = nm.write(tmp_path / f"tomo{suffix}", DATA, compressor=None if suffix == ".mrc" else "zstd")
    image = nm.read(path, lazy=True)
    CHANGES[change](path)
    with pytest.raises(MrczError, match="changed since it was opened"):
        COMPUTE[how](client, image.data)


def test_pickling_a_lazy_array_does_no_io(tmp_path: Path) -> None:
    path = nm.write(tmp_path / "tomo.mrcz", DATA)
    image = nm.read(path, lazy=True)
    path.unlink()
    copy = pickle.loads(pickle.dumps(image.data))  # the file is gone: reading raises, pickling does not
    with pytest.raises(MrczError, match="it is gone"):
        copy.compute(scheduler="sync")


def test_an_unchanged_file_computes_on_the_cluster(client: distributed.Client, tmp_path: Path) -> None:
    image = nm.read(nm.write(tmp_path / "tomo.mrcz", DATA), lazy=True)
    assert client.compute(image.data.sum()).result(timeout=TIMEOUT) == DATA.sum()
