"""``napari-mrcz refs IN [-o OUT.json]``: the kerchunk reference set of an MRC/MRCZ file (see
:func:`napari_mrcz.io.zarr.references.references`), printed or saved as JSON. zarr, kerchunk and
fsspec are imported only when the command runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import MrczError

EXAMPLES = """
  napari-mrcz refs tomo.mrcz -o tomo.json
  napari-mrcz refs https://example.org/emd_1234.map -o emd_1234.json
  python -c "import xarray; print(xarray.open_dataset('tomo.json', engine='kerchunk'))"
"""


def add_parser(sub: Any, formatter: Any) -> None:
    """Register the ``refs`` subcommand."""
    text = "Write a kerchunk reference set (JSON) that lets zarr and xarray read IN's voxels in place."
    parser = sub.add_parser("refs", help=text, description=text, epilog=EXAMPLES, formatter_class=formatter)
    parser.add_argument("file", metavar="IN", help="an MRC/MRCZ file or URL")
    parser.add_argument("-o", "--output", metavar="OUT.json", type=Path, help="write here (default: stdout)")
    parser.add_argument("--storage-order", action="store_true",
                        help="files with MAPC/MAPR/MAPS other than 1, 2, 3: show the data as stored")
    parser.add_argument("--storage-options", metavar="JSON", type=storage_options,
                        help='fsspec options for a URL, e.g. \'{"anon": true}\'')
    parser.add_argument("-f", "--force", action="store_true", help="replace OUT.json if it exists")


def storage_options(text: str) -> dict[str, Any]:
    """argparse type: a JSON object of fsspec storage options."""
    try:
        value = json.loads(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not JSON: {err}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"anon\": true}'")
    return value


def run(args: argparse.Namespace) -> int:
    """The ``refs`` command; returns the exit status (errors are raised for ``main`` to report)."""
    from ..io.zarr.references import references, write_references

    if args.output is not None and args.output.exists() and not args.force:
        raise MrczError(f"{args.output} exists; use --force to replace it")
    refs = references(args.file, storage_options=args.storage_options, storage_order=args.storage_order)
    if args.output is None:
        json.dump(refs, sys.stdout)
        sys.stdout.write("\n")
    else:
        write_references(refs, args.output)
    return 0
