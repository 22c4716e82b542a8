"""Reading and writing files: byte sources (local files, gzip/bzip2), the blosc codec, the opener
and reader (eager and lazy), the streaming writer, statistics and validation.

Everything that touches a file or a compression library lives here. ``validate`` is here, not in a
front-end, because it parses bytes itself (the raw header and chunk headers, beyond what a reader
accepts) and streams statistics over the data, which front-ends must not do. May import:
:mod:`napari_mrcz.format`, :mod:`napari_mrcz.errors`, the standard library, numpy, blosc, blosc2 and
dask (and dask.distributed in ``batch``, lazily); never the front-ends (plugin, cli, rsciio) or napari.
"""
