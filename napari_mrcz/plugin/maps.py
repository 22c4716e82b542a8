"""Density maps render in 3-D as an isosurface, as ChimeraX shows them; tomograms and stacks keep MIP.

A file is taken as a density map when it is one volume (3-D, space group 1-230: ISPG 0 is an image
stack, 401+ a volume stack) and either has a map suffix (``.map``, ``.ccp4``: EMDB, CCP-EM) or is a
roughly cubic box (its shortest side at least half its longest: reconstructions are boxes, tomograms
are slabs) without a tilt-series or tomogram suffix (``.st``, ``.ali``, ``.rec``, ``.mrcs``). Its layer
gets ``rendering="iso"`` at ChimeraX's initial level (1% of the voxels above it; see
:data:`contrast.ISO_PERCENTILE`), which napari uses once the view is switched to 3-D.
"""

from __future__ import annotations

from pathlib import Path

from ..format.kept import MAX_CRYSTAL_SPACE_GROUP
from ..io.reader.file import MrcFileInfo

MAP_SUFFIXES = (".map", ".ccp4")
NOT_MAP_SUFFIXES = (".st", ".ali", ".rec", ".mrcs")
MIN_BOX_ASPECT = 0.5
_STREAM_SUFFIXES = (".gz", ".bz2")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for stream in _STREAM_SUFFIXES:
        if name.endswith(stream):
            name = name[: -len(stream)]
    return Path(name).suffix


def is_density_map(info: MrcFileInfo) -> bool:
    """True when ``info`` is a density map to render as an isosurface in 3-D (see the module notes)."""
    h, shape = info.header, info.shape
    if len(shape) != 3 or not 1 <= h.ispg <= MAX_CRYSTAL_SPACE_GROUP:
        return False
    suffix = _suffix(Path(info.path))
    if suffix in MAP_SUFFIXES:
        return True
    if suffix in NOT_MAP_SUFFIXES:
        return False
    return min(shape) >= MIN_BOX_ASPECT * max(shape)
