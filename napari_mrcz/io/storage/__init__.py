"""Where a file's bytes come from: local files (``pread``), gzip/bzip2 streams decompressed into memory,
and URLs read with range requests; and paths and URLs as callers give them.

Every source has the same methods (:class:`~napari_mrcz.io.storage.base.Source`); nothing outside this
package asks which kind it has: :func:`~napari_mrcz.io.storage.opening.open_source` chooses it.
Modules: ``base`` (the protocol and shared defaults), ``local``, ``memory``, ``remote`` (any fsspec URL;
coalesced, parallel batches), ``http`` (HTTP(S) with deadlines, bounded bodies and validators),
``urls`` (telling URLs from paths, error sentences), ``opening``, ``paths``.

May import: the standard library, numpy, fsspec/aiohttp/yarl (lazily, for URLs), :mod:`napari_mrcz.errors`,
:mod:`napari_mrcz.config` and :mod:`napari_mrcz.format`.
"""
