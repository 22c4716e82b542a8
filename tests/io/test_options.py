"""Options as values: CodecSettings, PrecisionSettings and HeaderFields are small frozen values built
from the keyword APIs (which keep working) and passed on whole; both ways write the same bytes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.errors import MrczError
from napari_mrcz.format.kept import KeptFields
from napari_mrcz.format.names import BY_NAME
from napari_mrcz.io.codec.settings import CodecSettings
from napari_mrcz.io.writer.header_fields import HeaderFields
from napari_mrcz.io.writer.mrcz_writer import MrczWriter
from napari_mrcz.values.precision import PrecisionSettings

DATA = (np.arange(3 * 20 * 24, dtype=np.float32).reshape(3, 20, 24) / 7).astype(np.float32)


def _same_file(a: Path, b: Path) -> bool:
    return a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("name", ["a.mrcz", "a.mrc"])
def test_keywords_and_values_write_the_same_bytes(tmp_path: Path, name: str) -> None:
    (tmp_path / "k").mkdir()
    (tmp_path / "v").mkdir()
    nm.write(tmp_path / "k" / name, DATA, compressor=BY_NAME, clevel=3, shuffle="byte", n_threads=2,
             voxel_size=(2.0, 1.5, 1.5), units="nm", origin=(1, 2, 3), metadata={"x": 1}, voltage=300, c3=2.7,
             tolerance=0.01, labels=["hello"])
    header = HeaderFields.from_arguments(voxel_size=(2.0, 1.5, 1.5), units="nm", origin=(1, 2, 3), metadata={"x": 1},
                                         voltage=300, c3=2.7, kept=KeptFields(labels=("hello",)), ndim=3)
    nm.write(tmp_path / "v" / name, DATA, codec=CodecSettings(BY_NAME, 3, "byte", threads=2), header=header,
             precision=PrecisionSettings(0.01))
    assert _same_file(tmp_path / "k" / name, tmp_path / "v" / name)


def test_writer_from_options_equals_the_keyword_writer(tmp_path: Path) -> None:
    with MrczWriter(tmp_path / "k.mrcz", compressor="lz4", clevel=5, tolerance=0.1, voxel_size=3) as writer:
        writer.write(DATA)
    with MrczWriter.from_options(tmp_path / "v.mrcz", codec=CodecSettings("lz4", 5),
                                 precision=PrecisionSettings(0.1),
                                 fields=HeaderFields.from_arguments(voxel_size=3)) as writer:
        writer.submit(DATA.copy())  # the public hand-off write() uses
    assert _same_file(tmp_path / "k.mrcz", tmp_path / "v.mrcz")


def test_convert_file_takes_the_codec_as_a_value(tmp_path: Path) -> None:
    nm.write(tmp_path / "in.mrc", DATA)
    nm.convert_file(tmp_path / "in.mrc", tmp_path / "k.mrcz", compressor="zlib", clevel=4)
    nm.convert_file(tmp_path / "in.mrc", tmp_path / "v.mrcz", codec=CodecSettings("zlib", 4))
    assert _same_file(tmp_path / "k.mrcz", tmp_path / "v.mrcz")
    with pytest.raises(MrczError, match="not both"):
        nm.convert_file(tmp_path / "in.mrc", tmp_path / "x.mrcz", codec=CodecSettings("zlib"), clevel=4)


@pytest.mark.parametrize(("value", "keywords"), [
    ("codec", {"compressor": "lz4"}), ("codec", {"clevel": 3}), ("codec", {"n_threads": 2}),
    ("precision", {"tolerance": 0.1}), ("precision", {"lossy_cast": True}),
    ("header", {"voxel_size": 2.0}), ("header", {"labels": ["x"]}), ("header", {"endianness": ">"}),
])
def test_a_value_and_its_keywords_are_not_both_given(tmp_path: Path, value: str, keywords: dict) -> None:
    values = {"codec": CodecSettings(), "precision": PrecisionSettings(), "header": HeaderFields.from_arguments()}
    with pytest.raises(MrczError, match=f"pass {value}= or"):
        nm.write(tmp_path / "x.mrcz", DATA, **{value: values[value]}, **keywords)
    assert not (tmp_path / "x.mrcz").exists()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"compressor": "gzip"}, "compressor must be"), ({"clevel": 10}, "clevel"), ({"clevel": True}, "clevel"),
    ({"shuffle": "twice"}, "shuffle"), ({"threads": 0}, "n_threads"), ({"blocksize": -1}, "blocksize"),
])
def test_codec_settings_are_checked_when_made(kwargs: dict, match: str) -> None:
    with pytest.raises(MrczError, match=match):
        CodecSettings(**kwargs)


def test_values_are_frozen_and_compare_by_value() -> None:
    assert CodecSettings("zstd", 1) == CodecSettings("zstd", 1)
    assert PrecisionSettings(0) == PrecisionSettings(None)  # 0: lossless, as None
    with pytest.raises(dataclasses.FrozenInstanceError):
        CodecSettings().clevel = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        PrecisionSettings().tolerance = 1.0  # type: ignore[misc]
    with pytest.raises(MrczError):
        PrecisionSettings(-1.0)
    assert CodecSettings().for_file("x.mrc").compressor is None
    assert CodecSettings().for_file("x.mrcz").compressor == "zstd"


def test_write_no_longer_calls_a_private_writer_method() -> None:
    import ast
    import inspect

    from napari_mrcz.io.writer import write as module

    tree = ast.parse(inspect.getsource(module))
    private = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr.startswith("_")
               and not n.attr.startswith("__") and isinstance(n.value, ast.Name) and n.value.id == "writer"]
    assert private == []
