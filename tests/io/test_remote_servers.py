"""Hostile and odd HTTP servers, each a kind with generated variants: trickling bodies (a total
deadline per request), redirect loops, 206 responses longer than the range, presigned URLs whose
encoding must survive, files replaced while open (validators), and servers without validators.
Every failure is a RemoteError (an MrczError) naming the URL, in bounded time and memory.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from loopback_http import LoopbackServer

import napari_mrcz as nm
from napari_mrcz.errors import RemoteError
from napari_mrcz.io.storage.remote import HEAD_BLOCK, RemoteSource

pytest.importorskip("aiohttp")
RNG = np.random.default_rng(21)


@pytest.fixture
def server(tmp_path: Path):
    with LoopbackServer(tmp_path) as srv:
        yield srv


def _files(folder: Path) -> dict[str, np.ndarray]:
    """A plain and an MRCZ file, both bigger than the first block (so reads need more requests)."""
    data = RNG.normal(size=(6, 96, 80)).astype(np.float32)
    nm.write(folder / "plain.mrc", data, compressor=None)
    nm.write(folder / "ours.mrcz", data)
    return {"plain.mrc": data, "ours.mrcz": data}


@pytest.mark.parametrize("phase", ["open", "read"])
@pytest.mark.parametrize("name", ["plain.mrc", "ours.mrcz"])
@pytest.mark.parametrize("client", ["ours", "fsspec"])
def test_trickling_server_ends_at_the_deadline(name: str, phase: str, client: str, server: LoopbackServer,
                                               settings) -> None:
    """Our HTTP client, and fsspec's (chosen by options ours does not take), stop at the deadline."""
    _files(server.root)
    settings("remote.timeout", 1.0)
    url = server.url(name)
    options = {"client_kwargs": {}} if client == "fsspec" else None
    info = None if phase == "open" else nm.open_mrc(url, storage_options=options)
    server.trickle = 0.5
    start = time.monotonic()
    with pytest.raises(RemoteError, match="within 1 s") as err:
        nm.open_mrc(url, storage_options=options) if info is None else info.read_slices(3, 6)
    assert time.monotonic() - start < 4
    assert url in str(err.value)


def test_deadline_from_the_environment(server: LoopbackServer, tmp_path: Path) -> None:
    """NAPARI_MRCZ_REMOTE_TIMEOUT works through the config (read in a fresh process)."""
    import subprocess
    import sys

    _files(server.root)
    server.trickle = 0.5
    code = f"import napari_mrcz as nm\ntry:\n    nm.open_mrc({server.url('plain.mrc')!r})\nexcept nm.RemoteError as e:\n    print(e)"
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NAPARI_MRCZ_REMOTE_TIMEOUT": "1.5"}, cwd=Path(nm.__file__).parents[1])
    assert "within 1.5 s" in done.stdout, done.stdout + done.stderr
    assert time.monotonic() - start < 30


def test_redirect_loop_says_so(server: LoopbackServer) -> None:
    _files(server.root)
    server.redirect_loop = True
    url = server.url("plain.mrc")
    with pytest.raises(RemoteError, match="redirected in a loop") as err:
        nm.open_mrc(url)
    assert url in str(err.value) and "HTTP 0" not in str(err.value)


@pytest.mark.parametrize("extra", [1, 1500, 2**20, "endless"])
@pytest.mark.parametrize("phase", ["open", "read"])
def test_oversized_206_is_not_buffered(extra: int | str, phase: str, server: LoopbackServer) -> None:
    _files(server.root)
    url = server.url("ours.mrcz")
    info = None if phase == "open" else nm.open_mrc(url)
    server.reset()
    if extra == "endless":
        server.endless = True
    else:
        server.oversize = int(extra)
    with pytest.raises(RemoteError, match="more than the range") as err:
        nm.open_mrc(url) if info is None else info.read_slices(5, 6)
    assert url in str(err.value)
    time.sleep(0.2)  # the server notices the hang-up
    assert server.bytes_sent < HEAD_BLOCK + 4 * 2**20  # never the endless body (256 MiB) nor the whole file


