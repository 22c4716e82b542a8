"""The ``napari-mrcz`` command: ``info``, ``convert``, ``validate``, ``view``, ``mount``, ``refs`` (:mod:`.refs`) and ``pyramid`` (:mod:`.pyramid`).

A thin front-end over the core: it turns ``MrczError``/``OSError`` into one line on stderr and an exit
code (0 success, 1 a file or user error or an invalid file, 2 a usage error or an unreadable file, 130
interrupted), never a traceback. Each command imports what it needs when it runs: napari only
``view``, tqdm and the writer only ``convert``, the checks only ``validate``, so ``info`` starts fast.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from . import batch, ome_zarr, pyramid, refs
from . import mount as mount_command
from .info import describe, info_text, size_text
from .json_output import json_text
from ..values.dtypes import storage_dtype
from ..format.constants import WRITABLE_COMPRESSORS
from ..format.names import PLAIN_SUFFIXES, output_compressor
from ..errors import MrczError
from ..io.reader.file import open_mrc
from ..io.storage.urls import file_name
from ..values.precision import EXPLICIT_INTEGER_DTYPES, INT
from ..values.quantize import parse_tolerance

PROG = "napari-mrcz"
COMPRESSORS = WRITABLE_COMPRESSORS
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_EXAMPLES = {
    None: """examples:
  napari-mrcz info tomogram.mrcz             header, voxel size, compression, metadata
  napari-mrcz convert movie.mrc movie.mrcz   compress (zstd, level 1) with a progress bar
  napari-mrcz validate *.mrc *.mrcz          check files against MRC2014/MRCZ rules
  napari-mrcz view tomogram.mrcz             open in napari
  napari-mrcz mount /data/tomos /tmp/plain   .mrcz files as plain .mrc for IMOD, RELION, ...
  napari-mrcz pyramid tomogram.mrcz          store levels for fast zoomed-out, x-z and 3-D views
run 'napari-mrcz COMMAND --help' for each command's options.""",
    "info": """examples:
  napari-mrcz info tomogram.mrcz
  napari-mrcz info --stats movie.mrcz        compute min/max/mean/rms from the data
  napari-mrcz info --json *.mrc | jq '.[0].voxel_size'""",
    "convert": """The output suffix decides the format: .mrcz is compressed (--compressor, default zstd),
""" + " ".join(PLAIN_SUFFIXES) + """ are plain MRC2014 (readable by IMOD, Relion, mrcfile). Voxel
size, JSON metadata, voltage, C3, gain and other extended headers (FEI, SERI: tilt angles)
are carried over. The input is read slice by slice and the output written to a temporary
file renamed into place when complete, so OUT is never left half-written.

examples:
  napari-mrcz convert movie.mrc movie.mrcz
  napari-mrcz convert emd_1234.map.gz emd_1234.mrcz --compressor lz4 --clevel 9
  napari-mrcz convert old_mrcz.mrcz new.mrcz --force       rewrite (e.g. to fix mrcz's statistics)
  napari-mrcz convert tomo.mrcz tomo.mrc --no-metadata     plain MRC that passes mrcfile.validate
  napari-mrcz convert tomo.mrcz tomo.mrc --no-metadata --no-stats   the bytes 'napari-mrcz mount' shows
  napari-mrcz convert tomo.mrc tomo.mrcz --tolerance auto  lossy: within 1/16 of the noise (~4x smaller)
  napari-mrcz convert avg.mrc avg.mrcz --tolerance 0.01    lossy: every value within 0.01 of the original
  napari-mrcz convert counts.mrc counts.mrcz --dtype int   float counts stored as integers (exact)
""" + batch.EXAMPLES,
    "validate": """Exit status: 0 all files valid, 1 any file invalid, 2 any file unreadable.
Checks MAP ID, machine stamp (and that it states the real byte order), mode, non-negative fields,
axis mapping, volume-stack MZ, labels, NVERSION, EXTTYP, statistics (DMIN/DMAX exact, DMEAN/RMS
within 1%) and file size (also inside .gz/.bz2), as mrcfile.validate does; for MRCZ also every chunk
header and the packed size at byte 144. Warnings do not make a file invalid. A pre-2014 header
(NVERSION 0, as in most EMDB and CCP4 maps) counts as invalid, as in mrcfile.validate, though it is
harmless for reading (every MRC reader opens it); 'napari-mrcz convert' writes a current header.

examples:
  napari-mrcz validate map.mrc
  napari-mrcz validate --no-stats *.mrcz     header and structure only (fast)
  napari-mrcz validate --json stack.mrcs""",
    "mount": mount_command.EXAMPLES,
    "pyramid": pyramid.EXAMPLES,
    "view": """examples:
  napari-mrcz view tomogram.mrcz
  napari-mrcz view --sample                  a synthetic tomogram (written once, opened lazily)
  napari-mrcz view map.mrc --screenshot map.png   save the canvas and exit
Without a display (or under xvfb-run) no window could be seen: the canvas is saved to
./napari-mrcz-<name>.png (or --screenshot FILE) and the command exits.""",
}


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line usage error (exit 2) instead of usage plus message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


