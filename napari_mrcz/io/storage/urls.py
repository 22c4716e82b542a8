"""URLs as callers give them: telling a URL from a local path, its file name, and a user's sentence
for any failure of the network or a server (aiohttp, fsspec and backend exceptions).
"""

from __future__ import annotations

import os
import re
from typing import Any

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*(://|::)")


def is_url(path: Any) -> bool:
    """True for an fsspec URL (``scheme://...`` or a chained ``cache::scheme://...``), not a local path."""
    return isinstance(path, str) and bool(_URL.match(path)) and not re.match(r"^[A-Za-z]:[\\/]", path)


def url_name(url: str) -> str:
    """The file name of a URL: its last path component, without query string or fragment."""
    return re.split(r"[?#]", url.rsplit("::", 1)[-1], maxsplit=1)[0].rstrip("/").rsplit("/", 1)[-1]


def file_name(target: Any) -> str:
    """The file name of a path (str, bytes, os.PathLike) or a URL, for titles and messages."""
    return url_name(target) if is_url(target) else os.path.basename(os.fsdecode(target))


def describe(err: BaseException) -> str:
    """A user's sentence for a network or server failure."""
    name = type(err).__name__
    if name == "TooManyRedirects":  # aiohttp's; its status is 0, which is no answer to report
        hops = len(getattr(err, "history", ()) or ())
        return f"the server redirected in a loop ({hops} redirects without reaching the file)"
    cause = err.__cause__  # fsspec raises FileNotFoundError from the HTTP error of its last attempt
    status = getattr(err, "status", None) or getattr(cause, "status", None)
    text = str(err) or name
    if status == 404 or (isinstance(err, FileNotFoundError) and not isinstance(status, int)):
        return "not found (HTTP 404 or no such object)"
    if isinstance(status, int) and status:
        return f"the server answered HTTP {status} {getattr(err, 'message', '') or getattr(cause, 'message', '')}".rstrip()
    if "range request" in text.lower():
        return NO_RANGES
    if "payload" in name.lower() or "ContentLength" in name:
        return f"the response was cut off ({text})"
    if isinstance(err, TimeoutError) or "timeout" in name.lower():
        return "the server did not answer in time"
    return f"{name}: {text}"


def too_slow(deadline: float) -> str:
    """The sentence for a request that ran past its deadline."""
    return f"no complete answer within {deadline:g} s (remote.timeout; the server is too slow or stalled)"


NO_RANGES = ("the server does not support HTTP range requests, which reading parts of a file needs; "
             "download the file and open it locally")
