"""What a bulk conversion will do: the input files (paths, folders, globs, URLs), their output names,
and the per-file result type.

Output names keep the input's stem (``EMD-3001.map`` → ``EMD-3001.mrcz``, ``x.mrc.gz`` → ``x.mrcz``);
inputs that would share an output, or whose output would be another input, fail instead of overwriting.
Nothing here reads a file's content.
"""

from __future__ import annotations

import glob
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ...format import names
from ..storage.remote import is_url, url_name

PathLike = str | os.PathLike[str]
Status = Literal["done", "skipped", "failed"]
Source = Path | str
"""An input: an absolute local path, or a URL (``https://``, ``s3://``, ... through fsspec)."""


@dataclass(frozen=True)
class ConvertResult:
    """What happened to one input of :func:`napari_mrcz.convert_many`.

    Attributes
    ----------
    input
        The input as found (a path; for a pattern or name that matched nothing, as given).
    output
        The output file; None when none could be named.
    status
        ``done`` (converted now), ``skipped`` (already converted by an earlier run with the same settings)
        or ``failed``.
    reason
        Why it failed or was skipped; ``""`` when done.
    bytes_in, bytes_out
        Sizes of the input and output files on disk (0 when unknown).
    seconds
        Time spent converting (and verifying) on the worker.
    verified
        The output was read back and found equal to the input, now or by an earlier run.
    warnings
        Warnings raised while converting (e.g. an extended header that is not carried over).
    """

    input: str
    output: str | None
    status: Status
    reason: str = ""
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    verified: bool = False
    warnings: tuple[str, ...] = field(default=())

    @property
    def ratio(self) -> float:
        """bytes_in / bytes_out (storage saved), 0 when there is no output."""
        return self.bytes_in / self.bytes_out if self.bytes_out else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The fields (and ratio) as JSON-ready values."""
        return {**asdict(self), "warnings": list(self.warnings), "ratio": self.ratio}


def file_size(path: PathLike) -> int:
    """A file's size in bytes; 0 when it cannot be read."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def is_input_name(name: str) -> bool:
    """Whether a folder or glob picks a file of this name: an MRC name that is not hidden."""
    return not name.startswith(".") and names.is_mrc_name(name)


def output_name(source: Source, suffix: str) -> str:
    """The output file name: the input's stem (see :func:`napari_mrcz.format.names.stem`) plus ``suffix``."""
    return names.output_name(url_name(source) if isinstance(source, str) else source.name, suffix)


def expand_inputs(inputs: Iterable[PathLike]) -> tuple[list[Source], list[ConvertResult]]:
    """Files named by ``inputs``, in order, each once; and a failure for each input that names none.

    A URL is taken as it is (one file; its workers read it). A file is taken whatever its name. A
    folder gives its MRC files (see :func:`is_input_name`; not its subfolders, not hidden files). Any
    other input is a glob pattern (``**`` matches subfolders), giving the MRC files it matches.
    """
    found: dict[Source, None] = {}
    failed: list[ConvertResult] = []
    for item in inputs:
        text = os.fspath(item)
        path = Path(text)
        if is_url(text):
            found.setdefault(text, None)
            continue
        if path.is_file():
            matches = [path]
        elif path.is_dir():
            matches = sorted(p for p in path.iterdir() if is_input_name(p.name) and p.is_file())
            if not matches:
                failed.append(ConvertResult(text, None, "failed", f"the folder has no MRC files ({', '.join(names.READ_SUFFIXES)})"))
        elif glob.has_magic(text):
            hits = sorted(Path(p) for p in glob.glob(text, recursive=True))
            matches = [p for p in hits if is_input_name(p.name) and p.is_file()]
            if not matches:
                what = "matches no MRC file" if hits else "matches nothing"
                failed.append(ConvertResult(text, None, "failed", what))
        else:
            failed.append(ConvertResult(text, None, "failed", "no such file or folder"))
            continue
        for match in matches:
            found.setdefault(match.absolute(), None)
    return list(found), failed


def plan_outputs(files: list[Source], out_dir: Path, suffix: str) -> tuple[list[tuple[Source, Path]], list[ConvertResult]]:
    """(input, output) pairs; inputs sharing an output, or whose output is an input, fail instead.

    Names are compared case-insensitively, so a run gives the same result on case-insensitive
    file systems (macOS, Windows).
    """
    by_output: dict[str, list[Source]] = defaultdict(list)
    for path in files:
        by_output[output_name(path, suffix).lower()].append(path)
    inputs = {os.path.normcase(os.path.realpath(p)) for p in files if isinstance(p, Path)}
    pairs, failed = [], []
    for path in files:
        output = out_dir / output_name(path, suffix)
        sharing = by_output[output.name.lower()]
        if len(sharing) > 1:
            others = ", ".join(str(p) for p in sharing if p != path)
            why = (f"{others} would also be written to {output.name} (and holds other data): convert them "
                   "into different --out-dir folders, or rename one")
        elif os.path.normcase(os.path.realpath(output)) in inputs:
            why = f"{output} is an input; choose another --out-dir or suffix"
        else:
            pairs.append((path, output))
            continue
        failed.append(ConvertResult(str(path), str(output), "failed", why))
    return pairs, failed
