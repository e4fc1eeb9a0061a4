"""TIFF and DNG files: the IFD walk of ``exif`` run over the file through bounded random reads.

The file is never loaded whole (TIFF/DNG files are often tens of MB); only IFD tables and the
values of tags that can carry a location are read.
"""

from __future__ import annotations

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.exif import TiffBlock, walk
from geoprivacy.media.source import Source


def parse(src: Source, out: Collector) -> None:
    """GPS IFDs of every image (IFD chain, SubIFDs), plus XMP, IPTC and Photoshop tags."""
    walk(TiffBlock(src.read, src.size), out, "EXIF")
