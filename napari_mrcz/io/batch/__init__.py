"""Bulk conversion: many MRC/MRCZ files converted on dask.distributed workers, verified and resumable.

:func:`convert_many` plans the jobs (:mod:`.plan`: inputs, output names, collisions), skips outputs the
run record (:mod:`.record`) shows complete, runs one :func:`napari_mrcz.io.writer.convert.convert_file` task
per file (:mod:`.run`), optionally reads every output back against its input (:mod:`.verify`), and
returns one :class:`ConvertResult` per file. It parses no bytes itself. May import what
:mod:`napari_mrcz.io` may, plus ``distributed`` (lazily: only when a run starts).
"""

from __future__ import annotations

from .plan import ConvertResult
from .run import BatchProgress, convert_many
from .verify import compare_files

__all__ = ["BatchProgress", "ConvertResult", "compare_files", "convert_many"]
