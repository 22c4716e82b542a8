"""Inputs that are one file in different wrappers: ``X.map`` and ``X.map.bz2`` in one folder.

Both would be written to ``X.mrcz``. When every input sharing an output name holds the same MRC file
once decompressed (the same header and extended header, the same size), one is converted (the first
not wrapped in ``.gz``/``.bz2``: it reads fastest) and the others are reported as duplicates; inputs
that differ are left to :func:`.plan.plan_outputs`, which fails them as a clash. Only the inputs that
share an output name are opened, each for its header (a wrapped one is decompressed to find its size).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

from ...errors import MrczError
from ...format import names
from ..reader.file import open_mrc
from .plan import ConvertResult, Source, output_name

SIGNATURE_BYTES = 1024
"""The main header; the extended header follows it in the signature."""


def _signature(source: Source) -> tuple[int, str] | None:
    """(decompressed size, digest of the header and extended header), or None when unreadable."""
    try:
        with open_mrc(source, strict=False) as info:
            head = info.source.pread(SIGNATURE_BYTES + len(info.extended_header), 0)
            return info.source.size, hashlib.sha256(head).hexdigest()
    except (MrczError, OSError):
        return None


def _name(source: Source) -> str:
    return source.name if isinstance(source, Path) else source


def drop_duplicates(files: list[Source], out_dir: Path, suffix: str) -> tuple[list[Source], list[ConvertResult]]:
    """``files`` without the duplicates of another input (see the module notes), and a ``skipped``
    result for each duplicate naming the input converted in its place."""
    groups: dict[str, list[Source]] = defaultdict(list)
    for source in files:
        groups[output_name(source, suffix).lower()].append(source)
    dropped: dict[Source, ConvertResult] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        signatures = {_signature(source) for source in group}
        if len(signatures) != 1 or None in signatures:
            continue  # a true clash (or an unreadable input): plan_outputs fails them with the reason
        kept = min(group, key=lambda s: bool(names.split_name(_name(s))[2]))  # unwrapped first, else the first
        output = out_dir / output_name(kept, suffix)
        for source in group:
            if source != kept:
                dropped[source] = ConvertResult(
                    str(source), str(output), "skipped",
                    f"the same file as {kept} once decompressed (same header and size): converted once",
                )
    return [s for s in files if s not in dropped], list(dropped.values())
