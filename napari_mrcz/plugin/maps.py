"""What a 3-D file is, from the evidence it carries, and how napari should draw it in 3-D.

A volume is a **density map** (drawn as an isosurface, as ChimeraX shows maps) or a **tomogram** (drawn as
a maximum-intensity projection, as 3dmod and napari show tomograms); other 3-D files are **stacks** of 2-D
images (tilt series, particle stacks, movies), drawn as napari draws any volume. The evidence, strongest
first:

1. tilt angles (extended header or sidecar), ISPG 0 (image stack) or a stack name (RELION's ``.mrcs``,
   IMOD/SerialEM's ``.st``, ``.preali``, ``.ali``): a stack;
2. IMOD's tomogram name ``.rec``: a tomogram;
3. a map name (``.map``, ``.ccp4``, ``emd_NNNN``), an EMDB header label (``::::EMDATABANK.org::::``) or a
   crystallographic space group (ISPG 2-230): a map;
4. otherwise the shape of the *physical* extent (voxel counts times voxel sizes): a box whose shortest
   side is at least half its longest is a map (reconstructions are boxes), a slab a tomogram (tomograms
   are thin: 100-300 nm thick and microns wide).

The names are :mod:`napari_mrcz.format.names`'. No napari import.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..format.constants import ISPG_IMAGE_STACK
from ..format.kept import MAX_CRYSTAL_SPACE_GROUP
from ..format.names import IMAGE_STACK_SUFFIXES, MAP_SUFFIXES, TOMOGRAM_SUFFIXES, mrc_suffix
from ..io.reader.file import MrcFileInfo

MIN_BOX_ASPECT = 0.75
"""A volume whose shortest physical side is at least this part of its longest is a box (a map); a
512 × 1024 × 1024 tomogram (0.5) is a slab."""
EMDB_NAME = re.compile(r"^emd[_-]\d+", re.IGNORECASE)
EMDB_LABEL = "EMDATABANK"
"""EMDB writes ``::::EMDATABANK.org::::EMD-NNNN::::`` as the first label of its maps."""
MAP, TOMOGRAM, STACK, IMAGE = "map", "tomogram", "stack", "image"


def physical_extent(info: MrcFileInfo) -> tuple[float, ...]:
    """(z, y, x) size of a volume in Å (voxel counts × voxel sizes); axes without a voxel size count 1 Å."""
    sizes = [v if v > 0 and np.isfinite(v) else 1.0 for v in info.voxel_size]
    return tuple(float(n * v) for n, v in zip(info.shape[-3:], sizes[-3:]))


def volume_kind(info: MrcFileInfo) -> str:
    """:data:`MAP`, :data:`TOMOGRAM`, :data:`STACK` (3-D but not a volume) or :data:`IMAGE` (2-D, or
    a 4-D volume stack), from the evidence in the module notes."""
    h, shape = info.header, info.shape
    if len(shape) != 3:
        return IMAGE
    name = Path(str(info.path)).name
    suffix = mrc_suffix(name)
    if info.tilt_angles is not None or h.ispg == ISPG_IMAGE_STACK or suffix in IMAGE_STACK_SUFFIXES:
        return STACK
    if suffix in TOMOGRAM_SUFFIXES:
        return TOMOGRAM
    if (suffix in MAP_SUFFIXES or EMDB_NAME.match(name) or any(EMDB_LABEL in label for label in h.labels)
            or 2 <= h.ispg <= MAX_CRYSTAL_SPACE_GROUP):
        return MAP
    extent = physical_extent(info)
    return MAP if min(extent) >= MIN_BOX_ASPECT * max(extent) else TOMOGRAM


def is_density_map(info: MrcFileInfo) -> bool:
    """True when ``info`` is a density map, drawn as an isosurface in 3-D (see the module notes)."""
    return volume_kind(info) == MAP
