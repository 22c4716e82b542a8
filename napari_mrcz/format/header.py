"""The 1024-byte MRC2014/MRCZ header: its layout, parsing and checks, and what it says about the data.

Pure functions over bytes and numpy; no file I/O. Field names follow the MRC2014 spec (as mrcfile does).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .constants import (
    COMPRESSOR_IDS,
    HEADER_BYTES,
    IMOD_FLAG_SIGNED_BYTES,
    IMOD_STAMP,
    ISPG_IMAGE_STACK,
    ISPG_VOLUME_STACK_RANGE,
    MAP_ID,
    MRC_COMP_RATIO,
    OUR_LABEL,
)
from ..errors import Finding, HeaderError, UnsupportedError
from .byteorder import infer_byte_order, plausibility
from .identity import Strictness, check_identity, check_strictness
from .modes import KNOWN_MODES, MODE_TO_DTYPE, PACKED_MODES, byte_order_from_machst
from .voxel import voxel_from_cell

HEADER_DTYPE = np.dtype(
    [
        ("nx", "i4"), ("ny", "i4"), ("nz", "i4"),  # words 1-3: columns, rows, sections
        ("mode", "i4"),  # word 4: data type, + 1000 * compressor id in MRCZ
        ("nxstart", "i4"), ("nystart", "i4"), ("nzstart", "i4"),  # words 5-7
        ("mx", "i4"), ("my", "i4"), ("mz", "i4"),  # words 8-10: sampling along X, Y, Z
        ("cella", "3f4"),  # words 11-13: cell size in Å along X, Y, Z
        ("cellb", "3f4"),  # words 14-16: cell angles
        ("mapc", "i4"), ("mapr", "i4"), ("maps", "i4"),  # words 17-19: axis of columns, rows, sections
        ("dmin", "f4"), ("dmax", "f4"), ("dmean", "f4"),  # words 20-22
        ("ispg", "i4"),  # word 23: space group
        ("nsymbt", "i4"),  # word 24: extended header bytes
        ("extra1", "V8"),  # bytes 96-103
        ("exttyp", "S4"),  # bytes 104-107: extended header type (b"json" in MRCZ)
        ("nversion", "i4"),  # bytes 108-111
        ("extra2", "V16"),  # bytes 112-127
        ("nint", "i2"), ("nreal", "i2"),  # bytes 128-131: SerialEM bytes per section and flags (IMOD)
        ("voltage", "f4"), ("c3", "f4"), ("gain", "f4"),  # bytes 132-143: mrcz kV, mm, counts/e
        ("packed_bytes", "i8"),  # bytes 144-151: mrcz total compressed bytes
        ("imod_stamp", "i4"), ("imod_flags", "i4"),  # bytes 152-159: IMOD
        ("extra3", "V36"),  # bytes 160-195
        ("origin", "3f4"),  # bytes 196-207
        ("map", "S4"),  # bytes 208-211: b"MAP "
        ("machst", "u1", (4,)),  # bytes 212-215: machine stamp
        ("rms", "f4"),  # bytes 216-219
        ("nlabl", "i4"),  # bytes 220-223
        ("label", "S80", (10,)),  # bytes 224-1023
    ]
)
assert HEADER_DTYPE.itemsize == HEADER_BYTES

@dataclass(frozen=True)
class Header:
    """The decoded header fields of one MRC/MRCZ file (MRC2014 names), plus what they imply.

    ``mode`` is the raw MODE word; ``mrc_mode`` and ``compressor`` split it (MRCZ adds
    1000 x compressor id). ``byte_order`` is '<' or '>'. ``voltage`` (kV), ``c3`` (mm) and ``gain``
    (counts/e) are mrcz's words at bytes 132-143, None in headers whose writer uses those bytes for
    something else (see :func:`has_microscope_words`).
    """

    nx: int
    ny: int
    nz: int
    mode: int
    nxstart: int
    nystart: int
    nzstart: int
    mx: int
    my: int
    mz: int
    cella: tuple[float, float, float]
    cellb: tuple[float, float, float]
    mapc: int
    mapr: int
    maps: int
    dmin: float
    dmax: float
    dmean: float
    ispg: int
    nsymbt: int
    exttyp: str
    nversion: int
    nint: int
    nreal: int
    voltage: float | None
    c3: float | None
    gain: float | None
    packed_bytes: int
    imod_stamp: int
    imod_flags: int
    origin: tuple[float, float, float]
    map: bytes
    machst: bytes
    rms: float
    nlabl: int
    labels: tuple[str, ...]
    byte_order: str

    @property
    def mrc_mode(self) -> int:
        """The data mode without the MRCZ compressor part."""
        return self.mode % MRC_COMP_RATIO

    @property
    def compressor(self) -> str | None:
        """Name of the blosc codec of an MRCZ file ('zstd', 'lz4', ...), None for plain MRC."""
        return COMPRESSOR_IDS.get(self.mode // MRC_COMP_RATIO)

    @property
    def is_mrcz_file(self) -> bool:
        """True when the first label carries mrcz's format version (mrcz wrote the header)."""
        return bool(self.labels) and self.labels[0].startswith("MRCZ")

    @property
    def written_by_mrcz(self) -> bool:
        """True when mrcz itself wrote the header (its format label, not ours): its statistics are of
        the first frame only and its ISPG is always 0, whatever the data."""
        return self.is_mrcz_file and not any(lab.startswith(OUR_LABEL) for lab in self.labels)

    @property
    def stats_cover_data(self) -> bool:
        """True when DMIN/DMAX are set (finite, DMAX > DMIN) and describe all the data: not so in
        headers mrcz 0.6.0 wrote (:attr:`written_by_mrcz`)."""
        return bool(np.isfinite([self.dmin, self.dmax]).all() and self.dmax > self.dmin) and not self.written_by_mrcz

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype of the data as returned to the caller (native byte order for packed modes)."""
        if self.mrc_mode == 3:
            return np.dtype("c8")
        if self.mrc_mode == 101 or self.unsigned_bytes:
            return np.dtype("u1")
        return np.dtype(self.byte_order + MODE_TO_DTYPE[self.mrc_mode])

    @property
    def imod_unsigned(self) -> bool:
        """IMOD convention: mode 0 holds unsigned bytes unless IMOD's signed-bytes flag is set."""
        return self.imod_stamp == IMOD_STAMP and not self.imod_flags & IMOD_FLAG_SIGNED_BYTES

    @property
    def unsigned_bytes(self) -> bool:
        """Mode 0 read as unsigned bytes (uint8) rather than MRC2014's signed ones: IMOD's stamp says so
        (:attr:`imod_unsigned`), or, without the stamp, the header's statistics can only describe
        unsigned bytes (0 <= DMIN <= DMAX, DMAX > 127: what older IMOD and SerialEM files hold; IMOD
        reads such files as unsigned, mrcfile as signed, which wraps 128..255 to negative values)."""
        if self.mrc_mode != 0:
            return False
        if self.imod_stamp == IMOD_STAMP:
            return self.imod_unsigned
        return bool(np.isfinite([self.dmin, self.dmax]).all() and 0 <= self.dmin <= self.dmax and 127 < self.dmax <= 255)

    @property
    def disk_dtype(self) -> np.dtype:
        """The dtype of one stored sample group (4-bit mode 101 packs two voxels in a byte)."""
        if self.mrc_mode == 3:
            return np.dtype(self.byte_order + "i2")
        if self.mrc_mode == 101:
            return np.dtype("u1")
        return self.dtype

    @property
    def slice_nbytes(self) -> int:
        """Bytes of one stored z-slice (section)."""
        if self.mrc_mode == 101:
            return (self.nx + 1) // 2 * self.ny  # IMOD pads odd rows to whole bytes
        if self.mrc_mode == 3:
            return 4 * self.nx * self.ny
        return self.nx * self.ny * self.dtype.itemsize

    @property
    def data_offset(self) -> int:
        """Where the data (or the first compressed chunk) starts."""
        return HEADER_BYTES + self.nsymbt

    @property
    def plain_end(self) -> int:
        """Where the data of a plain (uncompressed) file ends: the size such a file should have."""
        return self.data_offset + self.nz * self.slice_nbytes

    @property
    def axis_order(self) -> tuple[int, int, int]:
        """(MAPC, MAPR, MAPS): which of X=1, Y=2, Z=3 the columns, rows and sections run along."""
        order = (self.mapc, self.mapr, self.maps)
        return (1, 2, 3) if order == (0, 0, 0) else order

    @property
    def is_volume_stack(self) -> bool:
        """ISPG 401-630 with MZ dividing NZ: the data is 4-D (volumes, z, y, x)."""
        return self.ispg in ISPG_VOLUME_STACK_RANGE and self.mz > 0 and self.nz % self.mz == 0

    @property
    def file_shape(self) -> tuple[int, ...]:
        """Shape of the data in storage order: (sections, rows, columns), 4-D for volume stacks."""
        if self.is_volume_stack:
            return (self.nz // self.mz, self.mz, self.ny, self.nx)
        return (self.nz, self.ny, self.nx)

    @property
    def zyx_axes(self) -> tuple[int, int, int]:
        """Transpose of the last three storage axes that puts them in z, y, x order."""
        storage = (self.maps, self.mapr, self.mapc) if self.axis_order != (1, 2, 3) else (3, 2, 1)
        return tuple(storage.index(axis) for axis in (3, 2, 1))  # type: ignore[return-value]

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the data as returned: z, y, x order; 2-D for a single image (ISPG 0, one slice)."""
        lead = self.file_shape[:-3]
        last3 = self.file_shape[-3:]
        zyx = tuple(last3[i] for i in self.zyx_axes)
        if not lead and zyx[0] == 1 and self.ispg == ISPG_IMAGE_STACK:
            return zyx[1:]
        return lead + zyx

    @property
    def voxel_size(self) -> tuple[float, float, float]:
        """Voxel size in Å, (z, y, x): CELLA / (MX, MY, MZ), as IMOD and mrcfile read it.

        Where a sampling is 0, or mrcz wrote the header (it stores pixel size x N in CELLA and uses MZ
        for its own frame grouping, even in volume stacks), the cell is divided by the number of
        voxels along that axis. Within 2^-24 of the size written (CELLA is float32), as a short decimal
        where one fits (1.05, not 1.0499999523): see :func:`napari_mrcz.format.voxel.voxel_from_cell`.
        0 where the cell size is 0.
        """
        n_along = dict(zip(self.axis_order, (self.nx, self.ny, self.nz)))
        sampling = {1: self.mx, 2: self.my, 3: self.mz}
        sizes = []
        for axis, cell in zip((3, 2, 1), self.cella[::-1]):
            m = sampling[axis]
            divisor = n_along[axis] if (m <= 0 or self.is_mrcz_file) else m
            sizes.append(voxel_from_cell(cell, divisor))
        return tuple(sizes)  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON-friendly values, plus the derived compressor, dtype and voxel size."""
        out = dataclasses.asdict(self)
        out["map"] = self.map.decode("latin-1")
        out["machst"] = self.machst.hex(" ")
        out.update(
            mrc_mode=self.mrc_mode,
            compressor=self.compressor,
            dtype=str(self.dtype),
            voxel_size=list(self.voxel_size),
            shape=list(self.shape),
        )
        return out


def decode_header(raw: bytes, source: str = "<bytes>", *, file_size: int | None = None) -> Header:
    """Decode a 1024-byte header and check what must hold for any file: no MAP ID check (see
    :func:`parse_header`).

    The byte order is the machine stamp's, or where it is missing or contradicted by the words that
    must be small, the order in which the header makes sense (:mod:`.byteorder`); ``file_size`` (the
    whole file's bytes) helps decide.

    Raises
    ------
    HeaderError
        Too short, impossible dimensions, negative NSYMBT, bad axis order, not an MRC file.
    UnsupportedError
        Unknown mode or compressor id.
    """
    if len(raw) < HEADER_BYTES:
        raise HeaderError(
            f"{source}: file is {len(raw)} bytes, shorter than the {HEADER_BYTES}-byte MRC header"
        )
    raw = bytes(raw[:HEADER_BYTES])
    stamp = byte_order_from_machst(raw[212:216])
    order = infer_byte_order(raw, file_size)
    if order is None:
        if stamp is None and raw[208:212] != MAP_ID:
            raise HeaderError(
                f"{source}: not an MRC file: no 'MAP ' ID at byte 208, no machine stamp, "
                "and no plausible dimensions or mode"
            )
        order = stamp or "<"  # the checks below name what is wrong
    rec = np.frombuffer(raw, dtype=HEADER_DTYPE.newbyteorder(order))[0]
    labels = tuple(lab.decode("latin-1").rstrip(" \0") for lab in rec["label"])
    nlabl = int(rec["nlabl"])
    fields: dict[str, Any] = {}
    for name in HEADER_DTYPE.names:
        value = rec[name]
        if name in ("cella", "cellb", "origin"):
            fields[name] = tuple(float(v) for v in value)
        elif name == "exttyp":
            fields[name] = value.decode("latin-1").rstrip(" \0")
        elif name == "map":
            fields[name] = bytes(value)
        elif name == "machst":
            fields[name] = bytes(value.tolist())
        elif name == "label":
            fields["labels"] = labels[: max(0, min(nlabl, 10))] if nlabl else tuple(x for x in labels if x)
        elif name.startswith("extra"):
            continue
        elif value.dtype.kind == "f":
            fields[name] = float(value)
        else:
            fields[name] = int(value)
    if not has_microscope_words(fields["mode"], fields["labels"]):
        fields.update(voltage=None, c3=None, gain=None)  # bytes 132-143 are another writer's EXTRA
    header = Header(**fields, byte_order=order)
    _check(header, source)
    return header


def parse_header(
    raw: bytes, source: str = "<bytes>", *, strict: Strictness = True, file_size: int | None = None
) -> Header:
    """Decode and check a 1024-byte header, including its MAP ID and machine stamp.

    Parameters
    ----------
    raw
        At least the first 1024 bytes of the file.
    source
        Name of the file, for messages.
    strict
        How to treat a file without the MAP ID and machine stamp: True refuses it, "auto" opens it
        (warning) where the header agrees exactly with ``file_size``, False opens it (warning); see
        :mod:`.identity`.
    file_size
        Bytes in the whole file, when known (decides "auto", and helps infer a missing byte order).

    Raises
    ------
    HeaderError
        Too short, impossible dimensions, negative NSYMBT, bad axis order, not an MRC file, or no MAP
        ID where ``strict`` refuses that.
    UnsupportedError
        Unknown mode or compressor id.
    """
    header, finding = check_header(raw, source, strict=strict, file_size=file_size)
    if finding is not None:
        finding.warn(stacklevel=2)
    return header


def check_header(
    raw: bytes, source: str = "<bytes>", *, strict: Strictness = True, file_size: int | None = None
) -> tuple[Header, Finding | None]:
    """:func:`parse_header` without warning: the header, and what it would warn about (a missing MAP
    ID where ``strict`` opens the file anyway), as a value.

    Raises
    ------
    HeaderError, UnsupportedError
        As :func:`parse_header`.
    """
    strict = check_strictness(strict)
    header = decode_header(raw, source, file_size=file_size)
    consistent = file_size is not None and plausibility(bytes(raw[:HEADER_BYTES]), header.byte_order, file_size) == 4
    return header, check_identity(header.map, header.machst, source, strict, consistent=consistent,
                                  byte_order=header.byte_order)


def has_microscope_words(mode: int, labels: tuple[str, ...]) -> bool:
    """True when bytes 132-143 hold mrcz's voltage, C3 and gain: the header was written by mrcz (first
    label ``MRCZ...``), by this package (a ``napari-mrcz`` label) or is compressed (only mrcz-style
    writers compress). Elsewhere MRC2014 calls those bytes EXTRA, free for any writer's use."""
    written_by_us = any(label.startswith(OUR_LABEL) for label in labels)
    return mode >= MRC_COMP_RATIO or written_by_us or bool(labels and labels[0].startswith("MRCZ"))


def _check_mode(mode: int, source: str) -> None:
    comp, mrc_mode = divmod(mode, MRC_COMP_RATIO)
    if mode < 0 or mrc_mode not in KNOWN_MODES:
        raise UnsupportedError(
            f"{source}: MODE {mode} is not defined (known modes: {', '.join(map(str, KNOWN_MODES))})"
        )
    if comp and comp not in COMPRESSOR_IDS:
        raise UnsupportedError(
            f"{source}: MODE {mode}: compressor id {comp} is unknown "
            f"(known: {', '.join(f'{k} {v}' for k, v in COMPRESSOR_IDS.items())})"
        )
    if comp and mrc_mode in PACKED_MODES:
        raise UnsupportedError(f"{source}: MODE {mode}: packed mode {mrc_mode} cannot be compressed")


def _check(h: Header, source: str) -> None:
    _check_mode(h.mode, source)
    for name in ("nx", "ny", "nz"):
        if getattr(h, name) < 1:
            raise HeaderError(f"{source}: {name.upper()}={getattr(h, name)}: dimensions must be >= 1")
    if h.nsymbt < 0:
        raise HeaderError(f"{source}: NSYMBT={h.nsymbt}: extended header size must be >= 0")
    if sorted(h.axis_order) != [1, 2, 3]:
        raise HeaderError(
            f"{source}: MAPC/MAPR/MAPS={h.axis_order}: axis order must be a permutation of 1, 2, 3"
        )
