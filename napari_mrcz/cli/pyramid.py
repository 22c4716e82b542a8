"""``napari-mrcz pyramid FILE...``: store downsampled levels in existing MRCZ files, in place.

A front-end over :func:`napari_mrcz.io.writer.add_pyramid.add_pyramid`; parses no bytes.
"""

from __future__ import annotations

import argparse
import sys

from ..io.writer.add_pyramid import add_pyramid
from .info import size_text

HELP = "Store a pyramid (downsampled levels) in MRCZ files, in place, for fast zoomed-out, x-z and 3-D views."
EXAMPLES = """The data and header are not touched: the levels are appended after the data, where mrcz and
RosettaSciIO never look, and napari-mrcz reads them for zoomed-out, x-z/y-z and 3-D views. A crash
leaves the file as it was (without a pyramid). Plain MRC files cannot carry one (IMOD and mrcfile
expect the file to end with the data): convert them to .mrcz first.

examples:
  napari-mrcz pyramid tomogram.mrcz
  napari-mrcz pyramid --force old/*.mrcz      rebuild pyramids the files already have"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``pyramid`` command's arguments."""
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--force", action="store_true", help="rebuild a pyramid a file already has")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="threads (default: all cores, at most 8)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary")


def run(args: argparse.Namespace) -> int:
    """Add a pyramid to every file; the first failure stops (raised to the caller's one-line report)."""
    for name in args.files:
        added = add_pyramid(name, force=args.force, n_threads=args.threads)
        if not args.quiet:
            print(f"{name}: pyramid stored ({size_text(added)} added)", file=sys.stderr)
    return 0
