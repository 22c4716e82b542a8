"""Check a file against the MRC2014 rules (as ``mrcfile.validate`` does) and MRCZ's additions.

``validate`` lists every problem it finds and never raises on file content: an unreadable file is one
``fatal`` problem. It reads the raw header fields itself (the reader refuses some of them outright) and
streams the data slice by slice for the statistics, so memory stays at one block of slices.
"""

from __future__ import annotations

import bz2
import gzip
import os
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..format.chunks import parse_chunk_header
from ..format.constants import (
    COMPRESSOR_IDS,
    HEADER_BYTES,
    ISPG_VOLUME_STACK_RANGE,
    MAP_ID,
    MRC_COMP_RATIO,
)
from ..errors import MrczError
from ..format.header import HEADER_DTYPE
from ..format.modes import KNOWN_MODES, PACKED_MODES, byte_order_from_machst
from ..format.metadata import JSON_EXTTYP, check_metadata
from ..format.kept import KNOWN_EXTTYPS
from .reader.file import MrcFileInfo, mrc_from_source
from .reader.chunk_index import check_table, read_seek_table
from .reader.stored import check_stored
from .storage.memory import stream_kind
from .storage.opening import open_source
from .storage.paths import PathLike, as_path
from .storage.urls import is_url
from .stats.check import check_stats
SEVERITIES = ("warning", "error", "fatal")
"""warning: allowed but unusual; error: breaks a rule (the file is invalid); fatal: unreadable."""

NVERSIONS = (20140, 20141)
PRE_2014_NOTE = ("a pre-2014 header (as most EMDB and CCP4 maps have), harmless for reading: every MRC reader "
                 "opens it; 'napari-mrcz convert' writes a current header")
MRCZ_ONLY_MODES = (7, 8)  # int32 / uint32: written by mrcz, not part of MRC2014
# blosc chunk flags >> 5 (bits 5-7): the codec family in blosc1 and blosc2 chunks alike
_ENDIAN = {"<": "little", ">": "big"}
_CODEC_FAMILY = {"blosclz": 0, "lz4": 1, "lz4hc": 1, "snappy": 2, "zlib": 3, "zstd": 4}


@dataclass(frozen=True)
class Problem:
    """One finding of :func:`validate`.

    Attributes
    ----------
    message
        What is wrong, naming the field, the value found and what was expected.
    severity
        'warning' (allowed but unusual), 'error' (breaks a rule: the file is invalid) or 'fatal'
        (the file cannot be read as MRC/MRCZ).
    """

    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


def is_valid(problems: list[Problem]) -> bool:
    """True when none of ``problems`` is an error or fatal."""
    return all(p.severity == "warning" for p in problems)


def _raw_header(path: Path) -> bytes:
    """The first 1024 bytes (decompressed for .gz/.bz2) of a file the reader cannot open; fewer when
    the file is shorter."""
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES)
    kind = stream_kind(head)
    if kind is None:
        return head
    opener = gzip.open if kind == "gzip" else bz2.open
    try:
        with opener(path, "rb") as stream:
            return stream.read(HEADER_BYTES)
    except (OSError, EOFError, zlib.error, ValueError):
        return b""  # open_mrc reports the corrupt stream


def _not_mrc(raw: bytes) -> bool:
    return raw[208:212] != MAP_ID and byte_order_from_machst(raw[212:216]) is None