@pytest.mark.parametrize("target", [
    "/b/ours.mrcz?X-Amz-Signature=ab%2Fcd%3D&X-Amz-Credential=k%2F2026%2Fs3",
    "/b/ours.mrcz?sig=%2B%20%25x",
    "/b/ours.mrcz?token=a%3Ab",
])
def test_presigned_urls_are_sent_as_given(target: str, server: LoopbackServer, tmp_path: Path) -> None:
    (server.root / "b").mkdir()
    truth = _files(server.root / "b")["ours.mrcz"]
    server.signed = {target}  # anything else (a re-encoded query) is answered 403, as S3 does
    url = f"http://127.0.0.1:{server.server_address[1]}{target}"
    assert np.array_equal(nm.read(url).data, truth)
    assert np.array_equal(nm.read(url, lazy=True).data[2:4].compute(), truth[2:4])
    assert all(path == target for _, path, _ in server.requests)


@pytest.mark.parametrize("same_size", [True, False])
@pytest.mark.parametrize("name", ["plain.mrc", "ours.mrcz"])
@pytest.mark.parametrize("honours_conditions", [True, False])
def test_file_replaced_while_open(name: str, same_size: bool, honours_conditions: bool, server: LoopbackServer) -> None:
    """Replaced between reads: 'the file changed since it was opened', never data of two versions.
    The server either answers 412 to If-Match, or ignores it (then the validators it sends differ)."""
    truth = _files(server.root)[name]
    url = server.url(name)
    info = nm.open_mrc(url)
    lazy = nm.read(url, lazy=True).data
    assert np.array_equal(info.read_slices(0, 2), truth[:2])
    other = truth + 1 if same_size else np.concatenate([truth, truth])
    time.sleep(0.01)  # a new mtime (the ETag holds it in ns)
    nm.write(server.root / name, other, compressor=None if name.endswith(".mrc") else "zstd", overwrite=True)
    if not honours_conditions:
        server.ignore_conditions = True
    for read in (lambda: info.read_slices(2, 6), lambda: lazy[3].compute()):
        with pytest.raises(RemoteError, match="changed since it was opened") as err:
            read()
        assert url in str(err.value)


def test_identity_claims_sameness_only_with_validators(server: LoopbackServer) -> None:
    _files(server.root)
    url = server.url("plain.mrc")
    with_validators = RemoteSource(url)
    assert with_validators.has_validators
    assert with_validators.identity == RemoteSource(url).identity
    assert any(str(v).startswith("ETag=") for v in with_validators.identity[1:])
    server.validators = False
    first, second = RemoteSource(url), RemoteSource(url)
    assert not first.has_validators and first.identity[0] == second.identity[0]
    assert first.identity != second.identity  # no claim that two opens hold the same bytes
    import pickle

    again = pickle.loads(pickle.dumps(first))
    assert again.identity == first.identity and not again.has_validators


def test_local_identity_and_validators(tmp_path: Path) -> None:
    import gzip

    from napari_mrcz.io.storage.opening import open_source

    path = nm.write(tmp_path / "x.mrc", np.zeros((2, 4, 4), np.float32), compressor=None)
    st = path.stat()
    _, source = open_source(path)
    assert source.identity == (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) and source.has_validators
    packed = tmp_path / "x.mrc.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    _, stream = open_source(packed)
    assert stream.identity[-1] == "gzip" and stream.identity[2] == packed.stat().st_size
    assert stream.container == "gzip" and stream.file_nbytes == packed.stat().st_size
    assert source.container is None and source.file_nbytes == st.st_size


def test_every_source_has_the_whole_interface(source, tmp_path: Path) -> None:
    """The Source protocol, over every backend (the conftest ``source`` fixture)."""
    from napari_mrcz.io.storage.base import Source

    path = nm.write(tmp_path / "x.mrcz", np.arange(3 * 8 * 8, dtype=np.float32).reshape(3, 8, 8))
    target = source(path)
    src = nm.open_mrc(target).source
    assert isinstance(src, Source) and src.unchanged() and src.has_validators
    assert hash(src.identity) is not None and src.identity == nm.open_mrc(target).source.identity
    ranges = [(0, 4), (1024, 1040), (src.size - 3, src.size + 10), (5, 5)]
    got = src.read_ranges(ranges)
    assert got == [src.pread(end - start, start) for start, end in ranges]
    assert [len(g) for g in got] == [4, 16, 3, 0]
    assert src.scanner()(16, 1024) == got[1] and src.planned(ranges[:2])(16, 1024) == got[1]
    assert src.excess(src.size) is None and "more than the header implies" in src.excess(src.size - 10)
