"""Fixtures shared by every test: the shared corpus, runtime settings, a dask.distributed cluster."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from corpus import TESTDATA

@pytest.fixture
def testdata() -> Path:
    """The shared corpus folder (skips the test when it is absent)."""
    if not TESTDATA.is_dir():
        pytest.skip(f"no shared corpus at {TESTDATA}")
    return TESTDATA


@pytest.fixture(scope="session")
def dask_scheduler() -> Iterator[str]:
    """The address of a dask.distributed LocalCluster of two worker processes (one thread each), started
    once for the tests that need one."""
    pytest.importorskip("distributed")
    from napari_mrcz.io.batch.run import local_cluster

    with local_cluster(2) as cluster:
        yield cluster.scheduler_address


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Versions of the libraries the tests check against."""
    import importlib.metadata as md

    names = ["numpy", "dask", "blosc", "blosc2", "mrcz", "mrcfile", "napari", "npe2", "rosettasciio"]
    versions = []
    for name in names:
        try:
            versions.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            versions.append(f"{name} absent")
    return ["oracles: " + ", ".join(versions), f"corpus: {TESTDATA} ({'present' if TESTDATA.is_dir() else 'absent'})"]


@pytest.fixture
def settings() -> Iterator[Callable[[str, Any], None]]:
    """``settings(key, value)`` changes a :mod:`napari_mrcz.config` setting until the test ends."""
    from napari_mrcz import config

    with contextlib.ExitStack() as stack:
        yield lambda key, value: stack.enter_context(config.set({key: value}))


BACKENDS = ["local", "gzip", "bz2", "http"]


@pytest.fixture(params=BACKENDS)
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[Path], Any]]:
    """Every way a file reaches the reader: ``source(path)`` returns what to open for the local file
    ``path`` through this backend: the path itself; a ``.gz``/``.bz2`` copy (decompressed into
    memory); or its URL on a loopback HTTP server (range requests). ``source.name`` is the backend's."""
    import bz2
    import gzip

    from loopback_http import LoopbackServer

    kind = request.param
    if kind == "http":
        pytest.importorskip("aiohttp")
        folder = tmp_path / "served"
        folder.mkdir()
        with LoopbackServer(folder) as srv:

            def serve(path: Path) -> str:
                target = folder / path.name
                if target != path:
                    target.write_bytes(path.read_bytes())
                return srv.url(path.name)

            serve.name = kind  # type: ignore[attr-defined]
            serve.server = srv  # type: ignore[attr-defined]
            yield serve
        return
    if kind == "local":

        def serve(path: Path) -> Path:
            return path

    else:
        pack = gzip.compress if kind == "gzip" else bz2.compress

        def serve(path: Path) -> Path:
            target = path.with_name(path.name + (".gz" if kind == "gzip" else ".bz2"))
            target.write_bytes(pack(path.read_bytes()))
            return target

    serve.name = kind  # type: ignore[attr-defined]
    yield serve


@pytest.fixture(autouse=True, scope="session")
def _pyramid_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Computed pyramid levels go to a folder of the test run, never to the user's cache."""
    from napari_mrcz import config

    with config.set({"pyramid.cache_dir": str(tmp_path_factory.mktemp("pyramid-cache"))}):
        yield
