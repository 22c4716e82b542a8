"""Read OME-Zarr images (NGFF 0.4 on zarr v2, 0.5 on zarr v3), lazily, for :func:`napari_mrcz.read`: one
pyramid level, voxel size and origin converted to Å from the axes' units.

The ``multiscales`` metadata is read as the NGFF specification lays it out
(https://ngff.openmicroscopy.org/0.4/#multiscale-md): a dataset's ``scale``/``translation`` are
applied first, then any the multiscale itself gives; axes other than z, y, x must have one element.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ...errors import Finding, MrczError
from ...format.build import build_header
from ...format.header import decode_header
from ...format.kept import KeptFields
from ...format.metadata import angstrom_per
from ..storage.remote import is_url
from .attributes import METADATA_ATTR, MRC_HEADER_ATTR

SPACE = ("z", "y", "x")


def open_group(path: Any, storage_options: dict[str, Any] | None = None) -> Any:
    """The zarr group at a local folder or an fsspec URL, read-only.

    Raises
    ------
    MrczError
        Nothing readable as a zarr group is there.
    """
    import zarr
    from zarr.storage import FsspecStore, LocalStore

    try:
        if is_url(path):
            store: Any = FsspecStore.from_url(str(path).rstrip("/"), storage_options=storage_options, read_only=True)
        else:
            if not os.path.isdir(path):
                raise MrczError(f"{os.fspath(path)}: no such OME-Zarr folder")
            store = LocalStore(os.fspath(path), read_only=True)
        return zarr.open_group(store, mode="r")
    except MrczError:
        raise
    except Exception as err:
        raise MrczError(f"{path}: not a readable zarr group: {err}") from err


def multiscales_of(group: Any, where: Any) -> dict[str, Any]:
    """The first ``multiscales`` entry of a group's attributes (NGFF 0.4, or 0.5 under ``ome``).

    Raises
    ------
    MrczError
        The group has none (not an OME-Zarr image, or one whose writing never completed).
    """
    attrs = dict(group.attrs)
    found = attrs.get("multiscales") or (attrs.get("ome") or {}).get("multiscales")
    if not isinstance(found, list) or not found or not isinstance(found[0], dict) or not found[0].get("datasets"):
        raise MrczError(f"{where}: not an OME-Zarr image: no 'multiscales' metadata (or its writing never completed)")
    return found[0]


def _transform(items: Any, kind: str, n: int, default: float) -> np.ndarray:
    for item in items or ():
        if isinstance(item, dict) and item.get("type") == kind:
            values = item.get(kind)
            if not isinstance(values, list) or len(values) != n:
                raise MrczError(f"a {kind} of {values!r} does not have one value per axis ({n})")
            return np.asarray(values, dtype=float)
    return np.full(n, default)


def _kept(group: Any, origin: list[float]) -> KeptFields:
    """The origin, and the space group and labels of the MRC header napari-mrcz kept, if any."""
    kept = dict(group.attrs).get(MRC_HEADER_ATTR)
    kept = kept if isinstance(kept, dict) else {}
    ispg = kept.get("ispg")
    labels = kept.get("labels")
    return KeptFields(
        origin_xyz=(origin[2], origin[1], origin[0]),
        ispg=ispg if isinstance(ispg, int) and ispg in (0, 1) else None,
        labels=tuple(str(t) for t in labels) if isinstance(labels, list) else (),
    )


def load_ome_zarr(path: Any, *, level: int = 0, lazy: bool = True, storage_options: dict[str, Any] | None = None,
                  findings: list[Finding] | None = None) -> dict[str, Any]:
    """One level of an OME-Zarr image as the fields of a :class:`~napari_mrcz.MrcImage` (which
    :func:`napari_mrcz.read` makes of them): ``data`` (z, y, x or y, x; dask when ``lazy``, else numpy),
    ``voxel_size``, ``metadata``, ``header``, ``path`` and ``origin``.

    ``voxel_size`` and ``origin`` are in Å, (z, y, x), from the level's scale and translation and the
    axes' units (NGFF names: angstrom, nanometer, micrometer, ...); ``metadata`` is the JSON metadata
    napari-mrcz kept (``mrc_metadata``), else ``{}``; ``header`` a fresh MRC header for the data.

    Raises
    ------
    MrczError
        Not an OME-Zarr image, no such ``level``, axes other than z/y/x with more than one element, a unit
        that is not a length, an unusable scale.

    Warns
    -----
    MrczWarning
        A space axis without a unit (its numbers are taken as Å); appended to ``findings`` instead
        when that is a list (see :meth:`~napari_mrcz.errors.Finding.report`).
    """
    import dask.array as da

    group = open_group(path, storage_options)
    ms = multiscales_of(group, path)
    datasets = ms["datasets"]
    if not isinstance(level, int) or not 0 <= level < len(datasets):
        raise MrczError(f"{path}: level must be 0 to {len(datasets) - 1}, not {level!r}")
    axes = [a if isinstance(a, dict) else {"name": a} for a in (ms.get("axes") or [])]
    try:
        array = group[datasets[level]["path"]]
    except (KeyError, TypeError) as err:
        raise MrczError(f"{path}: level {level}'s array {datasets[level].get('path')!r} is missing") from err
    n = array.ndim
    if not axes:
        axes = [{"name": name} for name in ("t", "c", "z", "y", "x")[-n:]]
    if len(axes) != n:
        raise MrczError(f"{path}: {len(axes)} axes for an array of {n} dimensions")
    names = [str(a.get("name")) for a in axes]
    scale = _transform(datasets[level].get("coordinateTransformations"), "scale", n, 1.0)
    shift = _transform(datasets[level].get("coordinateTransformations"), "translation", n, 0.0)
    outer_scale = _transform(ms.get("coordinateTransformations"), "scale", n, 1.0)
    shift = shift * outer_scale + _transform(ms.get("coordinateTransformations"), "translation", n, 0.0)
    scale = scale * outer_scale
    keep = [i for i, name in enumerate(names) if name in SPACE]
    if not keep or [names[i] for i in keep] != [s for s in SPACE if s in names][-len(keep):] or keep[0] < n - len(keep):
        raise MrczError(f"{path}: axes {names} do not end in space axes z, y, x")
    drop = tuple(i for i in range(n) if i not in keep)
    if any(array.shape[i] != 1 for i in drop):
        raise MrczError(f"{path}: axes {[names[i] for i in drop]} have more than one element; only z, y, x images are read")
    voxel, origin = [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]
    for i in keep:
        unit = axes[i].get("unit")
        if unit is None:
            Finding(str(path), f"axis {names[i]} has no unit; its scale is taken as Å").report(findings)
        factor = angstrom_per(unit) if unit is not None else 1.0
        j = SPACE.index(names[i])
        voxel[j], origin[j] = float(scale[i] * factor), float(shift[i] * factor)
    if not all(0 < v < float("inf") for v in voxel):
        raise MrczError(f"{path}: the scale {list(scale)} is not a usable voxel size")
    data = da.from_zarr(array)
    if drop:
        data = data.squeeze(axis=drop)
    if data.ndim == 3 and names[keep[0]] != "z":
        raise MrczError(f"{path}: 3-D images must have axes z, y, x, not {names}")
    dtype = data.dtype.newbyteorder("=")
    if data.dtype != dtype:
        data = data.astype(dtype)
    header = decode_header(build_header(shape=tuple(data.shape), dtype=dtype, byte_order="<",
                                        voxel_size=tuple(voxel), compressor=None,  # type: ignore[arg-type]
                                        kept=_kept(group, origin)))
    metadata = dict(group.attrs).get(METADATA_ATTR)
    return {"data": data if lazy else data.compute(), "voxel_size": tuple(voxel),
            "metadata": metadata if isinstance(metadata, dict) else {}, "header": header,
            "path": str(path) if is_url(path) else os.fspath(path), "origin": tuple(origin)}
