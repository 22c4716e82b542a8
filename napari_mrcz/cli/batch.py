"""``napari-mrcz convert IN [IN ...] --out-dir DIR``: many files through :func:`napari_mrcz.convert_many`.

One progress bar for the whole run (files, input bytes, MB/s, ratio) on stderr, then a summary table
(or JSON) on stdout; the caller turns the results into the exit status. dask.distributed is imported
by the run itself, only when there is something to convert.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MrczWarning
from ..format.names import PLAIN_SUFFIXES, READ_SUFFIXES
from .info import size_text

if TYPE_CHECKING:  # imported by convert_paths: ``napari-mrcz info`` does not load the batch machinery
    from ..io.batch import BatchProgress, ConvertResult

EXAMPLES = """
many files (--out-dir): each IN is a file, a URL, a folder (its """ + " ".join(READ_SUFFIXES) + """
files, the plain ones also .gz/.bz2) or a quoted glob ('session/**/*.mrc'); outputs keep the stem (EMD-3001.map ->
DIR/EMD-3001.mrcz). Files run in parallel on local worker processes (--workers, default the cores) or
on a dask.distributed cluster (--scheduler; the workers must see IN and DIR at the same paths). A
re-run skips outputs an earlier run completed with the same settings (recorded in
DIR/.napari-mrcz-convert.jsonl) and redoes the rest; --force redoes everything. Exit status 0 only when
every file is done or skipped.

  napari-mrcz convert raw/*.mrc --out-dir compressed/ --verify
  napari-mrcz convert session/ --out-dir plain/ --suffix .mrc
  napari-mrcz convert 'session/**/*.mrc' --out-dir out/ --scheduler tcp://10.0.0.5:8786"""


def add_arguments(conv: argparse.ArgumentParser) -> None:
    """The options of the many-files form of ``convert``."""
    group = conv.add_argument_group("many files (IN [IN ...] --out-dir DIR)")
    group.add_argument("--out-dir", metavar="DIR", type=Path, help="convert every IN into this folder")
    group.add_argument("--suffix", default=".mrcz", help=f"output suffix: .mrcz (default) or one of {' '.join(PLAIN_SUFFIXES)} for plain MRC")
    group.add_argument("--scheduler", metavar="ADDRESS", help="a dask.distributed scheduler (tcp://host:8786)")
    group.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: the cores)")
    group.add_argument("--verify", action="store_true", help="read every output back and compare it with its input")
    group.add_argument("--json", action="store_true", help="print the per-file results as JSON instead of a table")


def usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the mix of ``convert`` arguments (either form), or None."""
    if args.out_dir is None:
        many = [f"--{k.replace('_', '-')}" for k in ("suffix", "scheduler", "workers", "verify", "json")
                if getattr(args, k) not in (None, False, ".mrcz")]
        if many:
            return f"{' '.join(many)} needs --out-dir DIR"
        if len(args.paths) != 2:
            return "give IN OUT, or IN [IN ...] --out-dir DIR"
    elif args.workers is not None and (args.workers < 1 or args.scheduler):
        return "--workers must be at least 1, and applies only without --scheduler"
    return None


def convert_paths(args: argparse.Namespace, compressor: str | None) -> list[ConvertResult]:
    """Run the conversion ``args`` asks for; prints progress, warnings and the summary."""
    from tqdm import tqdm

    from ..io.batch import convert_many

    bar: tqdm | None = None
    start = time.perf_counter()

    def progress(result: ConvertResult | None, state: BatchProgress) -> None:
        nonlocal bar
        if bar is None:  # the run is planned: files already skipped count as done, not as speed
            bar = tqdm(total=state.total_bytes, initial=state.bytes_in, unit="B", unit_scale=True,
                       unit_divisor=1000, desc="convert", file=sys.stderr, dynamic_ncols=True,
                       disable=True if args.quiet else (False if args.progress else None))
        elif result is not None:
            bar.update(result.bytes_in)
        ratio = state.bytes_in / state.bytes_out if state.bytes_out else 0.0
        bar.set_postfix_str(f"{state.files}/{state.total_files} files, ratio {ratio:.2f}")

    # This process's log records are dask.distributed's (the local workers log through their own
    # processes). Its failures reach us as exceptions, reported per file or as the command's error; but
    # when Ctrl-C lands inside one of its blocking calls it logs tracebacks while shutting down (a
    # NameError in distributed 2026.8's sync, closed connections), noise after "interrupted".
    logging.disable(logging.CRITICAL)
    try:
        results = convert_many(args.paths, args.out_dir, suffix=args.suffix, compressor=compressor,
                               clevel=args.clevel, shuffle=args.shuffle, keep_metadata=not args.no_metadata,
                               tolerance=args.tolerance, dtype=args.dtype,
                               verify=args.verify, scheduler=args.scheduler, workers=args.workers,
                               threads=args.threads, progress=progress, force=args.force, strict=args.strict)
    finally:
        logging.disable(logging.NOTSET)
        if bar is not None:
            bar.close()
    for result in results:
        for text in result.warnings:
            warnings.warn(text, MrczWarning, stacklevel=1)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
    elif not args.quiet:
        print(summary(results, time.perf_counter() - start))
    elif any(r.status == "failed" for r in results):
        print(summary([r for r in results if r.status == "failed"], time.perf_counter() - start))
    return results


def summary(results: list[ConvertResult], seconds: float) -> str:
    """The per-file table and a total line."""
    rows = [("status", "input", "output", "in", "out", "ratio", "s", "reason")]
    for r in results:
        rows.append((r.status, Path(r.input).name, Path(r.output).name if r.output else "–",
                     size_text(r.bytes_in) if r.bytes_in else "–", size_text(r.bytes_out) if r.bytes_out else "–",
                     f"{r.ratio:.2f}" if r.bytes_out else "–", f"{r.seconds:.2f}" if r.seconds else "–",
                     r.reason))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             + ("  " + row[-1] if row[-1] else "") for row in rows]
    counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    done = [r for r in results if r.status == "done"]
    read, written = sum(r.bytes_in for r in done), sum(r.bytes_out for r in done)
    total = f"{len(results)} files: {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed"
    if done:
        total += (f"; converted {size_text(read)} → {size_text(written)} (ratio {read / written if written else 0:.2f}) "
                  f"in {seconds:.1f} s, {read / max(seconds, 1e-9) / 1e6:.1f} MB/s")
    lines.append(total)
    return "\n".join(line.rstrip() for line in lines)
