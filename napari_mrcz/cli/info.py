"""What ``napari-mrcz info`` reports about a file: a JSON-friendly description and its text form.

Reads the header, the extended header and the chunk index only, unless statistics are asked for
(then every slice, a block at a time).
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..io.reader.file import MrcFileInfo
from ..io.stats.check import data_stats


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def describe(info: MrcFileInfo, compute_stats: bool = False) -> dict[str, Any]:
    """The facts ``info`` prints, as JSON-friendly values (voxel size in Å, z, y, x order)."""
    h = info.header
    if compute_stats:
        dmin, dmax, dmean, rms = data_stats(info)
    else:
        dmin, dmax, dmean, rms = h.dmin, h.dmax, h.dmean, h.rms
    stats = {  # MRC2014: DMAX < DMIN, DMEAN below both and RMS < 0 mean "not determined"
        "min": _finite(dmin) if dmin <= dmax else None,
        "max": _finite(dmax) if dmin <= dmax else None,
        "mean": _finite(dmean) if dmean >= min(dmin, dmax) else None,
        "rms": _finite(rms) if rms >= 0 else None,
        "source": "data" if compute_stats else "header",
    }
    file_bytes = info.source.file_nbytes
    return {
        "path": str(info.path),
        "format": "MRCZ" if h.compressor else "MRC",
        "container": info.source.container,
        "shape": list(info.shape),
        "axes": ["volume", "z", "y", "x"][-len(info.shape):],
        "dtype": str(info.dtype),
        "mode": h.mrc_mode,
        "byte_order": "little" if h.byte_order == "<" else "big",
        "voxel_size": list(info.voxel_size),
        "voxel_units": "Å",
        "origin": [_finite(v) for v in info.origin],
        "tilt_angles": None if info.tilt_angles is None else [_finite(a) for a in info.tilt_angles],
        "compressor": h.compressor,
        "nbytes": info.nbytes,
        "stored_nbytes": info.compressed_nbytes,
        "file_nbytes": file_bytes,
        "ratio": info.nbytes / max(info.compressed_nbytes, 1),
        "stats": stats,
        "voltage_kV": _finite(h.voltage),
        "c3_mm": _finite(h.c3),
        "gain": _finite(h.gain),
        "exttyp": h.exttyp,
        "nsymbt": h.nsymbt,
        "metadata": info.metadata,
        "ispg": h.ispg,
        "axis_order": list(h.axis_order),
        "labels": list(h.labels),
        "tolerance": info.tolerance,
    }


def size_text(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def info_text(d: dict[str, Any]) -> str:
    axes = ", ".join(d["axes"])
    spatial_axes = [a for a in d["axes"] if a != "volume"]
    spatial = d["voxel_size"][-len(spatial_axes):]
    fmt = f"MRCZ, {d['compressor']}" if d["compressor"] else "plain MRC2014"
    if d["container"]:
        fmt += f", in {d['container']}"
    size = f"{size_text(d['nbytes'])} of data"
    if d["compressor"]:
        size += f", {size_text(d['stored_nbytes'])} stored (ratio {d['ratio']:.2f})"
    s = d["stats"]
    names = ("min", "max", "mean", "rms")
    stats = "  ".join(f"{k} {s[k]:.6g}" for k in names if s[k] is not None) or "not in the header (use --stats)"
    stats += f"  (from the {s['source']})" if any(s[k] is not None for k in names) else ""
    lines = [
        d["path"],
        f"  format       {fmt}, {d['byte_order']}-endian, mode {d['mode']} ({d['dtype']})",
        f"  shape        {' × '.join(map(str, d['shape']))} ({axes})",
        f"  voxel size   {' × '.join(f'{v:.6g}' for v in spatial)} Å ({', '.join(spatial_axes)})",
        f"  origin       {', '.join(f'{v:.6g}' for v in d['origin'])} Å (z, y, x: where voxel 0 sits, as ChimeraX places it)",
        f"  size         {size}; file {size_text(d['file_nbytes'])}",
        f"  statistics   {stats}",
        f"  ext. header  {d['exttyp'] or 'none'} ({d['nsymbt']} bytes)",
        f"  space group  {d['ispg']}, axis order {', '.join(map(str, d['axis_order']))}",
    ]
    if d["voltage_kV"] or d["c3_mm"]:  # MRCZ's words; other writers leave them 0
        lines.insert(7, f"  microscope   {d['voltage_kV'] or 0:g} kV, C3 {d['c3_mm'] or 0:g} mm, gain {d['gain'] or 0:g}")
    if d["tilt_angles"] is not None:
        angles = d["tilt_angles"]
        shown = ", ".join(f"{a:g}" for a in angles[:8]) + (", ..." if len(angles) > 8 else "")
        lines.append(f"  tilt angles  {len(angles)}, {min(angles):g}° to {max(angles):g}° ({shown})")
    if d.get("tolerance"):
        lines.append(f"  precision    lossy by the writer's choice: every value within {d['tolerance']:g} of the original")
    if d["labels"]:
        lines.append("  labels       " + "\n               ".join(d["labels"]))
    if d["metadata"]:
        text = json.dumps(d["metadata"], indent=2, ensure_ascii=False, default=str)
        lines.append("  metadata     " + text.replace("\n", "\n               "))
    else:
        lines.append("  metadata     none")
    return "\n".join(lines)
