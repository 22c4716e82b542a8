"""Where a file's bytes come from: local files (``pread``), gzip/bzip2 streams decompressed into memory,
and fsspec URLs read with range requests; and paths as callers give them.

Every source has the same methods (:class:`~napari_mrcz.io.storage.base.Source`); nothing outside this
package asks which kind it has. May import: the standard library, numpy, fsspec/aiohttp (lazily, for
URLs), :mod:`napari_mrcz.errors` and :mod:`napari_mrcz.format`.
"""
