"""Fixed numbers of the MRC2014 and MRCZ formats (no I/O, no logic).

Sources: MRC2014 (https://www.ccpem.ac.uk/mrc_format/mrc2014.php), IMOD's mrc_format.txt and
mrcz 0.6.0 ``ioMRC.py`` for the MRCZ additions.
"""

from __future__ import annotations

HEADER_BYTES = 1024
MAP_ID = b"MAP "
MAP_ID_OFFSET = 208
MACHST_OFFSET = 212
MACHST_LITTLE = (0x44, 0x41)  # what mrcz writes; 0x44 0x44 is mrcfile's, both mean little-endian
MACHST_LITTLE_MRCFILE = (0x44, 0x44)
MACHST_BIG = (0x11, 0x11)
NVERSION = 20141  # MRC2014, update of 2020 (float16 mode 12)
MRCZ_LABEL = "MRCZ0.6.0"  # mrcz reads the format version from the first label
OUR_LABEL = "napari-mrcz"  # start of the label this package writes ("napari-mrcz <version>")
TOLERANCE_LABEL_PREFIX = "napari-mrcz quantized, tolerance "  # then the bound on |stored - original|
LABELS_MARKER = "napari-mrcz labels"  # the data is a segmentation (opens as a napari Labels layer)
DECIMATION_LABEL_PREFIX = "napari-mrcz: "  # "<dtype> values stored as <dtype> (exactly)"
PINNED_LABEL_PREFIXES = (TOLERANCE_LABEL_PREFIX, LABELS_MARKER, DECIMATION_LABEL_PREFIX)
"""Labels that say what the values are: a rewrite keeps them however many labels it adds."""
STATS_NOT_DETERMINED = (0.0, -1.0, -2.0, -1.0)
"""DMIN, DMAX, DMEAN, RMS marking the statistics "not determined" (MRC2014: DMAX < DMIN, DMEAN < both, RMS < 0)."""
MICROSCOPE_DEFAULTS = {"voltage": 0.0, "c3": 0.0, "gain": 1.0}  # what mrcz 0.6.0 writeMRC stores unless told
IMOD_STAMP = 1146047817  # bytes 152-155 of files written by IMOD
IMOD_FLAG_SIGNED_BYTES = 1

# MODE = mrc mode + MRC_COMP_RATIO * compressor id (mrcz 0.6.0)
MRC_COMP_RATIO = 1000
COMPRESSOR_IDS = {1: "blosclz", 2: "lz4", 3: "lz4hc", 4: "snappy", 5: "zlib", 6: "zstd"}
COMPRESSOR_NAMES = {name: cid for cid, name in COMPRESSOR_IDS.items()}
WRITABLE_COMPRESSORS = ("zstd", "lz4", "lz4hc", "zlib", "blosclz")

# Space groups (word 23): 0 image stack, 1 volume, 401-630 volume stacks
ISPG_IMAGE_STACK = 0
ISPG_VOLUME = 1
ISPG_VOLUME_STACK = 401
ISPG_VOLUME_STACK_RANGE = range(401, 631)

# blosc chunk header: blosc1 writes format version 2 (1 in very old files), c-blosc2 3 to 5
BLOSC1_HEADER_BYTES = 16
BLOSC2_HEADER_BYTES = 32
BLOSC_MAX_BUFFERSIZE = 2**31 - 1 - BLOSC2_HEADER_BYTES  # what one blosc1 chunk can hold
