"""TIFF/DNG writer: neutralise the GPS IFD and GeoTIFF georeferencing, and clean XMP/IPTC/IRB
values where they lie.

Nothing moves, so strip/tile offsets and MakerNotes stay valid and pixel data is untouched.
``--all`` also takes out the Exif IFD, XMP, IPTC, Photoshop IRB and the free-text identity
tags (make, model, software, dates, artist, copyright...); DNG colour tags stay.
"""

from __future__ import annotations

from typing import BinaryIO

from geoprivacy.defenses.strip import StripOptions, exif_edit
from geoprivacy.defenses.strip.jpeg import read_input

ALL_TAGS = exif_edit.LOCATION_TAGS | frozenset({
    exif_edit.EXIF_POINTER, exif_edit.XMP_TAG, exif_edit.IPTC_TAG, exif_edit.IRB_TAG,
    0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x013C, 0x8298,
    0xC62F,   # CameraSerialNumber (DNG)
})


def strip_tiff(path: str, out: BinaryIO, options: StripOptions) -> list[str]:
    """Writer for TIFF and DNG (see ``geoprivacy.defenses.strip`` for the contract)."""
    buf = bytearray(read_input(path))
    if options.all_metadata:
        removed = exif_edit.strip_tags(buf, 0, len(buf), tags=ALL_TAGS, prefix="TIFF")
    else:
        removed = exif_edit.clean_block(buf, 0, len(buf), prefix="EXIF")
    out.write(buf)
    return removed
