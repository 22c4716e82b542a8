"""Reading and writing files. Sub-packages, each importing only those before it in this list:

- :mod:`.storage` — where bytes come from (local files, gzip/bzip2, URLs), behind one interface;
- :mod:`.codec` — blosc compression of z-slices and the c-blosc2 binding;
- :mod:`.reader` — open, index, read (eager, regions, partial decode, lazy, multiscale), tilt angles;
- :mod:`.stats` — header statistics;
- :mod:`.writer` — the streaming writer, ``write`` and conversion;
- :mod:`.validate` — checks against MRC2014 (it parses raw headers and chunk headers itself);
- :mod:`.batch` — many files on dask.distributed.

May import: :mod:`napari_mrcz.format`, :mod:`napari_mrcz.values`, :mod:`napari_mrcz.errors`, the
standard library, numpy, blosc, blosc2, dask (dask.distributed in ``batch``, lazily) and fsspec (lazily);
never the front-ends (plugin, cli, rsciio) or napari.
"""
