"""The mount (napari_mrcz.mount, napari_mrcz.fuse) with real clients on a real FUSE mount: mrcfile (strict), gemmi, cat
and numpy.fromfile read the plain views and get napari_mrcz.read's voxels; bytes equal
``convert --no-metadata --no-stats``; bad input, changes and wrong arguments."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm
from napari_mrcz.cli.main import main as cli

from corpus import TESTDATA, corpus_entries

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/fuse") or shutil.which("fusermount3") is None,
                                reason="no /dev/fuse or fusermount3 on this machine")
mfusepy = pytest.importorskip("mfusepy", exc_type=ImportError)
MRCZ = [e for e in corpus_entries("mrcz") if e["path"].endswith(".mrcz")]


@pytest.fixture(scope="module")
def mounted(tmp_path_factory: pytest.TempPathFactory):
    """The corpus's .mrcz files plus a few written here, mounted once for the module."""
    if not MRCZ:
        pytest.skip("no shared corpus")
    src = tmp_path_factory.mktemp("src")
    for e in MRCZ:
        shutil.copy(TESTDATA / e["path"], src)
    (src / "sub").mkdir()
    nm.write(src / "sub" / "vol4d.mrcz", np.arange(2 * 3 * 8 * 6, dtype=np.float32).reshape(2, 3, 8, 6))
    nm.write(src / "sub" / "signed.mrcz", np.arange(-60, 60, dtype=np.int8).reshape(3, 5, 8))
    shutil.copy(TESTDATA / "edges" / "tilt_fei2.mrc", src / "fei.mrc")
    assert cli(["convert", "-q", str(src / "fei.mrc"), str(src / "sub" / "fei.mrcz")]) == 0
    (src / "notes.txt").write_text("plain text\n")
    mnt = tmp_path_factory.mktemp("mnt")
    log = tmp_path_factory.mktemp("log") / "mount.log"
    before = {p: p.stat().st_mtime_ns for p in src.rglob("*")}
    with nm.mount(src, mnt, cache_bytes=8 * 2**20, readahead=2**20, log=log) as root:
        yield src, root, log
    assert {p: p.stat().st_mtime_ns for p in src.rglob("*")} == before  # never writes into SRC


def views(src: Path) -> list[Path]:
    return sorted(p.relative_to(src) for p in src.rglob("*.mrcz"))


def test_listing_maps_mrcz_to_mrc(mounted) -> None:
    src, root, _ = mounted
    names = set(os.listdir(root))
    assert "notes.txt" in names and "sub" in names
    assert all(p.name[:-1] in names for p in views(src) if p.parent == Path("."))
    assert not any(n.endswith(".mrcz") for n in names)
    assert (root / "notes.txt").read_text() == "plain text\n"
    assert (root / "fei.mrc").read_bytes() == (src / "fei.mrc").read_bytes()


def test_bytes_equal_convert_no_metadata_no_stats(mounted, tmp_path: Path) -> None:
    src, root, _ = mounted
    for rel in views(src):
        out = tmp_path / (rel.name[:-1])
        assert cli(["convert", "-q", "--force", "--no-metadata", "--no-stats", str(src / rel), str(out)]) == 0
        shown = root / rel.with_suffix(".mrc")
        assert shown.stat().st_size == out.stat().st_size, rel
        with open(shown, "rb") as f:  # odd-sized reads across slice borders
            got = b"".join(iter(lambda: f.read(777_777), b""))
        assert got == out.read_bytes(), rel


