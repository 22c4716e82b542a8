"""Open the source of a path or URL: the one place that decides which kind of source a file needs.

A URL gets a :class:`~.remote.RemoteSource`; a local file a :class:`~.local.FileSource`, or, when its
first bytes are gzip's or bzip2's magic, a :class:`~.memory.MemorySource` of the decompressed stream
(no more bytes than its MRC header says the file holds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import UnsupportedError
from ...format.constants import HEADER_BYTES
from ...format.header import decode_header
from .base import Source
from .local import FileSource
from .memory import decompress_stream, stream_kind
from .paths import PathLike, as_path
from .urls import is_url


def plain_size(raw_header: bytes, name: str) -> int | None:
    """Bytes a file with this MRC header holds in all; None for MRCZ (chunks of unknown sizes)."""
    h = decode_header(raw_header, name)  # for its size; the MAP ID is checked once decompressed
    return None if h.compressor else h.plain_end


def open_source(path: PathLike, storage_options: dict[str, Any] | None = None) -> tuple[Path | str, Source]:
    """(the file as its messages name it: a Path, or the URL as given; its source).

    Raises
    ------
    MrczError
        A URL that cannot be read (:class:`~napari_mrcz.errors.RemoteError`), a gzip/bzip2 file behind
        a URL (:class:`~napari_mrcz.errors.UnsupportedError`), a corrupt or truncated stream.
    OSError
        The local file cannot be opened.
    """
    if is_url(path):
        from .remote import RemoteSource

        url = str(path)
        remote = RemoteSource(url, storage_options)
        kind = stream_kind(remote.pread(HEADER_BYTES, 0))
        if kind is not None:
            remote.close()
            raise UnsupportedError(f"{url}: {kind}-compressed files cannot be read remotely; download it first")
        return url, remote
    local = as_path(path)
    source = FileSource(local)
    kind = stream_kind(source.pread(HEADER_BYTES, 0))
    if kind is None:
        return local, source
    source.close()
    return local, decompress_stream(local, kind, lambda raw: plain_size(raw, str(local)))
