"""OME-Zarr to and from S3: a real S3-compatible server (moto's server mode) on 127.0.0.1, started by the
test. The AWS environment variables (AWS_ENDPOINT_URL included) and the CLI's --storage-options both
reach it; a write that fails midway leaves nothing behind; kerchunk references work on s3:// files."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from checks import FailingArray
from napari_mrcz.errors import MrczError

pytest.importorskip("zarr")
pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

pytestmark = pytest.mark.slow  # moto's server takes ~10 s to start

RNG = np.random.default_rng(2424)
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    import s3fs

    for key, value in {**KEYS, "AWS_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(key, value)
    name = f"b{abs(hash(request.node.name)) % 10**8}"
    s3fs.S3FileSystem(skip_instance_cache=True).mkdir(name)
    return name


def test_write_and_read_through_aws_environment(bucket: str) -> None:
    data = RNG.normal(size=(20, 300, 90)).astype(np.float32)
    url = f"s3://{bucket}/t.ome.zarr"
    assert nm.write(url, data, voxel_size=(2.0, 1.0, 1.0), origin=(4, 5, 6), overwrite=False) == url
    image = nm.read(url, lazy=True)
    assert np.array_equal(image.data.compute(), data)
    assert image.voxel_size == (2.0, 1.0, 1.0) and image.origin == (4.0, 5.0, 6.0)
    assert nm.read(url, level=1).data.shape == (10, 150, 45)
    with pytest.raises(MrczError, match="exists"):
        nm.write(url, data, overwrite=False)




def test_failure_mid_write_leaves_nothing(bucket: str) -> None:
    import s3fs

    from napari_mrcz.io.zarr.ome_write import write_ome_zarr

    data = RNG.normal(size=(40, 64, 64)).astype(np.float32)
    with pytest.raises(MrczError, match="source lost"):
        write_ome_zarr(f"s3://{bucket}/f.ome.zarr", FailingArray(data, 4), chunks=16)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    assert not fs.exists(f"{bucket}/f.ome.zarr/.zattrs") and fs.find(bucket) == []
    with pytest.raises(MrczError, match="multiscales|no such|not a readable"):
        nm.read(f"s3://{bucket}/f.ome.zarr")


def test_cli_storage_options_without_environment(endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import s3fs

    from napari_mrcz.cli.main import main

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    options = {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}
    s3fs.S3FileSystem(skip_instance_cache=True, **options).mkdir("cli")
    data = RNG.integers(0, 500, size=(6, 40, 30)).astype(np.int16)
    src = nm.write(tmp_path / "a.mrcz", data, voxel_size=3.0, metadata={"k": "v"})
    flag = ["--storage-options", json.dumps(options), "-q"]
    assert main(["convert", str(src), "s3://cli/a.ome.zarr", *flag]) == 0
    assert main(["convert", "s3://cli/a.ome.zarr", str(tmp_path / "b.mrc"), *flag]) == 0
    back = nm.read(tmp_path / "b.mrc")
    assert np.array_equal(back.data, data) and back.voxel_size == (3.0, 3.0, 3.0) and back.metadata == {"k": "v"}


def test_references_to_an_s3_file(bucket: str, tmp_path: Path, endpoint: str) -> None:
    import s3fs
    import xarray as xr

    pytest.importorskip("kerchunk")
    data = RNG.normal(size=(5, 30, 20)).astype(np.float32)
    s3fs.S3FileSystem(skip_instance_cache=True).put(str(nm.write(tmp_path / "r.mrcz", data)), f"{bucket}/r.mrcz")
    refs = nm.references(f"s3://{bucket}/r.mrcz")
    ds = xr.open_dataset(refs, engine="kerchunk", storage_options={"remote_protocol": "s3"})
    assert np.array_equal(ds["data"].values, data)
