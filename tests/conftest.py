"""Shared fixtures: the shared test corpus (../shared/testdata) and its manifest."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"


def corpus_entries(kind: str) -> list[dict[str, Any]]:
    """Manifest entries of one kind ('mrcz', 'real', 'bad'); empty when the corpus is absent."""
    manifest = TESTDATA / "MANIFEST.json"
    if not manifest.is_file():
        return []
    return [e for e in json.loads(manifest.read_text())["files"] if e["kind"] == kind]


def corpus_params(kind: str) -> list[Any]:
    """pytest params over a kind's entries, ids from file names; one skipped param when absent."""
    entries = corpus_entries(kind)
    if not entries:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no shared corpus at {TESTDATA}"))]
    return [pytest.param(e, id=Path(e["path"]).name) for e in entries]


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
