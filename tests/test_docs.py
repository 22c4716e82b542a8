"""Every code block of the README and docs/ runs, so the documentation cannot rot.

- ```python blocks run in a fresh namespace (as ``__main__``) in a temporary folder that holds the small
  files the docs name (``tomogram.mrcz``, ``movie.mrc``, ``raw/``, ...: :func:`doc_files`).
- ```bash blocks: each line that calls ``napari-mrcz`` runs, in order, through this checkout's CLI in
  such a folder and must exit 0. Lines of ``napari-mrcz view`` (opens napari; covered by
  tests/cli/test_view_headless.py) and lines naming a URL (remote servers; no network in tests) are left
  out. Other commands (pip, napari, bench) are not run.
- An HTML comment right before a block changes how it runs: ``<!-- test: skip: REASON -->`` (a block that
  cannot run here, e.g. it reads a remote URL), ``<!-- test: slow -->`` (starts dask.distributed
  workers), ``<!-- test: napari -->`` (a real napari window, in a subprocess, on the display xvfb-run
  gives the test suite; ``napari.run()`` returns at once).
- Relative links between the documents point at files and headings that exist.
"""

from __future__ import annotations

import gzip
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import napari_mrcz as nm

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md",
        ROOT / "CHANGELOG.md"]
USER_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
DIRECTIVE = re.compile(r"^<!--\s*test:\s*(\w+)(?::\s*(.*?))?\s*-->$")
SKIPPED_CLI = {"view": "opens napari (tests/cli/test_view_headless.py runs it headless)",
               "mount": "mounts a file system (tests/mount/test_mount.py runs it)"}


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int
    lang: str
    code: str
    directive: str | None
    reason: str | None

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    """The fenced code blocks of ``doc``, each with the ``<!-- test: ... -->`` comment before it."""
    found: list[Block] = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    directive: tuple[str, str | None] | None = None
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        comment = DIRECTIVE.match(lines[i].strip())
        if comment:
            directive = (comment.group(1), comment.group(2))
        elif match:
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            found.append(Block(doc, start, match.group(1), "\n".join(body) + "\n",
                               directive[0] if directive else None, directive[1] if directive else None))
            directive = None
        elif lines[i].strip():
            directive = None  # a comment applies to the block right after it (blank lines between)
        i += 1
    return found


ALL_BLOCKS = [b for doc in DOCS for b in blocks(doc)]
PYTHON = [b for b in ALL_BLOCKS if b.lang == "python"]
CLI = [b for b in ALL_BLOCKS if b.lang == "bash" and re.search(r"^napari-mrcz\s", b.code, re.M)]


def params(selected: list[Block]) -> list:
    out = []
    for b in selected:
        marks = []
        if b.directive == "skip":
            marks.append(pytest.mark.skip(reason=b.reason or "marked skip in the document"))
        elif b.directive == "slow":
            marks.append(pytest.mark.slow)
        elif b.directive == "napari":
            marks += [pytest.mark.slow, pytest.mark.gui]
        elif b.directive is not None:
            raise ValueError(f"{b.id}: unknown directive <!-- test: {b.directive} -->")
        out.append(pytest.param(b, id=b.id, marks=marks))
    return out


# ---- the files the documents name ---------------------------------------------------------------------


def _write_doc_files(folder: Path) -> None:
    rng = np.random.default_rng(7)
    z, y, x = np.mgrid[:16, :64, :64]
    tomogram = (np.exp(-((y - 32) ** 2 + (x - 32) ** 2) / 200.0) + rng.normal(0, 0.2, (16, 64, 64)))
    tomogram = tomogram.astype(np.float32)
    nm.write(folder / "tomogram.mrcz", tomogram, voxel_size=13.6, metadata={"sample": "synthetic"},
             voltage=300.0)
    nm.write(folder / "tomogram.mrc", tomogram, voxel_size=13.6)
    nm.write(folder / "tomo.mrc", tomogram, voxel_size=13.6)
    nm.write(folder / "movie.mrc", rng.poisson(1, (8, 64, 64)).astype(np.int8), voxel_size=0.65)
    nm.write(folder / "counts.mrc", rng.poisson(20, (4, 64, 64)).astype(np.float32), voxel_size=0.65)
    volume = np.exp(-((z - 8) ** 2 + (y - 32) ** 2 + (x - 32) ** 2) / 50.0).astype(np.float32)
    nm.write(folder / "map.mrc", volume, voxel_size=1.1)
    nm.write(folder / "emd_1234.map", volume, voxel_size=1.1)
    path = folder / "emd_1234.map"
    (folder / "emd_1234.map.gz").write_bytes(gzip.compress(path.read_bytes(), compresslevel=1))
    path.unlink()
    labels = np.zeros((8, 32, 32), np.int16)
    labels[2:6, 8:20, 8:20] = 1
    labels[3:5, 22:30, 4:12] = 2
    nm.write(folder / "membranes.mrc", labels, voxel_size=13.6)
    for sub, name in (("raw", "a.mrc"), ("raw", "b.mrc"), ("session/s1", "x.mrc"), ("session", "y.mrc")):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        nm.write(folder / sub / name, rng.normal(size=(2, 16, 16)).astype(np.float32), voxel_size=1.0)
    (folder / "tomos").mkdir()
    nm.write(folder / "tomos" / "tomo.mrcz", tomogram, voxel_size=13.6)
    (folder / "plain").mkdir()


@pytest.fixture(scope="session")
def _doc_files_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("doc-files")
    _write_doc_files(folder)
    return folder


