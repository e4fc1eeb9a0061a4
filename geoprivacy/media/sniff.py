"""Detect a file's container from its content, never from its extension."""

from __future__ import annotations

import re
from dataclasses import dataclass

from geoprivacy.media.source import Source

HEAD_BYTES = 4096

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
                b"avif", b"avis", b"mif2"}
_QT_BRANDS = {b"qt  "}
_3GP_PREFIXES = (b"3gp", b"3g2", b"3ge", b"3gg", b"3gr", b"3gs")
#: iTunes audio brands: .m4a/.m4b (voice memos keep a location atom; no pictures to look at).
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_TOP_LEVEL_BOXES = {b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"}


@dataclass(frozen=True)
class Sniffed:
    """Container, kind and MIME type of a file, as its bytes say."""

    container: str
    kind: str
    mime: str


UNKNOWN = Sniffed("unknown", "unknown", "application/octet-stream")
EMPTY = Sniffed("empty", "unknown", "application/octet-stream")


def sniff(src: Source) -> Sniffed:
    """Look at the first bytes (and, for ISO-BMFF, the ftyp brands) and name the container."""
    head = src.read_upto(0, HEAD_BYTES)
    if not head:
        return EMPTY
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("JPEG", "photo", "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("PNG", "photo", "image/png")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _sniff_tiff(head)
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        return Sniffed("BigTIFF", "photo", "image/tiff")
    if head.startswith(b"RIFF") and len(head) >= 12:
        form = head[8:12]
        if form == b"WEBP":
            return Sniffed("WebP", "photo", "image/webp")
        if form == b"AVI ":
            return Sniffed("AVI", "video", "video/x-msvideo")
        return UNKNOWN
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if len(head) >= 8 and head[4:8] in _TOP_LEVEL_BOXES:
        return Sniffed("MOV", "video", "video/quicktime")
    if _is_transport_stream(head):
        return Sniffed("MPEG-TS", "video", "video/mp2t")
    return _sniff_text(head)


def _is_transport_stream(head: bytes) -> bool:
    """MPEG transport stream (.ts from dashcams and broadcast; .mts/.m2ts from AVCHD camcorders,
    whose packets carry a 4-byte timecode first): the 0x47 sync byte every packet, 4 times."""
    for first, step in ((0, 188), (4, 192)):
        if len(head) >= first + 3 * step + 1 and all(
                head[first + i * step] == 0x47 for i in range(4)):
            return True
    return False


def _sniff_tiff(head: bytes) -> Sniffed:
    # DNG is TIFF with a DNGVersion tag; the metadata parser is the same, so the name is cosmetic.
    return Sniffed("TIFF", "photo", "image/tiff")


def _sniff_ftyp(head: bytes) -> Sniffed:
    size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    brands = {major}
    end = min(len(head), size if 16 <= size <= len(head) else len(head))
    for off in range(16, end - 3, 4):
        brands.add(head[off:off + 4])
    if major in _HEIF_BRANDS or (major not in _QT_BRANDS and brands & {b"heic", b"mif1", b"avif"}
                                 and not brands & {b"isom", b"mp41", b"mp42"}):
        if b"avif" in brands or b"avis" in brands:
            return Sniffed("AVIF", "photo", "image/avif")
        return Sniffed("HEIF", "photo", "image/heif")
    if major in _QT_BRANDS:
        return Sniffed("MOV", "video", "video/quicktime")
    if major.startswith(_3GP_PREFIXES):
        return Sniffed("3GP", "video", "video/3gpp")
    if major in _AUDIO_BRANDS:
        return Sniffed("MP4", "audio", "audio/mp4")
    return Sniffed("MP4", "video", "video/mp4")


_SRT_TIME = re.compile(rb"\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->\s*\d{1,2}:\d{2}:\d{2}")
_TAKEOUT_OPENING = re.compile(
    rb'\{\s*"title"\s*:\s*"(?:[^"\\]|\\.){0,2000}"\s*,\s*"description"\s*:')
# Loggers may prefix each sentence with their own timestamp ("12:00:01 $GPRMC,…").
_NMEA = re.compile(rb"^[^\n$]{0,40}\$(GP|GN|GL|GA|GB|BD)(RMC|GGA|GLL|GSA|GSV|VTG),", re.M)


def _utf8(head: bytes) -> bytes:
    """UTF-16 text (BOM, or BOM-less with every other byte NUL) as UTF-8, so the checks below
    see it; anything else unchanged."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return head.decode("utf-16", errors="replace").encode("utf-8")
    sample = head[:512]
    half = len(sample) // 2
    if half >= 4 and sample[1::2].count(0) > 0.8 * half and sample[0::2].count(0) < 0.2 * half:
        return head.decode("utf-16-le", errors="replace").encode("utf-8")
    if half >= 4 and sample[0::2].count(0) > 0.8 * half and sample[1::2].count(0) < 0.2 * half:
        return head.decode("utf-16-be", errors="replace").encode("utf-8")
    return head


def _sniff_text(head: bytes) -> Sniffed:
    text = _utf8(head).lstrip(b"\xef\xbb\xbf").lstrip()
    low = text[:HEAD_BYTES].lower()
    if b"<gpx" in low:
        return Sniffed("GPX", "sidecar", "application/gpx+xml")
    if b"<x:xmpmeta" in low or b"<?xpacket" in low or b"<rdf:rdf" in low:
        return Sniffed("XMP", "sidecar", "application/rdf+xml")
    if b"<kml" in low:
        return Sniffed("KML", "sidecar", "application/vnd.google-earth.kml+xml")
    if _SRT_TIME.search(text):
        return Sniffed("SRT", "sidecar", "application/x-subrip")
    if _NMEA.search(text):
        return Sniffed("NMEA", "sidecar", "text/plain")
    # Takeout starts {"title": …, "description": …}; a long description pushes "geoData" past
    # the head, so that opening counts too.
    if text.startswith(b"{") and (b'"geoData' in text or b'"photoTakenTime"' in text
                                  or _TAKEOUT_OPENING.match(text)):
        return Sniffed("TakeoutJSON", "sidecar", "application/json")
    return UNKNOWN
