"""One file's conversion as a dask task: :func:`run_job` runs on a worker and returns a :class:`ConvertResult`.

It never raises for a file's problem (unreadable, hostile, disk full, a verification mismatch): those
become a ``failed`` result with the reason, so one bad file does not stop the others. What converting
and verifying found (:class:`~napari_mrcz.errors.Finding`) is collected as values into the result,
not caught as warnings: the warnings machinery is process-wide, and a worker runs tasks on many threads. The job and the
settings are small picklable values; the worker reads the input and writes the output itself, so both
must be reachable from it (a shared file system).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import Finding, MrczError
from ..codec.settings import CodecSettings
from ..zarr.dispatch import convert_file  # OME-Zarr outputs by name
from .plan import ConvertResult, file_size
from .verify import compare_files


@dataclass(frozen=True)
class Settings:
    """How every file of a run is converted (see :func:`napari_mrcz.convert_many`): the codec as one
    value, the tolerance as given (``"auto"`` is resolved per file)."""

    codec: CodecSettings
    keep_metadata: bool
    verify: bool
    strict: bool | str
    tolerance: float | str | None = None
    dtype: str | None = None

    def recorded(self) -> dict[str, Any]:
        """The settings that decide an output's bytes (a re-run with others converts again)."""
        codec = self.codec
        compressed = codec.compressor is not None
        return {
            "compressor": codec.compressor,
            "clevel": codec.clevel if compressed else None,
            "shuffle": codec.shuffle if compressed else None,
            "keep_metadata": self.keep_metadata,
            "tolerance": self.tolerance,
            "dtype": self.dtype,
        }


@dataclass(frozen=True)
class Job:
    """Convert ``source`` (a local path or a URL, ``source_size`` bytes) to ``output``; with
    ``check_existing``, first verify the output an earlier run left (recorded complete but never
    verified) and convert again only if it does not match."""

    source: Path | str
    output: Path
    source_size: int
    check_existing: bool = False


def run_job(job: Job, settings: Settings) -> ConvertResult:
    """Convert (and verify) one file on a worker; failures are returned, not raised."""
    start = time.perf_counter()
    note = ""
    found: list[Finding] = []  # this job's findings, whatever other jobs on this worker's threads find
    try:
        if job.check_existing:
            try:
                _verify(job, settings, found)
                return _result(job, "skipped", "converted by an earlier run; verified now", start, True, found)
            except MrczError:
                note = "the earlier output did not match its input; converted again"
        convert_file(job.source, job.output, codec=settings.codec, keep_metadata=settings.keep_metadata,
                     overwrite=True, strict=settings.strict, tolerance=settings.tolerance, dtype=settings.dtype,
                     findings=found)
        if settings.verify:
            try:
                _verify(job, settings, found)
            except BaseException:
                shutil.rmtree(job.output, ignore_errors=True) if job.output.is_dir() else job.output.unlink(missing_ok=True)
                raise
        return _result(job, "done", note, start, settings.verify, found)
    except (MrczError, OSError) as err:
        return _result(job, "failed", reason(err), start, False, found)
    except MemoryError as err:
        return _result(job, "failed", f"out of memory ({reason(err)})", start, False, found)


def _verify(job: Job, settings: Settings, found: list[Finding]) -> None:
    compare_files(job.source, job.output, keep_metadata=settings.keep_metadata, tolerance=settings.tolerance,
                  dtype=settings.dtype, n_threads=settings.codec.threads, strict=settings.strict, findings=found)


def _result(job: Job, status: Any, why: str, start: float, verified: bool, found: list[Finding]) -> ConvertResult:
    return ConvertResult(
        str(job.source), str(job.output), status, why, job.source_size,
        file_size(job.output) if status != "failed" else 0, time.perf_counter() - start, verified,
        tuple(dict.fromkeys(reason(str(f)) for f in found)),  # verifying reopens the input: once each
    )


def reason(err: BaseException | Warning | str) -> str:
    """An error or warning as one line: ``file: what`` for OS errors, the message otherwise."""
    if isinstance(err, OSError) and err.strerror:
        text = f"{err.filename}: {err.strerror}" if err.filename else err.strerror
    else:
        text = str(err) or type(err).__name__
    return " ".join(text.split())