@pytest.fixture
def doc_files(_doc_files_master: Path, tmp_path: Path) -> Path:
    """A fresh copy of the files the documents name, in a folder of its own."""
    work = tmp_path / "work"
    shutil.copytree(_doc_files_master, work)
    return work


# ---- python blocks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", params(PYTHON))
def test_python_block(block: Block, doc_files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(doc_files)
    if block.directive == "napari":
        _run_in_napari(block, doc_files)
        return
    code = compile(block.code, block.id, "exec")
    exec(code, {"__name__": "__main__"})  # noqa: S102 - the documents' own examples


def _run_in_napari(block: Block, cwd: Path) -> None:
    pytest.importorskip("napari")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        pytest.skip("no display: run the suite under xvfb-run (bash scripts/run.sh test)")
    prelude = "import napari\nnapari.run = lambda *args, **kwargs: None\n"
    epilogue = "\nviewer.close()\n" if re.search(r"^viewer = ", block.code, re.M) else ""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-c", prelude + block.code + epilogue], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{block.id} failed:\n{result.stdout}\n{result.stderr}"


# ---- bash blocks that call napari-mrcz ----------------------------------------------------------------


def cli_lines(block: Block) -> list[tuple[str, str | None]]:
    """Each ``napari-mrcz`` command line of the block, with the reason it is left out (or None)."""
    out = []
    for raw in block.code.replace("\\\n", " ").splitlines():
        words = shlex.split(raw, comments=True)
        if not words or words[0] != "napari-mrcz":
            continue
        command = raw.strip()  # bash drops the trailing comment and expands globs as a user's shell would
        if len(words) > 1 and words[1] in SKIPPED_CLI:
            out.append((command, SKIPPED_CLI[words[1]]))
        elif "://" in raw:
            out.append((command, "names a remote server"))
        else:
            out.append((command, None))
    return out


@pytest.fixture(scope="session")
def cli_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a ``napari-mrcz`` that runs this checkout's CLI with this Python."""
    folder = tmp_path_factory.mktemp("bin")
    script = folder / "napari-mrcz"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m napari_mrcz "$@"\n')
    script.chmod(0o755)
    return folder


@pytest.mark.parametrize("block", params(CLI))
def test_cli_block(block: Block, doc_files: Path, cli_bin: Path) -> None:
    lines = cli_lines(block)
    runnable = [command for command, reason in lines if reason is None]
    if not runnable:
        pytest.skip("; ".join(sorted({reason for _, reason in lines if reason})))
    env = {**os.environ, "PATH": f"{cli_bin}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for command in runnable:
        result = subprocess.run(["bash", "-c", command], cwd=doc_files, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, f"{block.id}: `{command}` exited {result.returncode}:\n" \
                                       f"{result.stdout}\n{result.stderr}"


def test_cli_lines_left_out_say_why() -> None:
    """Only `view`, `mount` and URL lines are left out, and every other command of the docs runs somewhere."""
    left_out = {command for b in CLI for command, reason in cli_lines(b) if reason}
    assert all(" view" in c or " mount" in c or "://" in c for c in left_out), left_out
    assert sum(reason is None for b in CLI for _, reason in cli_lines(b)) >= 20


# ---- the documents themselves ---------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_links_resolve(doc: Path) -> None:
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # https://, mailto: ...
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        assert file.exists(), f"{doc.name}: link to missing {target}"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{doc.name}: no heading #{anchor} in {file.name}"


def test_readme_is_short_and_in_order() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    headings = re.findall(r"^## (.*)$", text, re.M)
    order = ["Install", "The two commands", "Python", "napari", "Command line", "Documentation"]
    assert [h for h in headings if h in order] == order
    assert text.index("docs/screenshot.png") < text.index("## Install")
    assert 'pip install ".[napari]"' in text


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_user_docs_tell_no_history(doc: Path) -> None:
    """Development rounds, issue numbers and met or missed targets belong in CHANGELOG.md, not here."""
    text = doc.read_text(encoding="utf-8")
    for pattern in (r"\bround \d", r"\bissue \d", r"#\d+\b", r"\btargets? (is |are )?(not )?met\b",
                    r"pip install napari-mrcz\b"):
        assert not re.search(pattern, text, re.I), f"{doc.name}: {pattern}"


# ---- the main job's set-up ------------------------------------------------------------------------------

_BLOCKER = """
import importlib.abc, sys
ABSENT = set(sys.argv.pop(1).split(","))
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ABSENT:
            raise ImportError(f"{name} is not installed by the napari extra")
sys.meta_path.insert(0, Absent())
from napari_mrcz.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _not_in_napari_extra() -> set[str]:
    """Import names of what the test, remote and cluster extras add beyond the napari extra."""
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = set()
    for extra in ("test", "remote", "cluster"):
        for requirement in extras[extra]:
            name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()
            if name != "napari-mrcz":
                names.add(name)
    renamed = {"rosettasciio": "rsciio", "pytest-qt": "pytestqt"}
    return {renamed.get(n, n).replace("-", "_") for n in names}


@pytest.mark.slow
@pytest.mark.gui
def test_main_job_needs_only_the_napari_extra(tmp_path: Path) -> None:
    """`bash scripts/run.sh napari-mrcz view --sample` installs `.[napari]` only: the command must work
    with every package of the test, remote and cluster extras unimportable."""
    pytest.importorskip("napari")
    absent = _not_in_napari_extra()
    assert {"mrcz", "mrcfile", "pytest", "distributed", "fsspec"} <= absent
    picture = tmp_path / "sample.png"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-c", _BLOCKER, ",".join(sorted(absent)), "view", "--sample",
                             "--screenshot", str(picture)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert picture.stat().st_size > 10_000
