"""Remote reads over HTTP from a real server on 127.0.0.1 that counts what it serves.

Every kind of file reads over HTTP exactly as locally (the backend suite, test_backends, runs every
read path over HTTP too); here the request budget: an open costs at most 3 requests whatever NZ is,
one slice at most 2 more; files without a seek table move at most twice their size; and the shared
corpus. Every failure of the server
or the network is a RemoteError (an MrczError) naming the URL.
"""

from __future__ import annotations

import pickle
import shutil
import socket
from pathlib import Path

import mrcz
import numpy as np
import pytest
from corpus import TESTDATA, corpus_entries
from loopback_http import LoopbackServer
from test_backends import KINDS, make

import napari_mrcz as nm
from napari_mrcz.errors import MrczError, UnsupportedError
from napari_mrcz.io.storage.remote import RemoteError, is_url, url_name

pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")

RNG = np.random.default_rng(13)


def _volume(shape: tuple[int, ...], dtype: str = "float32") -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        return RNG.normal(size=shape).astype(dtype)
    return RNG.integers(0, 100, size=shape).astype(dtype)


@pytest.fixture
def server(tmp_path: Path):
    with LoopbackServer(tmp_path) as srv:
        yield srv


@pytest.mark.parametrize("kind", KINDS)
def test_request_budget(kind: str, server: LoopbackServer) -> None:
    """Values over HTTP are the backend suite's (test_backends); here what they cost: an open at most
    3 requests (the first block, the seek table, the table's chunk headers), one z-slice at most 2."""
    path, _ = make(kind, server.root)
    url = server.url(path.name)
    server.reset()
    info = nm.open_mrc(url)
    assert len(server.requests) <= 3, server.requests
    server.reset()
    info.read_slices(info.header.nz - 1, info.header.nz)
    assert len(server.requests) <= 2, server.requests


@pytest.mark.parametrize("kind", ["plain", "mrcz_zstd"])
def test_open_costs_three_requests_whatever_nz(kind: str, server: LoopbackServer) -> None:
    data = _volume((3000, 8, 8))
    path = nm.write(server.root / f"many.{'mrcz' if 'mrcz' in kind else 'mrc'}", data,
                    compressor="zstd" if "mrcz" in kind else None)
    server.reset()
    info = nm.open_mrc(server.url(path.name))
    assert len(server.requests) <= 3, server.requests
    for z in (2999, 1500):  # each slice: one range request
        server.reset()
        assert np.array_equal(info.read_slices(z, z + 1)[0], data[z])
        assert len(server.requests) == 1, server.requests
    server.reset()
    assert np.array_equal(nm.read(info).data, data)
    assert len(server.requests) <= 2  # the whole run in blocks of 8 MiB, not one request per slice


def test_large_extended_header_costs_one_more_request(server: LoopbackServer) -> None:
    meta = {"notes": "x" * 200_000}
    nm.write(server.root / "bigmeta.mrcz", _volume((4, 16, 16)), metadata=meta)
    server.reset()
    info = nm.open_mrc(server.url("bigmeta.mrcz"))
    assert info.metadata == meta
    assert len(server.requests) == 4, server.requests  # HEAD, header block, rest of the JSON, seek table


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(40, 64, 48), (3, 1100, 1024)], ids=["small_chunks", "large_chunks"])
def test_file_without_seek_table_moves_at_most_twice_its_size(shape: tuple[int, ...], server: LoopbackServer) -> None:
    data = _volume(shape)
    path = server.root / "mrcz_own.mrcz"
    mrcz.writeMRC(data, str(path), compressor="lz4", clevel=1)
    size = path.stat().st_size
    server.reset()
    got = nm.read(server.url(path.name))
    assert np.array_equal(got.data, data)
    assert server.bytes_sent <= 2 * size, (server.bytes_sent, size)
    assert len(server.requests) < shape[0] + 4


def test_lazy_graph_pickles_small_and_reopens_the_url(server: LoopbackServer) -> None:
    data = _volume((6, 40, 36))
    nm.write(server.root / "lazy.mrcz", data)
    lazy = nm.read(server.url("lazy.mrcz"), lazy=True).data
    blob = pickle.dumps(lazy)
    assert len(blob) < 20_000
    server.reset()
    again = pickle.loads(blob)
    assert np.array_equal(again[4].compute(), data[4])
    assert [r[0] for r in server.requests] == ["GET"]  # no new HEAD: the size and version travel along


@pytest.mark.slow
def test_distributed_workers_read_the_url(server: LoopbackServer) -> None:
    distributed = pytest.importorskip("distributed")
    data = _volume((5, 32, 32))
    nm.write(server.root / "dist.mrcz", data)
    lazy = nm.read(server.url("dist.mrcz"), lazy=True).data
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as client:
            got = client.compute(lazy).result()
    assert np.array_equal(got, data)


