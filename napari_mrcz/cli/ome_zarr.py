"""``napari-mrcz convert`` between MRC/MRCZ and OME-Zarr (``IN.mrcz OUT.ome.zarr``, ``IN.ome.zarr
OUT.mrcz``): the options and the one-file form; the core is :mod:`napari_mrcz.io.zarr`, imported only
when such a conversion runs."""

from __future__ import annotations

import argparse

import time
from typing import Any

from ..format.names import is_zarr
from .refs import storage_options


def add_arguments(conv: argparse.ArgumentParser) -> None:
    """The OME-Zarr options of ``convert``."""
    group = conv.add_argument_group("OME-Zarr (IN or OUT named *.ome.zarr; needs napari-mrcz[zarr])")
    group.add_argument("--chunks", type=int, default=256, metavar="N",
                       help="chunk edge of an OME-Zarr output in voxels, at every pyramid level (default 256)")
    group.add_argument("--storage-options", metavar="JSON", type=storage_options, default=None,
                       help='fsspec options for s3:// and other URLs, e.g. \'{"anon": false}\' (the AWS '
                            "environment variables, AWS_ENDPOINT_URL included, apply too)")


def involved(paths: list[str]) -> bool:
    """Whether a one-file conversion reads or writes OME-Zarr."""
    return any(is_zarr(p) for p in paths)


def convert(args: argparse.Namespace, emit: Any) -> int:
    """Convert ``IN OUT`` where either is OME-Zarr; returns the exit status."""
    from ..io.zarr.convert import convert_zarr

    src, dst = args.paths
    options: dict[str, Any] = {}
    if not is_zarr(dst):
        compressor = None if args.compressor == "none" else args.compressor
        options = {"shuffle": args.shuffle, "n_threads": args.threads, "tolerance": args.tolerance, "dtype": args.dtype}
        if compressor is not None:
            options["compressor"] = compressor
    start = time.perf_counter()
    convert_zarr(src, dst, overwrite="force" if args.force else False, strict=args.strict,
                 keep_metadata=not args.no_metadata, clevel=args.clevel, chunks=args.chunks,
                 storage_options=args.storage_options, **options)
    if not args.quiet:
        emit(f"{dst}: written from {src} in {time.perf_counter() - start:.2f} s")
    return 0



