"""The shared test corpus (``../shared/testdata`` beside the repository) and its manifest, for
parametrizing tests at collection time (fixtures cannot do that). Fixtures live in ``conftest.py``."""

from __future__ import annotations

import json
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
