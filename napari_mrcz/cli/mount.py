"""``napari-mrcz mount SRC MOUNTPOINT``: the command-line face of :mod:`napari_mrcz.fuse` (imported
only when the command runs, so the other commands never load mfusepy)."""

from __future__ import annotations

import argparse
import logging
import re

EXAMPLES = """A read-only file system mirroring SRC in which every x.mrcz shows as the plain MRC2014 file
x.mrc that 'napari-mrcz convert --no-metadata --no-stats x.mrcz x.mrc' would write; other files
pass through. Slices are decompressed when read. Runs in the foreground until Ctrl-C or
'fusermount3 -u MOUNTPOINT'. Reads that fail (a corrupt slice) are logged here, with file and slice.

examples:
  napari-mrcz mount /data/tomos /tmp/plain          then: 3dmod /tmp/plain/tomo.mrc
  napari-mrcz mount /data /mnt/plain --background --cache-size 2G
  fusermount3 -u /mnt/plain                          unmount"""

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def byte_size(text: str) -> int:
    """argparse type: bytes as a number with an optional K/M/G/T suffix (binary: 512M = 512 MiB)."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if not found:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 536870912, 512M, 2G)")
    return int(float(found[1]) * _UNITS[found[2]])


def add_parser(command: argparse.ArgumentParser) -> None:
    """The ``mount`` command's arguments."""
    from ..io.writer.plain_view import DEFAULT_CACHE_BYTES, DEFAULT_READAHEAD_BYTES

    command.add_argument("src", metavar="SRC", help="the folder to mirror (never written to)")
    command.add_argument("mountpoint", metavar="MOUNTPOINT", help="an empty folder")
    command.add_argument("--cache-size", type=byte_size, default=DEFAULT_CACHE_BYTES, metavar="BYTES",
                         help=f"decoded slices kept for all files (default {DEFAULT_CACHE_BYTES >> 20}M)")
    command.add_argument("--readahead", type=byte_size, default=DEFAULT_READAHEAD_BYTES, metavar="BYTES",
                         help=f"decoded ahead of sequential reads (default {DEFAULT_READAHEAD_BYTES >> 20}M; 0: none)")
    command.add_argument("--threads", type=int, default=None, metavar="N",
                         help="decode threads (default: all cores, at most 8)")
    command.add_argument("--background", action="store_true", help="detach once mounted")


def run(args: argparse.Namespace) -> None:
    """Serve the mount (returns when it is unmounted); raises MrczError as :func:`napari_mrcz.fuse.control.run`."""
    from ..fuse import run as serve

    logging.basicConfig(format="napari-mrcz mount: %(message)s", level=logging.INFO)
    serve(args.src, args.mountpoint, cache_bytes=args.cache_size, readahead=args.readahead,
          workers=args.threads, foreground=not args.background)
