"""Sidecar tilt angles as users' files really are: SerialEM .mdoc files with more [ZValue] sections than
slices or a ZValue twice (no angles, an MrczWarning naming the reason), and .mdoc/.rawtlt/.tlt saved by
Windows editors (UTF-8 byte-order mark, CRLF line ends), which are read. Cases are generated."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import napari_mrcz as nm
from napari_mrcz.errors import MrczWarning
from napari_mrcz.format.sidecars import parse_mdoc, parse_tlt

NZ = 4
ANGLE = st.floats(-70, 70, allow_nan=False).map(lambda a: round(a, 2))
ENCODINGS = {
    "utf-8": lambda t: t.encode(),
    "utf-8 BOM": lambda t: b"\xef\xbb\xbf" + t.encode(),
    "CRLF": lambda t: t.replace("\n", "\r\n").encode(),
    "BOM CRLF": lambda t: b"\xef\xbb\xbf" + t.replace("\n", "\r\n").encode(),
    "CR": lambda t: t.replace("\n", "\r").encode(),
}


def _mdoc(sections: list[tuple[int, float]]) -> str:
    head = "PixelSpacing = 2.1\nImageFile = TS_01.st\n\n[T = SerialEM: Digitized on EMBL Krios]\n\n"
    return head + "".join(f"[ZValue = {z}]\nTiltAngle = {a}\nStagePosition = 1 2\n\n" for z, a in sections)


def _stack(folder: Path, nz: int = NZ) -> Path:
    return nm.write(folder / "TS_01.st", np.zeros((nz, 4, 6), np.int16), compressor=None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ANGLE, min_size=NZ, max_size=NZ), st.sampled_from(sorted(ENCODINGS)), st.sampled_from(["mdoc", "rawtlt", "tlt"]),
       st.randoms())
def test_sidecars_with_bom_and_crlf_are_read(tmp_path_factory: pytest.TempPathFactory, angles: list[float],
                                             encoding: str, kind: str, rnd: object) -> None:
    folder = tmp_path_factory.mktemp("bom")
    path = _stack(folder)
    if kind == "mdoc":
        order = list(enumerate(angles))
        rnd.shuffle(order)  # type: ignore[attr-defined]  # sections in any order
        text, name = _mdoc(order), "TS_01.st.mdoc"
    else:
        text, name = "\n".join(f"  {a}" for a in angles) + "\n", f"TS_01.{kind}"
    (folder / name).write_bytes(ENCODINGS[encoding](text))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(nm.read(path).tilt_angles, angles)


@pytest.mark.parametrize("extra", range(1, 4))
@pytest.mark.parametrize("where", ["after", "before", "between"])
def test_mdoc_with_more_sections_than_slices_gives_no_angles(tmp_path: Path, extra: int, where: str) -> None:
    path = _stack(tmp_path)
    sections = [(z, float(z)) for z in range(NZ + extra)]
    if where == "before":  # ZValues of a longer stack, listed from the end
        sections.reverse()
    elif where == "between":
        sections = sections[::2] + sections[1::2]
    (tmp_path / "TS_01.st.mdoc").write_text(_mdoc(sections))
    with pytest.warns(MrczWarning, match=rf"TS_01\.st\.mdoc: tilt angles ignored: {NZ + extra} \[ZValue\] sections for {NZ} slices"):
        assert nm.read(path).tilt_angles is None


@given(st.integers(0, NZ - 1), st.integers(0, NZ), st.lists(ANGLE, min_size=NZ + 1, max_size=NZ + 1))
def test_a_duplicate_zvalue_gives_no_angles(z: int, at: int, angles: list[float]) -> None:
    sections = [(k, a) for k, a in zip(range(NZ), angles)]
    sections.insert(at, (z, angles[-1]))  # the same ZValue again, anywhere
    with pytest.raises(ValueError, match=rf"ZValue {z} appears twice"):
        parse_mdoc(_mdoc(sections), NZ)


def test_a_duplicate_zvalue_warns_when_read(tmp_path: Path) -> None:
    path = _stack(tmp_path)
    (tmp_path / "TS_01.st.mdoc").write_text(_mdoc([(0, 1.0), (1, 2.0), (1, 9.0), (2, 3.0), (3, 4.0)]))
    (tmp_path / "TS_01.rawtlt").write_text("1\n2\n3\n4\n")  # the next sidecar is used instead
    with pytest.warns(MrczWarning, match=r"TS_01\.st\.mdoc: tilt angles ignored: line \d+: ZValue 1 appears twice"):
        assert np.array_equal(nm.read(path).tilt_angles, [1, 2, 3, 4])


@pytest.mark.parametrize("z", [-1, NZ, 1000])
def test_a_zvalue_outside_the_slices_gives_no_angles(z: int) -> None:
    sections = [(k, float(k)) for k in range(NZ - 1)] + [(z, 5.0)]
    with pytest.raises(ValueError, match=rf"ZValue {z} is not one of the {NZ} slices"):
        parse_mdoc(_mdoc(sections), NZ)


def test_parsers_take_a_bom_in_text() -> None:
    assert parse_tlt("\ufeff1.5\r\n-2\r\n").tolist() == [1.5, -2.0]
    assert parse_mdoc("\ufeff" + _mdoc([(0, 3.0)]), 1).tolist() == [3.0]