class _UsageError(Exception):
    """Arguments that parse but do not fit together (exit 2)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``napari-mrcz`` command."""
    from .._version import __version__

    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog=PROG, description="Inspect, convert, validate and view MRC and MRCZ files.",
                     epilog=_EXAMPLES[None], formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, epilog=_EXAMPLES[name], formatter_class=fmt)

    info = command("info", "Show shape, dtype, mode, voxel size, compression, statistics and metadata.")
    info.add_argument("files", nargs="+", metavar="FILE")
    info.add_argument("--json", action="store_true", help="print a JSON list, one object per file")
    info.add_argument("--stats", action="store_true", help="compute statistics from the data (reads every slice)")

    conv = command("convert", "Convert any readable MRC/MRCZ (also .gz/.bz2) to MRC or MRCZ by OUT's suffix.")
    conv.usage = "%(prog)s [options] IN OUT\n       %(prog)s [options] IN [IN ...] --out-dir DIR"
    conv.add_argument("paths", nargs="+", metavar="IN", help="the input, then OUT (without --out-dir)")
    conv.add_argument("--compressor", choices=(*COMPRESSORS, "none"),
                      help="blosc codec of a .mrcz output (default zstd)")
    conv.add_argument("--clevel", type=int, default=1, choices=range(10), metavar="0-9",
                      help="compression level (default 1)")
    conv.add_argument("--shuffle", default="auto", choices=("auto", "bit", "byte", "none"),
                      help="blosc shuffle filter (default auto: the smallest of bit, byte and none on samples)")
    conv.add_argument("--threads", type=positive_int, default=None, metavar="N", help="blosc threads (default: all cores, at most 8)")
    conv.add_argument("--tolerance", type=tolerance_arg, metavar="T|auto[:F]",
                      help="lossy: round float data so every value is within T (data units) of the original; "
                           "'auto' = 1/16 of the noise estimated on 8 slices, 'auto:F' = F of it (default: lossless)")
    conv.add_argument("--dtype", choices=(INT, *(d.name for d in EXPLICIT_INTEGER_DTYPES)),
                      help="store integer-valued float data as integers: 'int' = smallest of int8/int16/uint16 "
                           "(checked exactly; readers then see integers)")
    conv.add_argument("--no-metadata", action="store_true", help="drop the JSON metadata")
    conv.add_argument("--no-stats", action="store_true", help="mark DMIN/DMAX/DMEAN/RMS 'not determined' instead of "
                      "computing them (one IN only): the bytes 'napari-mrcz mount' shows")
    conv.add_argument("-f", "--force", action="store_true", help="replace OUT if it exists, even a read-only OUT "
                           "(--out-dir: convert again what earlier runs completed)")
    trust = conv.add_mutually_exclusive_group()
    trust.add_argument("--strict", action="store_const", const=True, dest="strict", default="auto",
                       help="refuse an IN without the MRC2014 'MAP ' ID and machine stamp (default: convert "
                            "it with a warning when its header agrees exactly with the file size)")
    trust.add_argument("--permissive", action="store_const", const=False, dest="strict",
                       help="also convert such an IN when the header and file size disagree (e.g. extra bytes)")
    bar = conv.add_mutually_exclusive_group()
    bar.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    bar.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is not a terminal")
    batch.add_arguments(conv)
    ome_zarr.add_arguments(conv)

    val = command("validate", "Check files against the MRC2014 and MRCZ rules.")
    val.add_argument("files", nargs="+", metavar="FILE")
    val.add_argument("--no-stats", action="store_true", help="skip reading the data to check the statistics")
    val.add_argument("--json", action="store_true", help="print a JSON list, one object per file")
    val.add_argument("-q", "--quiet", action="store_true", help="print only files that are not valid")

    mnt = command("mount", "Show a folder's .mrcz files as plain .mrc files every MRC tool reads (FUSE, read-only).")
    mount_command.add_parser(mnt)
    pyramid.add_arguments(command("pyramid", pyramid.HELP))

    view = command("view", "Open a file in napari.")
    view.add_argument("file", nargs="?", metavar="FILE")
    view.add_argument("--sample", action="store_true", help="open the synthetic sample tomogram")
    view.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the canvas and exit")
    refs.add_parser(sub, fmt)
    return parser


