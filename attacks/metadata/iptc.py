"""IPTC IIM place names and the Photoshop image-resource block (IRB) that usually carries them.

Hand-written: both formats are a few lines of length-prefixed records, and we need bounds and
tag paths; no maintained library reads IIM without also reading the image.
"""

from __future__ import annotations

import struct

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.types import Granularity

MAX_RECORDS = 4096
MAX_RESOURCES = 4096
PHOTOSHOP_HEADER = b"Photoshop 3.0\x00"
IRB_SIGNATURES = (b"8BIM", b"PHUT", b"AgHg", b"DCSR", b"MeSa")

#: IIM record 2 datasets that name a place, with exiftool's tag names.
PLACE_DATASETS: dict[int, tuple[str, Granularity]] = {
    90: ("City", Granularity.CITY),
    92: ("Sub-location", Granularity.STREET),
    95: ("Province-State", Granularity.REGION),
    100: ("Country-PrimaryLocationCode", Granularity.COUNTRY),
    101: ("Country-PrimaryLocationName", Granularity.COUNTRY),
}

RES_IPTC = 0x0404
RES_EXIF = (0x0422, 0x0423)
RES_XMP = 0x0424


def parse_iptc(data: bytes, out: Collector, where_prefix: str = "IPTC") -> None:
    """Report the place names in an IPTC IIM stream (records of 0x1C, record, dataset, size)."""
    utf8 = False
    pos, n = 0, 0
    while pos + 5 <= len(data) and n < MAX_RECORDS:
        if data[pos] != 0x1C:
            if any(data[pos:]):  # trailing NUL padding is normal; anything else is damage
                out.warn(f"{where_prefix}: bad record marker at offset {pos}; rest skipped")
            return
        record, dataset = data[pos + 1], data[pos + 2]
        size = struct.unpack_from(">H", data, pos + 3)[0]
        pos += 5
        if size & 0x8000:  # extended dataset: the low bits say how many bytes hold the size
            width = size & 0x7FFF
            if width > 4 or pos + width > len(data):
                out.warn(f"{where_prefix}: bad extended size at offset {pos}; rest skipped")
                return
            size = int.from_bytes(data[pos:pos + width], "big")
            pos += width
        if pos + size > len(data):
            out.warn(f"{where_prefix}: record {record}:{dataset} runs past the end")
            size = len(data) - pos
        value = data[pos:pos + size]
        pos += size
        n += 1
        if record == 1 and dataset == 90:
            utf8 = b"\x1b%G" in value
        elif record == 2 and dataset in PLACE_DATASETS:
            name, level = PLACE_DATASETS[dataset]
            out.place_name(f"{where_prefix}:{name}", _decode(value, utf8)[:500], level)


def _decode(value: bytes, utf8: bool) -> str:
    if utf8:
        return value.decode("utf-8", errors="replace")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def parse_photoshop_irb(data: bytes, out: Collector, where_prefix: str = "Photoshop") -> None:
    """Walk 8BIM resources; IPTC (0x0404), Exif (0x0422/3) and XMP (0x0424) are parsed."""
    base = where_prefix[:-len("Photoshop")] if where_prefix.endswith("Photoshop") \
        else f"{where_prefix}:"
    pos = len(PHOTOSHOP_HEADER) if data.startswith(PHOTOSHOP_HEADER) else 0
    for _ in range(MAX_RESOURCES):
        if pos + 12 > len(data):
            return
        if data[pos:pos + 4] not in IRB_SIGNATURES:
            if any(data[pos:]):
                out.warn(f"{where_prefix}: bad resource signature at offset {pos}; rest skipped")
            return
        res_id = struct.unpack_from(">H", data, pos + 4)[0]
        name_len = data[pos + 6]
        pos += 6 + ((name_len + 2) & ~1)  # Pascal name padded to an even length
        if pos + 4 > len(data):
            out.warn(f"{where_prefix}: resource 0x{res_id:04x} header truncated")
            return
        size = struct.unpack_from(">I", data, pos)[0]
        pos += 4
        if pos + size > len(data):
            out.warn(f"{where_prefix}: resource 0x{res_id:04x} runs past the end")
            size = len(data) - pos
        body = data[pos:pos + size]
        pos += size + (size & 1)
        if res_id == RES_IPTC:
            parse_iptc(body, out, f"{base}IPTC")
        elif res_id == RES_XMP:
            from geoprivacy.attacks.metadata.xmp import parse_xmp
            parse_xmp(body, out, f"{base}XMP")
        elif res_id in RES_EXIF and body[:4] in (b"II*\x00", b"MM\x00*"):
            from geoprivacy.attacks.metadata.exif import parse_tiff_block
            parse_tiff_block(body, out, f"{base}EXIF")
    out.warn(f"{where_prefix}: more than {MAX_RESOURCES} resources; the rest was not read")