def test_clients_read_the_same_voxels(mounted) -> None:
    import mrcfile

    gemmi = pytest.importorskip("gemmi")
    src, root, _ = mounted
    for rel in views(src):
        want = nm.read(src / rel).data
        shown = root / rel.with_suffix(".mrc")
        with nm.open_mrc(shown) as info:
            offset, dtype, mode = info.header.data_offset, info.header.dtype, info.header.mrc_mode
        if mode not in (7, 8):  # int32/uint32: mrcz's modes, not MRC2014's
            with mrcfile.open(shown, permissive=False) as m:
                assert np.array_equal(m.data, want), rel
            assert mrcfile.validate(str(shown), print_file=open(os.devnull, "w")), rel
        flat = np.fromfile(shown, dtype=dtype, offset=offset)
        assert np.array_equal(flat, want.reshape(-1)), rel
        piped = subprocess.run(["cat", str(shown)], capture_output=True, check=True).stdout
        assert np.array_equal(np.frombuffer(piped[offset:], dtype=dtype), want.reshape(-1)), rel
        if want.dtype.kind != "c" and want.ndim == 3 and want.dtype.itemsize <= 4 and want.dtype != np.int32:
            grid = gemmi.read_ccp4_map(str(shown), setup=True).grid
            assert np.array_equal(np.asarray(grid).transpose(2, 1, 0), want), rel  # gemmi: x, y, z


def test_extended_headers_and_volumes(mounted) -> None:
    import mrcfile

    src, root, _ = mounted
    with mrcfile.open(root / "sub" / "fei.mrc") as m:
        assert m.header.exttyp == b"FEI2" and m.extended_header.nbytes == nm.open_mrc(src / "fei.mrc").header.nsymbt
    assert np.allclose(nm.open_mrc(root / "sub" / "fei.mrc").tilt_angles, nm.open_mrc(src / "fei.mrc").tilt_angles)
    with mrcfile.open(root / "tomo_float32_lz4_9_nm.mrc") as m:
        assert m.is_volume() and m.header.ispg == 1 and m.header.exttyp != b"json"
    with mrcfile.open(root / "sub" / "vol4d.mrc") as m:
        assert m.is_volume_stack() and m.data.shape == (2, 3, 8, 6)
    with mrcfile.open(root / "sub" / "signed.mrc") as m:  # IMOD reads mode 0 as signed when DMIN < 0
        assert m.header.dmin < 0 and m.header.dmax < m.header.dmin


@pytest.mark.slow
def test_many_processes_at_once(mounted) -> None:
    src, root, _ = mounted
    code = ("import sys, numpy as np, napari_mrcz as nm; a = nm.read(sys.argv[1]).data; "
            "b = nm.read(sys.argv[2]).data; sys.exit(0 if np.array_equal(a, b) else 1)")
    rels = views(src)[:4]
    procs = [subprocess.Popen([sys.executable, "-c", code, str(root / r.with_suffix(".mrc")), str(src / r)])
             for r in rels]
    assert [p.wait(timeout=120) for p in procs] == [0] * len(procs)


def test_corrupt_slice_is_eio_and_logged_others_work(tmp_path: Path) -> None:
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir(), mnt.mkdir()
    data = np.random.default_rng(1).random((6, 64, 64), dtype=np.float32)
    nm.write(src / "bad.mrcz", data)
    nm.write(src / "good.mrcz", data)
    info = nm.open_mrc(src / "bad.mrcz")
    off, size = int(info.chunk_index.offsets[3]), int(info.chunk_index.cbytes[3])
    info.close()
    raw = bytearray((src / "bad.mrcz").read_bytes())
    raw[off + 64 : off + size] = bytes(size - 64)  # damage slice 3's payload, keep its chunk header
    (src / "bad.mrcz").write_bytes(bytes(raw))
    (src / "cut.mrcz").write_bytes((src / "good.mrcz").read_bytes()[:3000])  # truncated: cannot be indexed
    log = tmp_path / "mount.log"
    with nm.mount(src, mnt, log=log, readahead=0) as root:
        assert {"bad.mrc", "good.mrc", "cut.mrc"} <= set(os.listdir(root))
        slice_bytes = 64 * 64 * 4
        with open(root / "bad.mrc", "rb") as f:
            f.seek(1024 + 1 * slice_bytes)
            assert np.array_equal(np.frombuffer(f.read(slice_bytes), "<f4"), data[1].reshape(-1))
            f.seek(1024 + 3 * slice_bytes)
            with pytest.raises(OSError) as err:
                f.read(slice_bytes)
            assert err.value.errno == 5  # EIO
        with pytest.raises(OSError):
            (root / "cut.mrc").read_bytes()
        assert np.array_equal(nm.read(root / "good.mrc").data, data)
    text = log.read_text()
    assert "bad.mrcz" in text and "z-slice 3" in text and "cut.mrcz" in text


