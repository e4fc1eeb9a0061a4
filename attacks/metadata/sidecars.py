"""Location sidecars: files written beside photos and videos that say where they were made.

Maps the container names ``geoprivacy.media.sniff`` gives (by content, never by extension) to
parsers; the metadata dispatcher merges this table into its own. Each parser is wrapped so its
evidence names the media file the sidecar sits beside (``DJI_0001.SRT`` → ``DJI_0001.MP4``,
``IMG_1.JPG.xmp`` → ``IMG_1.JPG``, Takeout's ``IMG_1.jpg.json`` → ``IMG_1.jpg``), when there is
one: the sidecar leaks that photo's or video's place even when the media file itself is clean.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

from geoprivacy.attacks.metadata import gpx, kml, nmea, srt, takeout
from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.textio import read_bytes
from geoprivacy.media.source import Source

Parser = Callable[[Source, Collector], None]

MEDIA_EXTENSIONS = ("MP4", "MOV", "JPG", "JPEG", "HEIC", "HEIF", "DNG", "TIF", "TIFF", "PNG",
                    "WEBP", "AVIF", "3GP", "AVI", "INSV", "INSP", "LRV", "LRF", "ARW", "CR2",
                    "CR3", "NEF", "ORF", "RW2", "RAF")
_TAKEOUT_SUFFIXES = (".supplemental-metadata", ".supplemental-metadat", ".supplemental-meta",
                     ".supplemental")


def parse_xmp_sidecar(src: Source, out: Collector) -> None:
    """An .xmp sidecar (digiKam, darktable, Lightroom, exiftool): the photo attacker's XMP code."""
    from geoprivacy.attacks.metadata.xmp import parse_xmp  # shared with embedded XMP packets
    parse_xmp(read_bytes(src, out, "XMP"), out, "XMP")


def media_beside(path: str) -> str | None:
    """The name of the photo or video a sidecar at ``path`` describes, if it exists beside it.

    A bounded number of existence checks (never a directory listing: a folder of 100,000
    sidecars must not cost 100,000² work).
    """
    if not path or path.startswith("<"):
        return None
    folder, name = os.path.split(path)
    stem, _ = os.path.splitext(name)
    for suffix in _TAKEOUT_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[:-len(suffix)]
    inner, inner_ext = os.path.splitext(stem)
    candidates = []
    if inner and inner_ext[1:].upper() in MEDIA_EXTENSIONS:
        candidates.append(stem)               # IMG_1.JPG.xmp, IMG_1.jpg.json
    for ext in MEDIA_EXTENSIONS:
        candidates += [f"{stem}.{ext}", f"{stem}.{ext.lower()}"]
    for candidate in candidates:
        full = os.path.join(folder, candidate)
        if candidate != name and os.path.isfile(full):
            return candidate
    return None


def _with_media(parser: Parser) -> Parser:
    def parse(src: Source, out: Collector) -> None:
        before = len(out.evidence)
        try:
            parser(src, out)
        finally:
            media = media_beside(src.name)
            if media:
                out.evidence[before:] = [
                    dataclasses.replace(e, detail={**e.detail, "sidecar_of": media})
                    for e in out.evidence[before:]]
    parse.__doc__ = parser.__doc__
    return parse


PARSERS: dict[str, Parser] = {name: _with_media(parser) for name, parser in {
    "SRT": srt.parse,
    "GPX": gpx.parse,
    "NMEA": nmea.parse,
    "TakeoutJSON": takeout.parse,
    "KML": kml.parse,
    "XMP": parse_xmp_sidecar,
}.items()}
