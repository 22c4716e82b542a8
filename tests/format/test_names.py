"""File names (napari_mrcz.format.names): one table of suffixes and one rule for splitting names, claiming
inputs and naming outputs, checked on generated names against every consumer (napari reader claims,
batch planning, sidecars, the density-map rule)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from napari_mrcz import MrczError
from napari_mrcz.format import names
from napari_mrcz.format.names import output_compressor
from napari_mrcz.io.batch.plan import is_input_name, output_name

STEMS = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/\\\0"), min_size=1, max_size=12).filter(
    lambda s: not s.lower().endswith(names.READ_SUFFIXES + names.STREAM_SUFFIXES)
)


def _case(text: str, pattern: int) -> str:
    return "".join(c.upper() if pattern >> (i % 16) & 1 else c for i, c in enumerate(text))


@given(STEMS, st.sampled_from(names.READ_SUFFIXES), st.sampled_from(("", *names.STREAM_SUFFIXES)), st.integers(0, 2**16))
def test_split_name_recovers_stem_and_suffixes(stem: str, suffix: str, stream: str, case: int) -> None:
    name = stem + _case(suffix + stream, case)
    assert names.split_name(name) == (stem, suffix, stream)
    assert names.mrc_suffix(name) == suffix and names.stem(name) == stem
    assert names.is_mrc_name(name) == (suffix in names.PLAIN_SUFFIXES or not stream)
    assert names.output_name(name, ".mrcz") == stem + ".mrcz"
    assert output_name(Path("/data") / name, ".mrc") == stem + ".mrc"


@pytest.mark.parametrize("suffix", names.PLAIN_SUFFIXES + (names.COMPRESSED_SUFFIX,))
def test_every_suffix_single_file_convert_writes_is_a_batch_suffix(suffix: str) -> None:
    for variant in (suffix, suffix.upper()):
        kind = names.suffix_kind("x" + variant)
        assert names.check_output_suffix(variant) == kind
        assert (output_compressor("*" + variant, None) is None) == (kind == "plain")


@pytest.mark.parametrize("bad", [".tif", ".mrc.gz", ".bz2", "mrc", "", ".mrcz.gz"])
def test_other_batch_suffixes_are_refused_naming_the_choices(bad: str) -> None:
    with pytest.raises(MrczError, match=r"\.mrcz or one of \.mrc, .*\.msk"):
        names.check_output_suffix(bad)
    with pytest.raises(MrczError, match="not an MRC suffix"):
        output_compressor("*" + bad, None)


def test_names_examples() -> None:
    assert names.split_name("EMD-1.MAP.gz") == ("EMD-1", ".map", ".gz")
    assert names.split_name("x.mrcz") == ("x", ".mrcz", "")
    assert names.split_name("frames.tif") == ("frames.tif", "", "")
    assert names.stem("frames.tif") == "frames" and names.stem("raw.gz") == "raw" and names.stem("noext") == "noext"
    assert names.mrc_suffix("tomo.PREALI.bz2") == ".preali"
    assert not names.is_mrc_name("a.mrcz.gz") and not names.is_mrc_name(".mrc") and not names.is_mrc_name("a.fid")
    assert is_input_name("a.msk") and not is_input_name(".hidden.mrc")
    assert names.with_default_suffix("/d/x", ".mrc") == "/d/x.mrc"
    assert names.with_default_suffix("/d.v2/x.map", ".mrc") == "/d.v2/x.map"
    assert names.with_default_suffix("/d.v2/x", ".mrcz") == "/d.v2/x.mrcz"


@pytest.mark.parametrize("suffix, stream", list(itertools.product(names.PLAIN_SUFFIXES, ("", *names.STREAM_SUFFIXES))))
def test_sidecar_names(suffix: str, stream: str) -> None:
    mdoc, first, second = names.sidecar_names(f"TS_01{suffix}{stream}")
    assert mdoc == f"TS_01{suffix}.mdoc"
    expected = ["TS_01.tlt", "TS_01.rawtlt"] if suffix == ".ali" else ["TS_01.rawtlt", "TS_01.tlt"]
    assert [first, second] == expected


def test_layer_file_names_are_safe_and_unique() -> None:
    taken: set[str] = set()
    got = [names.layer_file_name(n, taken) for n in ("a", "A", "a/b", "", " . ", "a")]
    assert got == ["a.mrcz", "A-2.mrcz", "a_b.mrcz", "layer.mrcz", "layer-2.mrcz", "a-3.mrcz"]