def test_changed_file_is_reindexed_never_mixed(tmp_path: Path) -> None:
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir(), mnt.mkdir()
    first = np.zeros((4, 32, 32), np.int16)
    second = np.ones((6, 32, 48), np.int16)
    nm.write(src / "x.mrcz", first)
    with nm.mount(src, mnt) as root:
        assert np.array_equal(nm.read(root / "x.mrc").data, first)
        nm.write(src / "x.mrcz", second)  # replaced (atomic rename), as our writer does
        os.utime(src / "x.mrcz", ns=(1, 1))
        assert np.array_equal(nm.read(root / "x.mrc").data, second)
        handle = open(root / "x.mrc", "rb")
        raw = (src / "x.mrcz").read_bytes()
        with open(src / "x.mrcz", "r+b") as f:  # rewritten in place while open
            f.write(raw[:1024] + raw[1024:][::-1][: len(raw) - 1024])
        with pytest.raises(OSError):
            handle.seek(1024)
            handle.read()
        handle.close()


@pytest.mark.parametrize("case", ["src-file", "src-missing", "mnt-not-empty", "mnt-inside-src"])
def test_bad_places_are_clear_errors(tmp_path: Path, case: str) -> None:
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir(), mnt.mkdir()
    if case == "src-file":
        src = tmp_path / "f.mrcz"
        src.write_bytes(b"x")
    elif case == "src-missing":
        src = tmp_path / "nothing"
    elif case == "mnt-not-empty":
        (mnt / "x").write_text("x")
    else:
        mnt = src / "inner"
        mnt.mkdir()
    with pytest.raises(nm.MrczError):
        with nm.mount(src, mnt):
            pass
    assert cli(["mount", str(src), str(mnt)]) == 1


def test_import_does_not_load_fuse() -> None:
    code = "import sys, napari_mrcz; assert 'mfusepy' not in sys.modules and 'napari_mrcz.fuse' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_hostile_files_never_break_the_mount(tmp_path: Path) -> None:
    """The corpus's hostile .mrcz files and damaged variants of a good one (cut at many points, bytes
    flipped in headers, chunk headers and payloads): each is listed; reading it gives EIO or bytes, never a
    hang or a dead mount; the good file beside them reads right throughout."""
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir(), mnt.mkdir()
    data = np.random.default_rng(7).normal(size=(5, 40, 48)).astype(np.float32)
    nm.write(src / "good.mrcz", data)
    raw = (src / "good.mrcz").read_bytes()
    info = nm.open_mrc(src / "good.mrcz")
    chunk = int(info.chunk_index.offsets[2])
    info.close()
    variants = {f"cut{n}": raw[:n] for n in (0, 100, 1024, chunk + 8, chunk + 200, len(raw) - 1)}
    for name, at in (("hdr", 8), ("mode", 12), ("nsymbt", 92), ("chunkhdr", chunk + 12), ("payload", chunk + 300)):
        bad = bytearray(raw)
        bad[at] ^= 0xFF
        variants[f"flip_{name}"] = bytes(bad)
    for name, content in variants.items():
        (src / f"{name}.mrcz").write_bytes(content)
    for path in sorted((TESTDATA / "bad").glob("*.mrcz")) if (TESTDATA / "bad").is_dir() else []:
        shutil.copy(path, src / path.name)
    with nm.mount(src, mnt, log=tmp_path / "log") as root:
        names = set(os.listdir(root))
        for path in sorted(src.glob("*.mrcz")):
            shown = root / (path.name[:-1])
            assert shown.name in names
            try:
                shown.read_bytes()
            except OSError as err:
                assert err.errno == 5, (path.name, err)  # EIO
            assert os.path.ismount(root)
        assert np.array_equal(nm.read(root / "good.mrc").data, data)