def tolerance_arg(text: str) -> str:
    """argparse type: a tolerance ('0.05', 'auto', 'auto:1/16'), checked here and resolved by convert."""
    try:
        parse_tolerance(text)
    except MrczError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (also as ``python -m napari_mrcz``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, usage errors
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    handlers = {"info": _info, "convert": _convert, "validate": _validate, "view": _view, "mount": _mount,
                "refs": refs.run, "pyramid": pyramid.run}
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return handlers[args.command](args)
        except _UsageError as err:
            return _fail(f"{PROG} {args.command}: error: {err} (see --help)", EXIT_USAGE)
        except BrokenPipeError:  # the reader of our output went away (| head): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_ERROR
        except (MrczError, OSError) as err:
            return _fail(f"{PROG}: error: {_one_line(err)}", EXIT_ERROR)
        except MemoryError as err:
            return _fail(f"{PROG}: error: out of memory ({_one_line(err)})", EXIT_ERROR)
        except KeyboardInterrupt:
            return _fail(f"{PROG}: interrupted", EXIT_INTERRUPTED)


def _one_line(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        text = f"{err.filename}: {err.strerror}" if err.filename else err.strerror
    else:
        text = str(err) or type(err).__name__
    return " ".join(text.split())


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    print(f"{PROG}: warning: {_one_line(Exception(str(message)))}", file=sys.stderr)


def _emit(text: str) -> None:
    try:
        print(text)
    except UnicodeEncodeError:
        print(text.encode("ascii", "backslashreplace").decode("ascii"))


# ---- info ---------------------------------------------------------------------------------------


def _info(args: argparse.Namespace) -> int:
    results, code = [], EXIT_OK
    for number, name in enumerate(args.files):
        try:
            with open_mrc(name, strict=False) as info:
                d = describe(info, args.stats)
        except (MrczError, OSError) as err:
            code = _fail(f"{PROG}: error: {_one_line(err)}", EXIT_ERROR)
            continue
        results.append(d)
        if not args.json:
            _emit(("\n" if number else "") + info_text(d))
    if args.json:
        _emit(json_text(results))
    return code


# ---- convert ------------------------------------------------------------------------------------


def _output_compressor(name: str | Path, compressor: str | None) -> str | None:
    """:func:`~napari_mrcz.format.names.output_compressor`, a contradiction being a usage error."""
    try:
        return output_compressor(name, compressor)
    except MrczError as err:
        raise _UsageError(str(err)) from None


def _convert(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..io.writer.convert import convert_file, file_tolerance, import_codecs

    problem = batch.usage_problem(args)
    if problem:
        raise _UsageError(problem)
    if args.out_dir is None and ome_zarr.involved(args.paths):
        return ome_zarr.convert(args, _emit)
    if args.out_dir is not None:
        if args.no_stats:
            raise _UsageError("--no-stats converts one IN to one OUT, not with --out-dir")
        results = batch.convert_paths(args, _output_compressor("*" + args.suffix, args.compressor))
        return EXIT_ERROR if any(r.status == "failed" for r in results) else EXIT_OK
    src, dst = args.paths[0], Path(args.paths[1])  # the input as read() takes it: a path or a URL
    compressor = _output_compressor(dst, args.compressor)
    if dst.exists() and not args.force:
        raise MrczError(f"{dst} exists; use --force to replace it")
    info = open_mrc(src, strict=args.strict)
    try:
        tolerance = file_tolerance(info, args.tolerance)
    except BaseException:
        info.close()
        raise
    if isinstance(args.tolerance, str) and args.tolerance.strip().lower().startswith("auto") and not args.quiet:
        chosen = f"{tolerance:g}" if tolerance else f"none ({info.dtype} data is stored exactly)"
        print(f"{PROG}: tolerance {args.tolerance} → {chosen}", file=sys.stderr)
    total = math.prod(info.shape) * storage_dtype(info.dtype)[0].itemsize
    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1000, desc=file_name(src), file=sys.stderr,
               disable=True if args.quiet else (False if args.progress else None), dynamic_ncols=True)
    done = {"in": 0, "out": 0}

    def progress(slices: int, bytes_in: int, bytes_out: int) -> None:
        bar.update(bytes_in - done["in"])
        done.update({"in": bytes_in, "out": bytes_out})
        bar.set_postfix_str(f"ratio {bytes_in / max(bytes_out, 1):.2f}", refresh=False)

    import_codecs(info, compressor)  # not timed: MB/s is the conversion's
    start = time.perf_counter()
    with bar:
        convert_file(info, dst, compressor=compressor, clevel=args.clevel, shuffle=args.shuffle,
                     n_threads=args.threads, keep_metadata=not args.no_metadata,
                     overwrite="force" if args.force else False, progress=progress, tolerance=tolerance,
                     dtype=args.dtype, stats=False if args.no_stats else "auto")
    elapsed = max(time.perf_counter() - start, 1e-9)
    if not args.quiet:
        out = dst.stat().st_size
        _emit(f"{dst}: {size_text(done['in'])} → {size_text(out)} (ratio {done['in'] / max(out, 1):.2f}) "
              f"in {elapsed:.2f} s, {done['in'] / elapsed / 1e6:.0f} MB/s"
              + (f"; every value within {tolerance:g} of the input" if tolerance and info.dtype.kind in "fc" else ""))
    return EXIT_OK


# ---- validate -----------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    from ..io.validate import SEVERITIES, validate

    code, results = EXIT_OK, []
    for name in args.files:
        problems = validate(name, check_stats=not args.no_stats)
        worst = max((SEVERITIES.index(p.severity) for p in problems), default=-1)
        status = {-1: "valid", 0: "valid", 1: "invalid", 2: "unreadable"}[worst]
        code = max(code, {"valid": EXIT_OK, "invalid": EXIT_ERROR, "unreadable": EXIT_USAGE}[status])
        results.append({"path": name, "status": status, "valid": status == "valid",
                        "problems": [{"severity": p.severity, "message": p.message} for p in problems]})
        if not args.json and not (args.quiet and status == "valid"):
            _emit(f"{name}: {status}" + "".join(f"\n  {p}" for p in problems))
    if args.json:
        _emit(json_text(results))
    return code


def _view(args: argparse.Namespace) -> int:
    from .view import view

    if bool(args.file) == bool(args.sample):
        raise _UsageError("give a FILE or --sample (not both)")
    shot = view(args.file, sample=args.sample, screenshot=args.screenshot)
    if shot is not None:
        _emit(str(shot))
    return EXIT_OK


def _mount(args: argparse.Namespace) -> int:
    mount_command.run(args)
    return EXIT_OK