def test_corpus_files_read_remotely_as_locally(testdata: Path, tmp_path: Path) -> None:
    entries = [e for e in corpus_entries("mrcz") + corpus_entries("real")]
    for e in entries:
        shutil.copy(TESTDATA / e["path"], tmp_path / Path(e["path"]).name)
    with LoopbackServer(tmp_path) as srv:
        for e in entries:
            name = Path(e["path"]).name
            if name.endswith((".gz", ".bz2")):
                with pytest.raises(UnsupportedError, match=r"remotely.*download") as err:
                    nm.open_mrc(srv.url(name))
                assert srv.url(name) in str(err.value)
                continue
            local = nm.read(tmp_path / name)
            remote = nm.read(srv.url(name), lazy=True)
            assert np.array_equal(remote.data.compute(), local.data), name
            assert remote.metadata == local.metadata and remote.voxel_size == local.voxel_size


# -- failures: each a RemoteError (an MrczError) naming the URL ------------------------------------


def _refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/gone.mrc"


def test_connection_refused() -> None:
    url = _refused_url()
    with pytest.raises(RemoteError) as err:
        nm.read(url)
    assert url in str(err.value)


@pytest.mark.parametrize("status", [404, 403, 500])
def test_http_errors(status: int, server: LoopbackServer) -> None:
    nm.write(server.root / "x.mrcz", _volume((3, 8, 8)))
    server.status = status
    url = server.url("x.mrcz")
    with pytest.raises(RemoteError, match="404|not found" if status == 404 else str(status)) as err:
        nm.open_mrc(url)
    assert url in str(err.value)


def test_missing_file_is_404(server: LoopbackServer) -> None:
    url = server.url("absent.mrc")
    with pytest.raises(RemoteError, match="not found") as err:
        nm.read(url, lazy=True)
    assert url in str(err.value)


@pytest.mark.parametrize("kind", ["plain", "mrcz_zstd", "mrcz_by_mrcz"])
def test_cut_off_responses(kind: str, server: LoopbackServer) -> None:
    path, _ = make(kind, server.root)
    url = server.url(path.name)
    info = nm.open_mrc(url)
    info.close()  # drop the cached header block, so the slice comes from the server
    server.truncate = True
    with pytest.raises(RemoteError, match="cut off") as err:
        info.read_slices(0, info.header.nz)
    assert url in str(err.value)
    with pytest.raises(RemoteError):
        nm.open_mrc(url)


@pytest.mark.parametrize("kind", ["plain", "mrcz_zstd", "mrcz_by_mrcz"])
def test_server_without_range_support(kind: str, server: LoopbackServer) -> None:
    data = _volume((4, 128, 160))  # more than the first 64 KiB block, so slices need ranges
    if kind == "mrcz_by_mrcz":
        path = server.root / "x.mrcz"
        mrcz.writeMRC(data, str(path), compressor="zstd")
    else:
        path = nm.write(server.root / ("x.mrcz" if "mrcz" in kind else "x.mrc"), data,
                        compressor="zstd" if "mrcz" in kind else None)
    server.ignore_range = True
    url = server.url(path.name)
    with pytest.raises(RemoteError, match="range requests") as err:
        nm.read(url)
    assert url in str(err.value)
    assert server.bytes_sent < 3 * 2**20 + path.stat().st_size  # never the whole file per request


def test_latency_is_paid_per_request(server: LoopbackServer) -> None:
    nm.write(server.root / "slow.mrcz", _volume((200, 8, 8)))
    server.delay = 0.05
    server.reset()
    info = nm.open_mrc(server.url("slow.mrcz"))
    info.read_slices(150, 151)
    assert len(server.requests) <= 4  # not 200 round trips of 50 ms


def test_url_helpers() -> None:
    assert is_url("https://h/x.mrc") and is_url("s3://bucket/x.mrcz") and is_url("simplecache::https://h/x")
    assert not is_url("/data/x.mrc") and not is_url("C:\\data\\x.mrc") and not is_url(Path("x.mrc"))
    assert url_name("https://h/a/b.mrcz?token=1#f") == "b.mrcz"


def test_unknown_protocol_is_an_mrcz_error() -> None:
    with pytest.raises(MrczError, match="nosuchproto://x.mrc"):
        nm.open_mrc("nosuchproto://x.mrc")


def test_other_fsspec_protocols_read_through_public_calls(tmp_path: Path, server: LoopbackServer) -> None:
    """Non-HTTP URLs (fsspec's memory filesystem here, a file:// URL, a chained cache) and HTTP with
    options our client does not take go through fsspec's cat_file/cat_ranges."""
    fsspec = pytest.importorskip("fsspec")
    data = _volume((5, 24, 20))
    path = nm.write(server.root / "f.mrcz", data)
    with fsspec.open("memory://napari-mrcz-test/f.mrcz", "wb") as fh:
        fh.write(path.read_bytes())
    targets = ["memory://napari-mrcz-test/f.mrcz", path.as_uri(), f"simplecache::{server.url('f.mrcz')}"]
    for url in targets:
        image = nm.read(url)
        assert np.array_equal(image.data, data) and image.path == url
        assert np.array_equal(nm.read(url, lazy=True).data[:, 7, :].compute(), data[:, 7, :])
    via_fsspec = nm.read(server.url("f.mrcz"), storage_options={"client_kwargs": {}})
    assert np.array_equal(via_fsspec.data, data)
    fsspec.filesystem("memory").rm("napari-mrcz-test", recursive=True)
