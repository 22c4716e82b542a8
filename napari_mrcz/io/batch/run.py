"""Run a bulk conversion on dask.distributed: :func:`convert_many`.

One task per file on worker processes, from an existing scheduler or a local cluster started for the
run; results are collected as they finish (``as_completed``) and recorded in the output folder so a
re-run skips what is complete. dask.distributed is imported only when there is work to do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import MrczError
from ...values.precision import check_dtype
from ...values.quantize import check_tolerance, parse_tolerance
from ..codec.blosc import available_cores, default_threads
from ...format.names import check_output_suffix, is_zarr, output_compressor
from .duplicates import drop_duplicates
from ..codec.settings import CodecSettings
from .plan import ConvertResult, PathLike, expand_inputs, file_size, plan_outputs
from .record import RunRecord, fingerprint, remove_partial
from .task import Job, Settings, reason, run_job

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True)
class BatchProgress:
    """Where a run stands: files finished (done, skipped or failed) and their input and output bytes."""

    files: int
    total_files: int
    bytes_in: int
    total_bytes: int
    bytes_out: int


Progress = Callable[[ConvertResult | None, BatchProgress], None]
"""Called with None once the run is planned (skipped and unplannable files already counted), then once
per converted file as it finishes."""


def convert_many(
    inputs: PathLike | Iterable[PathLike],
    out_dir: PathLike,
    *,
    suffix: str = ".mrcz",
    compressor: str | None = None,
    clevel: int = 1,
    shuffle: str = "auto",
    keep_metadata: bool = True,
    tolerance: float | str | None = None,
    dtype: str | None = None,
    verify: bool = False,
    scheduler: str | Client | None = None,
    workers: int | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    force: bool = False,
    strict: bool | str = "auto",
) -> list[ConvertResult]:
    """Convert many MRC/MRCZ files into ``out_dir``, one dask.distributed task per file.

    Each output is named after its input's stem (``EMD-3001.map`` → ``out_dir/EMD-3001.mrcz``,
    ``x.mrc.gz`` → ``x.mrcz``) and written atomically by :func:`napari_mrcz.io.writer.convert.convert_file`,
    which streams the data in blocks of about 32 MiB (``.gz``/``.bz2`` inputs are decompressed into the
    worker's memory). A re-run skips outputs recorded complete (same input, size and modification time,
    same settings, output untouched); see :mod:`napari_mrcz.io.batch.record`. A file that cannot be
    converted fails alone; the others go on.

    Parameters
    ----------
    inputs
        Files (any name), folders (their MRC files, :data:`napari_mrcz.format.names.READ_SUFFIXES`,
        the plain ones also ``.gz``/``.bz2``; not subfolders), glob patterns (``**`` for subfolders) and URLs (``https://``,
        ``s3://``, ...; needs ``napari-mrcz[remote]`` on the workers), in any mix; a file named twice is
        converted once.
    out_dir
        The output folder; created if missing.
    suffix
        ``.mrcz`` (compressed) or a plain MRC suffix (``.mrc``, ``.map``, ...).
    compressor, clevel, shuffle
        The blosc codec of ``.mrcz`` outputs (default zstd, level 1, automatic shuffle); ``compressor``
        must be None for plain suffixes.
    keep_metadata
        Carry the JSON metadata over.
    tolerance, dtype
        Lossy rounding of float data (a number in the data's units, or ``"auto"``/``"auto:F"``, resolved
        per file from its noise) and integer decimation (``"int"`` or an integer dtype), as for
        :func:`napari_mrcz.io.writer.convert.convert_file`.
    verify
        Read each output back and compare it with its input (values z-slice block by block, shape,
        dtype, voxel size, origin, metadata, voltage, C3, gain; values within ``tolerance``) before it
        counts as done; a mismatch
        fails the file and removes its output. Outputs of earlier unverified runs are verified too.
    scheduler
        Address of a dask.distributed scheduler (``tcp://host:8786``) or a ``distributed.Client``; the
        workers must see the inputs and ``out_dir`` at the same paths. None starts a local cluster of
        ``workers`` processes for the run.
    workers
        Worker processes of the local cluster (default: the cores, at most one per file).
    threads
        blosc threads per file (default: the cores divided among the local workers; 1 on a scheduler).
    progress
        See :data:`Progress`.
    force
        Convert every file again, whatever earlier runs recorded.
    strict
        See :func:`napari_mrcz.open_mrc`.

    Returns
    -------
    list of ConvertResult
        One per input file, in input order, then one per input that named no file.

    Raises
    ------
    MrczError
        An invalid suffix, compressor, tolerance, dtype or worker count, another run writing into
        ``out_dir``, or no scheduler at ``scheduler``.
    OSError
        ``out_dir`` cannot be created or written.
    """
    if not is_zarr(suffix):
        check_output_suffix(suffix)  # one suffix, not a name
    compressor = output_compressor("*" + suffix, compressor)
    if isinstance(tolerance, str):  # bad settings fail the call, not every file
        parse_tolerance(tolerance)
    else:
        tolerance = check_tolerance(tolerance)
    checked = check_dtype(dtype)
    dtype = None if checked is None else str(checked)
    if workers is not None and (workers < 1 or scheduler is not None):
        raise MrczError("workers must be at least 1, and applies only without a scheduler")
    out = Path(out_dir).absolute()
    out.mkdir(parents=True, exist_ok=True)
    found, unfound = expand_inputs([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)
    settings = Settings(CodecSettings(compressor, clevel, shuffle, threads=threads), keep_metadata, verify, strict,
                        tolerance, dtype)
    with RunRecord(out) as record:
        files = [source for source in found if not record.is_output(source)]  # an earlier run's, in the inputs
        prints = {str(source): fingerprint(source) for source in files}  # before any conversion starts
        size = {name: (print_ or {}).get("size", 0) for name, print_ in prints.items()}
        unique, duplicates = drop_duplicates(files, out, suffix)
        pairs, clashing = plan_outputs(unique, out, suffix)
        results = {r.input: dataclasses.replace(r, bytes_in=size[r.input]) for r in (*duplicates, *clashing)}
        remove_partial(out, {output.name for _, output in pairs})
        jobs = []
        for source, output in pairs:
            name = str(source)
            state = "redo" if force else record.state(source, prints[name], output, settings.recorded())
            if state == "redo" or (state == "unverified" and verify):
                jobs.append(Job(source, output, size[name], check_existing=state == "unverified"))
            else:
                results[name] = ConvertResult(name, str(output), "skipped", "converted by an earlier run", size[name],
                                              file_size(output), verified=state == "complete")
        tally = _Tally([*results.values(), *unfound], len(files) + len(unfound), sum(size.values()))
        if progress is not None:
            progress(None, tally.state)
        if jobs:
            n_workers = min(workers or available_cores(), len(jobs))
            if threads is None:  # one task per worker at a time: the cores are split between them
                local = max(1, min(default_threads(), available_cores() // n_workers))
                codec = dataclasses.replace(settings.codec, threads=1 if scheduler is not None else local)
                settings = dataclasses.replace(settings, codec=codec)
            sources = {str(job.source): job.source for job in jobs}
            for result in _run(jobs, settings, scheduler, n_workers):
                if result.status != "failed":
                    record.add(sources[result.input], prints[result.input], Path(result.output or ""),
                               settings.recorded(), result.verified)
                results[result.input] = result
                tally.add(result)
                if progress is not None:
                    progress(result, tally.state)
    return [results[str(p)] for p in files if str(p) in results] + unfound


class _Tally:
    def __init__(self, finished: list[ConvertResult], total_files: int, total_bytes: int) -> None:
        self.state = BatchProgress(0, total_files, 0, total_bytes, 0)
        for result in finished:
            self.add(result)

    def add(self, result: ConvertResult) -> None:
        s = self.state
        self.state = BatchProgress(s.files + 1, s.total_files, s.bytes_in + result.bytes_in, s.total_bytes,
                                   s.bytes_out + result.bytes_out)


def _run(jobs: list[Job], settings: Settings, scheduler: Any, n_workers: int) -> Iterator[ConvertResult]:
    """Results of the jobs as they finish; a task lost to its worker (killed, out of memory) fails."""
    try:
        from distributed import as_completed
    except ImportError:
        raise MrczError("converting many files needs dask.distributed: pip install 'napari-mrcz[cluster]'") from None

    with _client(scheduler, n_workers) as client:
        token = uuid.uuid4().hex[:8]
        keys = [f"napari-mrcz-convert-{token}-{i}" for i in range(len(jobs))]
        futures = dict(zip(client.map(run_job, jobs, [settings] * len(jobs), key=keys, pure=False), jobs))
        for future in as_completed(futures, loop=client.loop):
            job = futures[future]
            try:
                yield future.result()
            # the boundary that keeps one file's failure from stopping the run: whatever lost the task
            # (KilledWorker, a worker without napari-mrcz, a cancelled future) is that file's reason
            except Exception as err:  # noqa: BLE001
                yield ConvertResult(str(job.source), str(job.output), "failed", f"{type(err).__name__}: {reason(err)}",
                                    job.source_size)
            finally:
                future.release()


@contextlib.contextmanager
def _client(scheduler: Any, n_workers: int) -> Iterator[Client]:
    from distributed import Client

    if isinstance(scheduler, Client):
        yield scheduler
    elif scheduler is not None:
        try:
            client = Client(scheduler, set_as_default=False)
        except OSError as err:
            raise MrczError(f"cannot reach the dask scheduler at {scheduler}: {reason(err)}") from None
        with client:
            yield client
    else:
        with local_cluster(n_workers) as cluster, Client(cluster, set_as_default=False) as client:
            yield client


def local_cluster(n_workers: int) -> Any:
    """A ``distributed.LocalCluster`` of ``n_workers`` processes with one thread each (one file at a time,
    with a memory limit of its share of the RAM), no dashboard, and quiet: what goes wrong with a file
    comes back in its result, and what distributed logs (a worker's heartbeat failing while the cluster
    closes) is not for the user.

    Processes, not threads: a file that crashes blosc takes down one worker, not the run. The workers
    ignore SIGINT, so Ctrl-C stops the run through this process, which closes the cluster.
    """
    from distributed import LocalCluster

    with _sigint_ignored():
        # the scheduler serves HTTP routes even without a dashboard: on a free local port, not 8787
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                            silence_logs=logging.CRITICAL)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while worker processes start: they inherit SIG_IGN, so Ctrl-C in a terminal (sent to
    the whole process group) interrupts only this process instead of every worker printing a
    KeyboardInterrupt traceback. A Ctrl-C during the start is lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
