"""napari writer hooks: one image layer to ``.mrcz`` or plain ``.mrc``, several to a folder of ``.mrcz``.

The layer's scale and units become the voxel size in Å, its translate the origin (ORIGIN), its metadata
the JSON extended header. Data
(numpy or dask) is streamed by the core writer one z-slice at a time with napari progress. The
default codec and tolerance come from the plugin settings (see :func:`default_codec` and
:func:`default_tolerance`); plain ``.mrc`` saves are always lossless.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from . import layer as _layer
from . import placement as _placement
from ..format.constants import WRITABLE_COMPRESSORS
from ..format.names import DEFAULT_COMPRESSOR
from ..errors import Finding, MrczError
from ..format.names import COMPRESSED_SUFFIX, layer_file_name, stem, with_default_suffix
from ..values.noise import resolve_tolerance
from ..values.quantize import check_tolerance, parse_tolerance
from ..io.codec.settings import CodecSettings
from ..io.writer.write import write

PLUGIN = "napari-mrcz"


class LayerNotSavedError(RuntimeError):
    """Raised by the writer hooks when a layer cannot be saved; the message is the core's.

    Not a ``ValueError`` like :class:`MrczError`: napari's ``layers.save`` catches ``ValueError`` from
    writer hooks and replaces it with "not a valid writer" (napari 0.9 ``plugins/_npe2.write_layers``).
    """
DEFAULT_CLEVEL = 1
ENV_COMPRESSOR, ENV_CLEVEL = "NAPARI_MRCZ_COMPRESSOR", "NAPARI_MRCZ_CLEVEL"
ENV_TOLERANCE = "NAPARI_MRCZ_TOLERANCE"


def default_codec() -> tuple[str, int]:
    """(compressor, clevel) for File > Save Layer as MRCZ and the folder writer.

    From the environment variables ``NAPARI_MRCZ_COMPRESSOR`` / ``NAPARI_MRCZ_CLEVEL`` when set,
    else from napari's plugin settings (Preferences > napari-mrcz, napari >= 0.9), else zstd 1.

    Raises
    ------
    MrczError
        An environment variable holds an unknown compressor or a level outside 1-9.
    """
    compressor, clevel = DEFAULT_COMPRESSOR, DEFAULT_CLEVEL
    try:
        from napari.settings import get_plugin_settings

        save = get_plugin_settings(PLUGIN).compression
        compressor, clevel = str(save.compressor), int(save.clevel)
    except (ImportError, KeyError, AttributeError, ValueError):
        pass  # older napari, or the plugin is not registered with napari's plugin manager
    compressor = os.environ.get(ENV_COMPRESSOR, compressor).strip().lower()
    level = os.environ.get(ENV_CLEVEL, str(clevel)).strip()
    if compressor not in WRITABLE_COMPRESSORS or not level.isdigit() or not 1 <= int(level) <= 9:
        raise MrczError(
            f"{ENV_COMPRESSOR}={compressor!r}, {ENV_CLEVEL}={level!r}: the compressor must be one of "
            f"{', '.join(WRITABLE_COMPRESSORS)} and the level 1-9"
        )
    return compressor, int(level)


def default_tolerance() -> float | Fraction:
    """The tolerance File > Save Layer uses for ``.mrcz`` files: 0.0 (lossless) out of the box.

    From ``NAPARI_MRCZ_TOLERANCE`` when set (a number, ``auto`` or ``auto:F``: a Fraction of each
    layer's noise), else napari's plugin setting (Preferences > napari-mrcz > Tolerance, a number).

    Raises
    ------
    MrczError
        The environment variable or the setting is not a valid tolerance.
    """
    tolerance: float | Fraction = 0.0
    try:
        from napari.settings import get_plugin_settings

        tolerance = check_tolerance(get_plugin_settings(PLUGIN).compression.tolerance) or 0.0
    except (ImportError, KeyError, AttributeError, TypeError):
        pass  # older napari, or the plugin is not registered with napari's plugin manager
    text = os.environ.get(ENV_TOLERANCE, "").strip()
    if text:
        try:
            tolerance = parse_tolerance(text)
        except MrczError as err:
            raise MrczError(f"{ENV_TOLERANCE}={text!r}: {err}") from None
    return tolerance


def save_image(
    path: str | os.PathLike[str],
    data: Any,
    attributes: dict[str, Any],
    *,
    compressor: str | None,
    clevel: int = DEFAULT_CLEVEL,
    shuffle: str = "auto",
    n_threads: int | None = None,
    tolerance: float | Fraction | None = None,
    labels: tuple[str, ...] = (),
    progress: Callable[[int, int, int], None] | None = None,
    findings: list[Finding] | None = None,
) -> Path:
    """Write one image layer's data and attributes; the target is replaced only when complete.
    ``labels`` are extra MRC header labels. ``progress`` is :func:`napari_mrcz.write`'s (called after
    each slice; an exception it raises aborts the save, leaving no file); None: a napari progress bar.
    ``findings``: a list to append what the save finds to instead of warning (as for
    :func:`napari_mrcz.write`; also what the layer's scale and metadata cannot hold).

    float64 and complex128 data are rounded to float32/complex64 (MRC holds nothing wider) with a
    :class:`MrczWarning` stating the largest rounding error, as :func:`napari_mrcz.write` does with
    ``lossy_cast=True``; integer data that does not fit its MRC type is refused. ``tolerance`` is as
    for :func:`napari_mrcz.write`, or a Fraction of the layer's noise (``auto``). A multiscale layer
    saves its level 0, streamed slice by slice like any lazy layer.

    Raises
    ------
    MrczError
        RGB data, a dtype, values or shape MRC cannot hold, invalid codec settings, or ``path`` is
        the file a lazy layer reads from.
    OSError
        The file cannot be written.
    """
    if attributes.get("rgb"):
        raise MrczError("RGB(A) image layers cannot be stored in MRC; convert the layer to grayscale")
    _check_not_source(path, attributes)
    if attributes.get("multiscale") or isinstance(data, (list, tuple)):
        data = data[0]  # the full-resolution level
    shape = tuple(data.shape)
    slices = math.prod(shape[:-2])  # 1 for a 2-D image
    arguments = dict(
        tolerance=resolve_tolerance(data, tolerance),
        codec=CodecSettings(compressor, clevel, shuffle, threads=n_threads),
        labels=(*_layer.recorded_tolerance(attributes.get("metadata")), *labels),
        lossy_cast=True,  # float64/complex128 layers are rounded to float32/complex64, with a warning
        origin=_placement.origin_from_layer(attributes.get("translate"), attributes.get("units"), len(shape)),
        **_layer.write_arguments(attributes, len(shape), findings),
        findings=findings,
    )
    if progress is not None:
        return write(path, data, progress=progress, **arguments)
    from napari.utils import progress as progress_bar

    name = attributes.get("name") or stem(Path(path).name)
    with progress_bar(total=slices, desc=f"Saving {name}") as bar:

        def advance(done: int, _in: int, _out: int) -> None:
            bar.update(done - bar.n)

        return write(path, data, progress=advance, **arguments)


def _check_not_source(path: str | os.PathLike[str], attributes: dict[str, Any]) -> None:
    """Refuse to replace the file a lazy layer is still reading its slices from."""
    ours = (attributes.get("metadata") or {}).get(_layer.KEY)
    if not (isinstance(ours, dict) and ours.get("lazy") and ours.get("path")):
        return
    source, target = Path(ours["path"]), Path(path)
    if source.exists() and target.exists() and os.path.samefile(source, target):
        raise MrczError(
            f"{target} is the file this lazy layer reads from; save to another name "
            "(replacing it would pull the data from under the layer)"
        )


def writer_hook(function: Any) -> Any:
    """Writer hooks raise :class:`LayerNotSavedError` (with the core's message) for MrczError."""

    @functools.wraps(function)
    def hook(*args: Any) -> list[str]:
        try:
            return function(*args)
        except MrczError as err:
            raise LayerNotSavedError(str(err)) from err

    return hook


@writer_hook
def write_mrcz(path: str, data: Any, attributes: dict[str, Any]) -> list[str]:
    """npe2 single-layer writer: an image layer to MRCZ with the default codec and tolerance."""
    compressor, clevel = default_codec()
    target = with_default_suffix(path, COMPRESSED_SUFFIX)
    return [str(save_image(target, data, attributes, compressor=compressor, clevel=clevel, tolerance=default_tolerance()))]


@writer_hook
def write_mrc(path: str, data: Any, attributes: dict[str, Any]) -> list[str]:
    """npe2 single-layer writer: an image layer to plain MRC2014 (IMOD, Relion, ChimeraX), always
    lossless: the tolerance setting is for compressed files, where rounding makes them smaller."""
    return [str(save_image(with_default_suffix(path, ".mrc"), data, attributes, compressor=None))]


@writer_hook
def write_mrcz_folder(path: str, layer_data: list[tuple[Any, dict[str, Any], str]]) -> list[str]:
    """npe2 multi-layer writer: each image layer to ``<path>/<layer name>.mrcz``.

    napari picks it when several image layers are saved to a path without an extension. The folder
    is created if needed; existing files of the same names are replaced.

    Raises
    ------
    LayerNotSavedError
        ``path`` is an existing file, or a layer cannot be stored (files already written stay).
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise MrczError(f"{folder} is a file; save several layers to a folder name (no extension)")
    folder.mkdir(parents=True, exist_ok=True)
    compressor, clevel = default_codec()
    tolerance = default_tolerance()
    taken: set[str] = set()
    written = []
    for data, attributes, layer_type in layer_data:
        if layer_type != "image":
            continue
        target = folder / layer_file_name(str(attributes.get("name", "layer")), taken)
        written.append(str(save_image(target, data, attributes, compressor=compressor, clevel=clevel, tolerance=tolerance)))
    return written
