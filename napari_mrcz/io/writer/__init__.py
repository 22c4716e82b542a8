"""Writing: the streaming :class:`~napari_mrcz.io.writer.mrcz_writer.MrczWriter`, one-call
:func:`~napari_mrcz.io.writer.write.write` / ``write_async``, and file-to-file conversion
(:mod:`.convert`), and the plain MRC view of an MRCZ file, bytes on demand (:mod:`.plain_view`: what
``convert --no-metadata --no-stats`` writes, for the mount).

Writes are atomic (a temporary file renamed into place). May import: :mod:`napari_mrcz.errors`,
:mod:`napari_mrcz.format`, :mod:`napari_mrcz.values`, :mod:`napari_mrcz.io.storage`,
:mod:`napari_mrcz.io.codec`, :mod:`napari_mrcz.io.reader`, :mod:`napari_mrcz.io.stats`, the standard
library, numpy and dask.
"""