def _check_header(raw: bytes, order: str, is_mrcz: bool) -> list[Problem]:
    """mrcfile's header rules, on the raw fields (before the reader's own checks); ``order`` is the
    byte order the fields really have (the reader's reading), which the machine stamp must state."""
    rec = np.frombuffer(raw[:HEADER_BYTES], dtype=HEADER_DTYPE.newbyteorder(order))[0]
    out: list[Problem] = []
    if bytes(rec["map"]) != MAP_ID:
        out.append(Problem(f"MAP ID at byte 208 is {bytes(rec['map'])!r}, should be {MAP_ID!r}"))
    stamp = bytes(rec["machst"].tolist())
    stated = byte_order_from_machst(stamp)
    if stated is None:
        out.append(Problem(f"machine stamp {stamp.hex(' ')} is not 44 44, 44 41 (little) or 11 11 (big)"))
    elif stated != order:
        out.append(Problem(f"machine stamp {stamp.hex(' ')} says {_ENDIAN[stated]}-endian, but the header reads "
                           f"as {_ENDIAN[order]}-endian (readers that trust the stamp misread the file)"))
    mode = int(rec["mode"])
    comp, mrc_mode = divmod(mode, MRC_COMP_RATIO)
    if mode < 0 or mrc_mode not in KNOWN_MODES:
        out.append(Problem(f"MODE {mode} is not an MRC2014 mode"))
    elif comp and comp not in COMPRESSOR_IDS:
        out.append(Problem(f"MODE {mode}: compressor id {comp} is unknown"))
    elif comp and mrc_mode in PACKED_MODES:
        out.append(Problem(f"MODE {mode}: packed mode {mrc_mode} cannot be compressed"))
    elif mrc_mode in MRCZ_ONLY_MODES:
        out.append(Problem(f"MODE {mrc_mode} (int32/uint32) is mrcz's, not MRC2014's; other readers refuse it",
                           "warning"))
    for name in ("nx", "ny", "nz", "mx", "my", "mz", "ispg", "nsymbt", "nlabl"):
        if int(rec[name]) < 0:
            out.append(Problem(f"{name.upper()}={int(rec[name])} is negative"))
    for name in ("nx", "ny", "nz"):
        if int(rec[name]) == 0:
            out.append(Problem(f"{name.upper()}=0: dimensions must be at least 1"))
    for axis, cell in zip("XYZ", rec["cella"]):
        if cell < 0:
            out.append(Problem(f"CELLA {axis}={float(cell)} is negative"))
    order_crs = [int(rec["mapc"]), int(rec["mapr"]), int(rec["maps"])]
    if sorted(order_crs) != [1, 2, 3]:
        out.append(Problem(f"MAPC/MAPR/MAPS={order_crs}: should be 1, 2, 3 in some order"))
    ispg, nz, mz = int(rec["ispg"]), int(rec["nz"]), int(rec["mz"])
    if ispg in ISPG_VOLUME_STACK_RANGE and (mz <= 0 or nz % mz):
        out.append(Problem(f"volume stack (ISPG {ispg}): NZ={nz} should be a multiple of MZ={mz}"))
    if not is_mrcz and 0 in (int(rec["mx"]), int(rec["my"]), mz):
        out.append(Problem("MX/MY/MZ of 0 leave the voxel size undefined (read as CELLA / N)", "warning"))
    out += _check_labels(rec)
    nversion = int(rec["nversion"])
    if nversion not in NVERSIONS:
        text = f"NVERSION={nversion}: should be 20140 or 20141 (MRC2014)"
        if nversion == 0:  # most EMDB and CCP4 maps: invalid by the letter of MRC2014, as mrcfile says too
            text += f"; {PRE_2014_NOTE}"
        out.append(Problem(text))
    exttyp = bytes(rec["exttyp"]).decode("latin-1").rstrip(" \0")
    if int(rec["nsymbt"]) > 0 and exttyp not in KNOWN_EXTTYPS:
        out.append(Problem(f"EXTTYP {exttyp!r} of the {int(rec['nsymbt'])}-byte extended header is undefined "
                           f"or unknown (known: {', '.join(KNOWN_EXTTYPS)})"))
    if exttyp == JSON_EXTTYP and not is_mrcz:
        out.append(Problem("EXTTYP 'json' is MRCZ's; MRC2014 validators such as mrcfile's reject it", "warning"))
    return out


def _check_labels(rec: Any) -> list[Problem]:
    texts = [bytes(lab).decode("latin-1").strip(" \0") for lab in rec["label"]]
    used = [bool(t) for t in texts]
    out = []
    if any(used[i] and not used[i - 1] for i in range(1, len(used))):
        out.append(Problem("header labels: empty labels appear between labels with text"))
    if sum(used) != int(rec["nlabl"]):
        out.append(Problem(f"NLABL={int(rec['nlabl'])} but {sum(used)} labels hold text"))
    return out


def _check_chunks(info: MrcFileInfo) -> list[Problem]:
    """MRCZ: each chunk's own header against the file header, and the stored total size."""
    h, index = info.header, info.chunk_index
    assert index is not None
    out: list[Problem] = []
    if h.packed_bytes and h.packed_bytes != index.compressed_nbytes:
        out.append(Problem(f"packed bytes at byte 144 say {h.packed_bytes}, the chunks hold "
                           f"{index.compressed_nbytes}"))
    family = _CODEC_FAMILY.get(h.compressor or "")
    typesize = h.disk_dtype.itemsize
    odd_type, odd_codec = [], []
    for z, offset in enumerate(index.offsets):
        ch = parse_chunk_header(info.source.pread(16, int(offset)))
        if ch.blocksize <= 0 or ch.blocksize > ch.nbytes:
            out.append(Problem(f"compressed slice {z}: block size {ch.blocksize} is outside 1..{ch.nbytes}"))
        if ch.typesize != typesize:
            odd_type.append(z)
        if ch.flags >> 5 <= 4 and ch.flags >> 5 != family:
            odd_codec.append(z)
    if odd_type:
        out.append(Problem(f"{len(odd_type)} compressed slice(s) (first: {odd_type[0]}) have a blosc type size "
                           f"other than the {typesize} bytes of {h.dtype}", "warning"))
    if odd_codec:
        out.append(Problem(f"{len(odd_codec)} compressed slice(s) (first: {odd_codec[0]}) were compressed with "
                           f"another codec than MODE's {h.compressor}", "warning"))
    return out


