"""The napari reader opening URLs: a real loopback HTTP server, npe2 discovery and a ViewerModel."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import mrcz
import numpy as np
import pytest
from loopback_http import LoopbackServer

pytest.importorskip("napari")
pytest.importorskip("fsspec")
npe2 = pytest.importorskip("npe2")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.errors import MrczWarning  # noqa: E402
from napari_mrcz.plugin.reader import get_reader  # noqa: E402
from checks import PLUGIN, layer_tuples  # noqa: E402


DATA = np.random.default_rng(3).normal(size=(6, 40, 32)).astype(np.float32)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("served")
    nm.write(folder / "ours.mrcz", DATA, voxel_size=13.6, metadata={"sample": "vesicle"})
    nm.write(folder / "plain.mrc", DATA, voxel_size=2.0, compressor=None)
    mrcz.writeMRC(DATA, str(folder / "theirs.mrcz"), compressor="lz4", pixelsize=[1.0, 1.0, 1.0])
    (folder / "notes.txt").write_text("not an MRC file")
    with LoopbackServer(folder) as srv:
        yield srv


@pytest.mark.parametrize("name", ["ours.mrcz", "plain.mrc", "theirs.mrcz"])
def test_viewer_opens_a_url_lazily(name: str, server: LoopbackServer) -> None:
    from napari.components import ViewerModel

    viewer = ViewerModel()
    url = server.url(name)
    server.reset()
    (layer,) = viewer.open(url, plugin=PLUGIN)
    assert layer.name == name.rsplit(".", 1)[0]
    assert layer.metadata["mrcz"]["lazy"] is True and layer.metadata["mrcz"]["path"] == url
    assert not isinstance(layer.data, np.ndarray)  # lazy: slices come over the network as they are shown
    assert len(server.requests) <= 3 + 2 + 2  # sniff + read (both opens) + the contrast-limit slice at most
    assert np.array_equal(np.asarray(layer.data[3]), DATA[3])
    local = nm.read(server.root / name)
    assert np.allclose(layer.scale, [v / 10 if layer.units[0] == "nanometer" else v for v in local.voxel_size])


def test_url_list_opens_one_layer_each(server: LoopbackServer) -> None:
    layers = layer_tuples(npe2.read([server.url("ours.mrcz"), server.url("theirs.mrcz")], plugin_name=PLUGIN, stack=True))
    assert [np.array_equal(np.asarray(data), DATA) for data, _, _ in layers] == [True, True]
    assert layers[0][1]["metadata"]["mrcz"]["metadata"] == {"sample": "vesicle"}


def test_urls_not_ours_are_declined(server: LoopbackServer) -> None:
    assert get_reader(server.url("notes.txt")) is None
    assert get_reader("https://example.invalid/data.zarr") is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert get_reader(server.url("missing.mrc")) is None  # 404: declined with the reason, never raised
    messages = [str(w.message) for w in caught if issubclass(w.category, MrczWarning)]
    assert any("not found" in m and "missing.mrc" in m for m in messages), messages


def test_query_strings_keep_the_suffix(server: LoopbackServer) -> None:
    reader: Any = get_reader(server.url("ours.mrcz") + "?signature=abc")
    assert reader is not None
    ((data, kwargs, _),) = layer_tuples(reader(None))
    assert kwargs["name"] == "ours" and np.array_equal(np.asarray(data[5]), DATA[5])


@pytest.mark.parametrize("query", ["X-Amz-Signature=ab%2Fcd%3D&X-Amz-Credential=k%2F2026", "sig=%2B%20%25x"])
def test_viewer_sends_presigned_urls_as_given(query: str, server: LoopbackServer, viewer: Any) -> None:
    """A server that checks the raw request target (as S3 checks a signature) answers 403 to anything
    re-encoded: napari's open and the reader send the URL exactly as the user gave it. (npe2 matches the
    manifest's patterns against the whole URL, query included: ``*.mrcz[?]*``.)"""
    target = f"/ours.mrcz?{query}"
    server.signed = {target}
    server.reset()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}{target}"
        reader = get_reader(url)
        assert reader is not None
        ((data, attributes, kind),) = layer_tuples(reader(url))
        assert kind == "image" and np.array_equal(np.asarray(data[2]), DATA[2])
        (layer,) = viewer.open(url, plugin=PLUGIN)
        assert np.array_equal(np.asarray(layer.data[3]), DATA[3])
        assert {path for _, path, _ in server.requests} == {target}
    finally:
        server.signed = None
