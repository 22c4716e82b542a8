"""The napari writer hooks: open -> save -> open round trips, units to Å, lazy layers streamed with
progress, several layers to a folder, refusals, and the default codec from the plugin settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("napari")
npe2 = pytest.importorskip("npe2")

import napari_mrcz as nm  # noqa: E402
from napari_mrcz.plugin import reader as _reader, writer as _writer  # noqa: E402
from napari_mrcz.errors import MrczError, MrczWarning  # noqa: E402
from checks import PLUGIN  # noqa: E402


@pytest.fixture(autouse=True)
def _no_env_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_writer.ENV_COMPRESSOR, raising=False)
    monkeypatch.delenv(_writer.ENV_CLEVEL, raising=False)


@pytest.mark.parametrize("ext", [".mrcz", ".mrc"])
@pytest.mark.parametrize(
    "source", ["mrcz/tomo_float32_lz4_9_nm.mrcz", "mrcz/movie_int8_zstd1.mrcz", "real/EMD-3197.map.bz2",
               "mrcz/image_float32_single_zstd.mrcz"]
)
def test_open_save_open_round_trip(viewer: Any, testdata: Path, tmp_path: Path, source: str, ext: str) -> None:
    (first,) = viewer.open(str(testdata / source), plugin=PLUGIN)
    target = tmp_path / f"copy{ext}"
    assert viewer.layers.save(str(target), plugin=PLUGIN) == [str(target)]
    (second,) = viewer.open(str(target), plugin=PLUGIN)
    assert np.array_equal(np.asarray(second.data), np.asarray(first.data))
    assert second.data.dtype == first.data.dtype
    assert np.allclose(second.scale, first.scale, rtol=1e-6)
    assert second.units == first.units and tuple(second.axis_labels) == tuple(first.axis_labels)
    assert second.metadata["mrcz"]["metadata"] == first.metadata["mrcz"]["metadata"]  # user JSON, exactly
    header = second.metadata["mrcz"]["header"]
    assert header["compressor"] == ("zstd" if ext == ".mrcz" else None)
    for word, default in (("voltage", 0.0), ("c3", 0.0), ("gain", 1.0)):  # None: not the mrcz words; mrcz's default
        before = first.metadata["mrcz"]["header"][word]
        assert header[word] == (default if before is None else before)


def test_units_become_angstrom(viewer: Any, tmp_path: Path) -> None:
    data = np.zeros((2, 3, 4), np.float32)
    cases = {
        "nm": (("nm", "nm", "nm"), (1.5, 0.5, 0.5), (15, 5, 5)),
        "mixed": (("micrometer", "angstrom", "picometer"), (0.001, 2, 300), (10, 2, 3)),
        "pixel": (("pixel", "pixel", "pixel"), (2, 1, 1), (2, 1, 1)),  # no unit: the scale is taken as Å
        "inch": (("inch", "inch", "inch"), (1e-9, 1e-9, 1e-9), (0.254,) * 3),  # any pint length
    }
    for name, (units, scale, angstrom) in cases.items():
        viewer.add_image(data, name=name, scale=scale, units=units)
        viewer.layers.selection = {viewer.layers[name]}
        (written,) = viewer.layers.save(str(tmp_path / f"{name}.mrcz"), selected=True, plugin=PLUGIN)
        assert np.allclose(nm.read(written).voxel_size, angstrom, rtol=1e-6), name


def test_non_length_units_warn(viewer: Any, tmp_path: Path) -> None:
    viewer.add_image(np.zeros((2, 3, 4), np.float32), scale=(0.5, 1, 1), units=("second", "nm", "nm"))
    with pytest.warns(MrczWarning, match="'z' is in second"):
        (written,) = viewer.layers.save(str(tmp_path / "movie.mrcz"), plugin=PLUGIN)
    assert nm.read(written).voxel_size == (0.5, 10.0, 10.0)


def test_metadata_of_other_layers(viewer: Any, tmp_path: Path) -> None:
    viewer.add_image(np.ones((2, 3), np.uint16), metadata={"a": [1, 2], "b": {"c": "é"}, "obj": object()})
    with pytest.warns(MrczWarning, match="'obj' cannot be stored as JSON"):
        (written,) = viewer.layers.save(str(tmp_path / "x.mrcz"), plugin=PLUGIN)
    assert nm.read(written).metadata == {"a": [1, 2], "b": {"c": "é"}}


def test_added_metadata_is_written_beside_the_files(viewer: Any, testdata: Path, tmp_path: Path) -> None:
    (layer,) = viewer.open(str(testdata / "mrcz" / "movie_int8_zstd1.mrcz"), plugin=PLUGIN)
    layer.metadata["operator"] = "me"
    (written,) = viewer.layers.save(str(tmp_path / "m.mrcz"), plugin=PLUGIN)
    assert nm.read(written).metadata == {"detector": "K3", "dose_e_per_A2": 1.2, "operator": "me"}


def test_lazy_layer_streams_with_progress(
    settings: Callable[[str, Any], None],
    viewer: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import napari.utils

    from napari_mrcz.io.reader import array

    volume = np.random.default_rng(1).integers(0, 9, size=(9, 30, 20)).astype(np.uint16)
    source = nm.write(tmp_path / "src.mrcz", volume, voxel_size=(4.0, 2.0, 2.0), metadata={"k": 1})
    settings("reader.lazy_bytes", 0)
    (layer,) = viewer.open(str(source), plugin=PLUGIN)
    assert type(layer.data).__name__ == "MrcArray"

    blocks: list[int] = []
    original = array.read_storage
    monkeypatch.setattr(array, "read_storage", lambda info, z, *a, **k: blocks.append(len(z)) or original(info, z, *a, **k))
    bars: list[Any] = []

    class Recording(napari.utils.progress):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(napari.utils, "progress", Recording)
    (written,) = viewer.layers.save(str(tmp_path / "out.mrcz"), plugin=PLUGIN)
    assert blocks == [1] * 9  # one z-slice at a time, never the whole volume
    assert len(bars) == 1 and bars[0].total == 9 and bars[0].n == 9 and "src" in bars[0].desc
    image = nm.read(written)
    assert np.array_equal(image.data, volume) and image.metadata == {"k": 1}


def test_refuses_to_replace_the_file_a_lazy_layer_reads(
    settings: Callable[[str, Any], None],
    viewer: Any, tmp_path: Path
) -> None:
    source = nm.write(tmp_path / "src.mrcz", np.ones((3, 4, 5), np.float32))
    settings("reader.lazy_bytes", 0)
    viewer.open(str(source), plugin=PLUGIN)
    before = source.read_bytes()
    with pytest.raises(_writer.LayerNotSavedError, match="the file this lazy layer reads from"):
        viewer.layers.save(str(source), plugin=PLUGIN)
    assert source.read_bytes() == before


def test_several_layers_go_to_a_folder(viewer: Any, tmp_path: Path) -> None:
    viewer.add_image(np.ones((2, 3, 4), np.float32), name="first", scale=(2, 2, 2), units="nm")
    viewer.add_image(np.zeros((3, 4), np.int16), name="a/b: c")
    viewer.add_image(np.zeros((3, 4), np.int16), name="first ")  # sanitised to a name already taken
    folder = tmp_path / "layers"
    written = viewer.layers.save(str(folder), plugin=PLUGIN)
    assert [Path(p).name for p in written] == ["first.mrcz", "a_b_ c.mrcz", "first-2.mrcz"]
    assert nm.read(folder / "first.mrcz").voxel_size == (20.0, 20.0, 20.0)
    reopened = viewer.open(str(folder), plugin=PLUGIN)
    assert len(reopened) == 3


def test_several_layers_to_one_file_is_refused(viewer: Any, tmp_path: Path) -> None:
    viewer.add_image(np.ones((2, 3), np.float32))
    viewer.add_image(np.ones((2, 3), np.float32))
    with pytest.warns(UserWarning, match="not a valid writer"):
        assert viewer.layers.save(str(tmp_path / "both.mrcz"), plugin=PLUGIN) == []
    assert not (tmp_path / "both.mrcz").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(_writer.LayerNotSavedError, match="is a file"):
        _writer.write_mrcz_folder(str(tmp_path / "file"), [layer.as_layer_data_tuple() for layer in viewer.layers])


def test_no_extension_single_layer_gets_mrcz(viewer: Any, tmp_path: Path) -> None:
    viewer.add_image(np.ones((2, 3), np.float32))
    assert viewer.layers.save(str(tmp_path / "plain"), plugin=PLUGIN) == [str(tmp_path / "plain.mrcz")]


def test_wide_dtypes(viewer: Any, tmp_path: Path) -> None:
    values = np.random.default_rng(2).normal(size=(2, 3, 4))
    viewer.add_image(values, name="f8")  # float64, as scikit-image returns: rounded to float32
    (written,) = viewer.layers.save(str(tmp_path / "f8.mrcz"), plugin=PLUGIN)
    assert np.array_equal(nm.read(written).data, values.astype(np.float32))
    viewer.layers.clear()
    viewer.add_image(np.array([[0, 2**40]], dtype=np.int64), name="i8")
    with pytest.raises(_writer.LayerNotSavedError, match="do not fit in int32"):
        viewer.layers.save(str(tmp_path / "i8.mrcz"), plugin=PLUGIN)
    assert not (tmp_path / "i8.mrcz").exists()


def test_rgb_is_refused(viewer: Any, tmp_path: Path) -> None:
    viewer.add_image(np.zeros((4, 5, 3), np.uint8), rgb=True)
    with pytest.raises(_writer.LayerNotSavedError, match="RGB") as info:
        viewer.layers.save(str(tmp_path / "rgb.mrcz"), plugin=PLUGIN)
    assert isinstance(info.value.__cause__, MrczError)


def test_default_codec_from_plugin_settings(plugin_settings: Any, npe2pm: Any, tmp_path: Path) -> None:
    from napari.settings import get_plugin_settings

    npe2pm.register(npe2.PluginManifest.from_distribution(PLUGIN))
    assert _writer.default_codec() == ("zstd", 1)  # out of the box
    settings = get_plugin_settings(PLUGIN).compression
    settings.compressor, settings.clevel = "lz4", 7
    assert _writer.default_codec() == ("lz4", 7)
    with pytest.raises(ValueError):
        settings.compressor = "snappy"  # not offered: cannot be written
    (written,) = _writer.write_mrcz(str(tmp_path / "s"), np.ones((2, 3), np.float32), {"name": "s"})
    assert nm.open_mrc(written).header.compressor == "lz4"


def test_environment_overrides_the_default_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_writer.ENV_COMPRESSOR, "ZLIB")
    monkeypatch.setenv(_writer.ENV_CLEVEL, "4")
    assert _writer.default_codec() == ("zlib", 4)
    monkeypatch.setenv(_writer.ENV_CLEVEL, "0")
    with pytest.raises(MrczError, match="NAPARI_MRCZ_CLEVEL='0'"):
        _writer.default_codec()


@pytest.mark.slow
def test_save_layer_in_a_real_viewer(make_napari_viewer: Any, testdata: Path, tmp_path: Path) -> None:
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(testdata / "mrcz" / "counts_uint16_zlib5_pm.mrcz"), plugin=PLUGIN)
    (written,) = viewer.layers.save(str(tmp_path / "counts.mrcz"), selected=True, plugin=PLUGIN)
    image = nm.read(written)
    assert np.array_equal(image.data, layer.data) and image.voxel_size == (1.0, 0.85, 0.85)