def _check_seek_table(info: MrcFileInfo) -> list[Problem]:
    """MRCZ: a seek table after the last chunk must verify and agree with the chunk headers."""
    index = info.chunk_index
    assert index is not None
    table, problem = read_seek_table(info.source, info.header, str(info.path))
    if table is not None and not index.trailer_nbytes:
        return [Problem(f"seek table ignored: {check_table(info.source, table, info.header.slice_nbytes)}")]
    return [Problem(problem.message)] if problem else []


def _check_size(info: MrcFileInfo) -> list[Problem]:
    h = info.header
    if info.chunk_index is not None and len(info.chunk_index):
        index = info.chunk_index  # a verified seek table after the last chunk is part of the file
        end = int(index.offsets[-1] + index.cbytes[-1]) + index.trailer_nbytes
        stored, problem = check_stored(info)
        if problem:
            return [Problem(problem, "warning")]
        if stored is not None:  # and so is a verified pyramid after it, to the end of the file
            end = info.source.size
    else:
        end = h.plain_end
    excess = info.source.excess(end)
    return [Problem(excess)] if excess else []


def _check_stats(info: MrcFileInfo, n_threads: int | None) -> list[Problem]:
    """Header DMIN/DMAX/DMEAN/RMS against the data, where the header says they are determined."""
    return [Problem(message) for _, message in check_stats(info, n_threads)]


def _check_metadata(info: MrcFileInfo) -> list[Problem]:
    _, ignored = check_metadata(info.extended_header, info.header.exttyp, str(info.path))
    return [Problem(str(ignored))] if ignored else []


def validate(path: PathLike, *, check_stats: bool = True, n_threads: int | None = None) -> list[Problem]:
    """Check ``path`` against the MRC2014 rules and MRCZ's additions; an empty list means valid.

    The checks follow ``mrcfile.validate``: MAP ID, machine stamp (which must also state the byte
    order the header really has), mode, non-negative fields, axis mapping, volume-stack MZ, NLABL
    against the labels, NVERSION, a known EXTTYP ('json' counts for MRCZ), statistics (DMIN/DMAX
    exact, DMEAN/RMS within 1%; see :mod:`napari_mrcz.io.stats.check`) and no bytes after the data,
    also inside a gzip/bzip2 stream (a valid seek table after the last chunk is part of the file).
    For MRCZ also every chunk header (sizes, block size, type size, codec), the packed size at byte
    144, the seek table when there is one (it must verify and agree with the chunk headers), and
    that each slice decompresses. Files written by mrcz 0.6.0 fail on NVERSION and statistics.

    Parameters
    ----------
    path
        The file (also ``.gz``/``.bz2`` of one): str, bytes or os.PathLike; or a URL, as
        :func:`~napari_mrcz.open_mrc` takes it.
    check_stats
        Read all data to check the statistics (and that every compressed slice decodes).
    n_threads
        blosc threads for decompression.

    Returns
    -------
    list of Problem
        Every finding, in the order checked. :func:`is_valid` tells whether any is an error.
        Nothing is raised for any file content, or for a path that cannot be opened (a 'fatal'
        problem says so).

    Raises
    ------
    MrczError
        ``path`` is not a str, bytes or os.PathLike.
    """
    info: MrcFileInfo | None = None
    opened: Problem | None = None
    try:
        if not is_url(path) and not stat.S_ISREG(os.stat(as_path(path)).st_mode):  # a folder, a pipe
            return [Problem(f"cannot open {as_path(path)}: not a regular file", "fatal")]
        location, source = open_source(path)
    except OSError as err:
        return [Problem(f"cannot open {as_path(path)}: {err.strerror or err}", "fatal")]
    except MrczError as err:  # a URL that cannot be read, a corrupt stream
        if is_url(path):
            return [Problem(f"cannot open {err}", "fatal")]
        raw, opened = _raw_header(as_path(path)), Problem(f"unreadable: {err}", "fatal")
    else:
        raw = source.pread(HEADER_BYTES, 0)
        try:
            info = mrc_from_source(location, source, strict=False, warn=False)  # the checks here report them
        except (MrczError, OSError, EOFError, zlib.error, MemoryError) as err:  # the core sizes its chunk index by NZ
            source.close()
            opened = Problem(f"unreadable: {err}", "fatal")
    problems: list[Problem] = []
    if len(raw) >= HEADER_BYTES and not (info is None and _not_mrc(raw)):  # checks of noise say nothing
        order = info.header.byte_order if info else (byte_order_from_machst(raw[212:216]) or "<")
        is_mrcz = info.header.compressor is not None if info else int.from_bytes(
            raw[12:16], "little" if order == "<" else "big", signed=True) >= MRC_COMP_RATIO
        problems += _check_header(raw, order, is_mrcz)
    if info is None:
        return problems + [opened] if opened else problems
    with info:
        problems += _check_metadata(info)
        if info.chunk_index is not None:
            problems += _check_chunks(info)
            problems += _check_seek_table(info)
        problems += _check_size(info)
        if check_stats:
            try:
                problems += _check_stats(info, n_threads)
            except (MrczError, OSError, MemoryError) as err:
                problems.append(Problem(f"unreadable: {err}", "fatal"))
    return problems
