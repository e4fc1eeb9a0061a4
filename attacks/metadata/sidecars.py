"""Location sidecars: files written beside photos and videos that say where they were made.

Maps the container names ``geoprivacy.media.sniff`` gives (by content, never by extension) to
parsers; the metadata dispatcher merges this table into its own.
"""

from __future__ import annotations

from typing import Callable

from geoprivacy.attacks.metadata import gpx, kml, nmea, srt, takeout
from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.textio import read_bytes
from geoprivacy.media.source import Source

Parser = Callable[[Source, Collector], None]


def parse_xmp_sidecar(src: Source, out: Collector) -> None:
    """An .xmp sidecar (digiKam, darktable, Lightroom, exiftool): the photo attacker's XMP code."""
    from geoprivacy.attacks.metadata.xmp import parse_xmp  # shared with embedded XMP packets
    parse_xmp(read_bytes(src, out, "XMP"), out, "XMP")


PARSERS: dict[str, Parser] = {
    "SRT": srt.parse,
    "GPX": gpx.parse,
    "NMEA": nmea.parse,
    "TakeoutJSON": takeout.parse,
    "KML": kml.parse,
    "XMP": parse_xmp_sidecar,
}
