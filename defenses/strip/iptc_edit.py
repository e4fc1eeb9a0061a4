"""Remove IPTC-IIM place datasets, in place and at the same length (APP13, TIFF tag 33723).

The datasets that stay move up and the freed bytes at the end become NULs, which readers
(exiftool included) accept as padding; the Photoshop IPTC digest (IRB 0x0425) is updated.
"""

from __future__ import annotations

import hashlib
import struct

from geoprivacy.defenses.strip.xmp_edit import clean_xmp

# Record 2 datasets that name a place, with exiftool's tag names.
PLACE_DATASETS = {
    26: "ContentLocationCode", 27: "ContentLocationName", 90: "City", 92: "Sub-location",
    95: "Province-State", 100: "Country-PrimaryLocationCode",
    101: "Country-PrimaryLocationName",
}
MAX_DATASETS = 100_000


def clean_iim(data: bytes | bytearray) -> tuple[bytes, list[str]]:
    """IIM data without place datasets, same length; the removed ``where`` strings."""
    kept = bytearray()
    removed: list[str] = []
    pos = 0
    n = 0
    while pos + 5 <= len(data) and data[pos] == 0x1C and n < MAX_DATASETS:
        n += 1
        record, dataset, length = data[pos + 1], data[pos + 2], struct.unpack_from(
            ">H", data, pos + 3)[0]
        head = 5
        if length & 0x8000:                 # extended dataset: the length has its own length
            size = length & 0x7FFF
            if size > 4 or pos + 5 + size > len(data):
                break
            length = int.from_bytes(data[pos + 5:pos + 5 + size], "big")
            head += size
        end = pos + head + length
        if end > len(data):
            break
        if record == 2 and dataset in PLACE_DATASETS:
            removed.append(f"IPTC:{PLACE_DATASETS[dataset]}")
        else:
            kept += data[pos:end]
        pos = end
    if not removed:
        return bytes(data), []
    kept += data[pos:]                      # whatever could not be parsed stays as it was
    return bytes(kept) + bytes(len(data) - len(kept)), removed


def _pascal_len(data: bytes | bytearray, pos: int) -> int:
    n = data[pos] + 1
    return n + (n & 1)


def clean_irb(data: bytes | bytearray) -> tuple[bytes, list[str]]:
    """Photoshop image resources: clean IPTC (0x0404) and XMP (0x0424), same length."""
    buf = bytearray(data)
    removed: list[str] = []
    digest_at = None
    iptc_range = None
    pos = 0
    count = 0
    while pos + 12 <= len(buf) and buf[pos:pos + 4] in (b"8BIM", b"PHUT", b"DCSR", b"AgHg") \
            and count < MAX_DATASETS:
        count += 1
        rid = struct.unpack_from(">H", buf, pos + 4)[0]
        name_len = _pascal_len(buf, pos + 6)
        size_at = pos + 6 + name_len
        if size_at + 4 > len(buf):
            break
        size = struct.unpack_from(">I", buf, size_at)[0]
        start = size_at + 4
        end = start + size
        if end > len(buf):
            break
        if rid == 0x0404:
            cleaned, gone = clean_iim(buf[start:end])
            buf[start:end] = cleaned
            removed += gone
            iptc_range = (start, end)
        elif rid == 0x0424:
            cleaned, gone = clean_xmp(bytes(buf[start:end]), same_size=True)
            buf[start:end] = cleaned
            removed += gone
        elif rid == 0x0425 and size == 16:
            digest_at = start
        pos = end + (size & 1)
    if removed and digest_at is not None and iptc_range is not None:
        buf[digest_at:digest_at + 16] = hashlib.md5(buf[iptc_range[0]:iptc_range[1]]).digest()
    return bytes(buf), removed
