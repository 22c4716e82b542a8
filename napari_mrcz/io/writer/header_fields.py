"""What a written header holds besides the data's shape, mode, statistics and packed size:
:class:`HeaderFields`, checked once from the writer's arguments.

:class:`~napari_mrcz.io.writer.mrcz_writer.MrczWriter` encodes its header on close with it, and
:mod:`napari_mrcz.io.writer.plain_view` encodes the header ``convert --no-metadata`` would write with it, so
the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..._version import __version__
from ...errors import MrczError
from ...format.build import build_header
from ...format.constants import MICROSCOPE_DEFAULTS, OUR_LABEL
from ...format.extended import RawExtended
from ...format.kept import KeptFields, extended_to_write
from ...format.metadata import JSON_EXTTYP, check_voxel_size, encode_metadata
from ...format.origin import check_origin
from ...values.quantize import carry_tolerance

_ENDIAN = {"<": "<", "little": "<", "le": "<", ">": ">", "big": ">", "be": ">"}


@dataclasses.dataclass(frozen=True)
class HeaderFields:
    """The checked header fields of a file being written.

    Attributes
    ----------
    voxel_size
        Å, (z, y, x).
    byte_order
        '<' or '>'.
    extras
        voltage, C3 and gain (mrcz's defaults where not recorded).
    kept
        ORIGIN, N*START, space group and labels.
    extended, exttyp
        The extended header's bytes and its EXTTYP ("json" for metadata; "" when there is none).
    nint, nreal
        NINT and NREAL of a kept or SERI extended header (what its records hold); 0 otherwise.
    """

    voxel_size: tuple[float, float, float]
    byte_order: str
    extras: dict[str, float]
    kept: KeptFields
    extended: bytes
    exttyp: str
    nint: int = 0
    nreal: int = 0

    @classmethod
    def from_arguments(
        cls,
        *,
        voxel_size: Any = None,
        units: str = "Å",
        metadata: dict[str, Any] | None = None,
        endianness: str = "<",
        voltage: float | None = None,
        c3: float | None = None,
        gain: float | None = None,
        origin: Any = None,
        kept: KeptFields | None = None,
        ndim: int = 3,
        extended_header: RawExtended | None = None,
    ) -> HeaderFields:
        """Check the writer's arguments (see :func:`napari_mrcz.write`); ``extended_header`` is a source's
        extended header to keep where ``metadata`` gives none (FEI, SERI, ...:
        :func:`~napari_mrcz.format.kept.kept_extended_header`); ``kept.tilt_angles`` are kept as
        :func:`~napari_mrcz.format.kept.extended_to_write` says.

        Raises
        ------
        MrczError
            An argument is invalid (voxel size, units, origin, endianness, voltage/C3/gain, metadata).
        """
        size = check_voxel_size(voxel_size, units)
        kept = kept or KeptFields()
        if origin is not None:
            z, y, x = check_origin(origin, units, ndim)
            kept = dataclasses.replace(kept, origin_xyz=(x, y, z), start_xyz=(0, 0, 0))
        if endianness not in _ENDIAN:
            raise MrczError(f"endianness must be '<' or '>' (or little/big), not {endianness!r}")
        extras = dict(MICROSCOPE_DEFAULTS)
        for name, value in (("voltage", voltage), ("c3", c3), ("gain", gain)):
            if value is None:
                continue  # not recorded: mrcz's default
            if not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
                raise MrczError(f"{name} must be a finite number or None, not {value!r}")
            extras[name] = float(value)
        byte_order = _ENDIAN[endianness]
        metadata, raw = extended_to_write(kept, metadata, extended_header if extended_header and extended_header.data else None,
                                          byte_order)
        encoded = encode_metadata(metadata)
        if encoded or raw is None:
            return cls(size, byte_order, extras, kept, encoded, JSON_EXTTYP if encoded else "")
        return cls(size, byte_order, extras, kept, raw.data, raw.exttyp, raw.nint, raw.nreal)

    def encode(
        self,
        *,
        shape: tuple[int, ...],
        stored: np.dtype,
        compressor: str | None,
        stats: tuple[float, float, float, float],
        packed_bytes: int = 0,
        extra_labels: tuple[str, ...] | list[str] = (),
    ) -> bytes:
        """The 1024-byte header for data of ``shape`` (z, y, x; 2-D or 4-D) stored as ``stored``,
        with our label (``napari-mrcz <version>``) after the kept ones, then ``extra_labels`` (a new
        tolerance line folded together with a kept one: see :func:`~napari_mrcz.values.quantize.carry_tolerance`)."""
        kept_labels, ours = carry_tolerance(self.kept.labels, [f"{OUR_LABEL} {__version__}", *extra_labels])
        return build_header(
            shape=shape,
            dtype=stored,
            byte_order=self.byte_order,
            voxel_size=self.voxel_size,
            compressor=compressor,
            stats=stats,
            nsymbt=len(self.extended),
            exttyp=self.exttyp,
            nint=self.nint,
            nreal=self.nreal,
            packed_bytes=packed_bytes,
            extra_labels=ours,
            kept=dataclasses.replace(self.kept, labels=tuple(kept_labels)),
            **self.extras,
        )
