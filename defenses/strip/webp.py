"""WebP writer: RIFF chunks rewritten; EXIF and XMP cleaned, RIFF size and VP8X flags fixed.

Image chunks (VP8, VP8L, ALPH, ANIM/ANMF) are copied byte for byte. ``--all`` drops the EXIF
and XMP chunks and every unknown chunk and keeps the ICC profile.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from geoprivacy.defenses.strip import StripOptions
from geoprivacy.defenses.strip.jpeg import read_input
from geoprivacy.defenses.strip.png import clean_tiff_bytes
from geoprivacy.defenses.strip.xmp_edit import clean_xmp
from geoprivacy.errors import ParseError

MAX_CHUNKS = 1_000_000
IMAGE = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
XMP = (b"XMP ", b"XMP\x00")
FLAG_ICC, FLAG_EXIF, FLAG_XMP = 0x20, 0x08, 0x04


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ParseError("not a WebP file (no RIFF/WEBP header)")
    end = min(len(data), 8 + struct.unpack_from("<I", data, 4)[0])
    out = []
    pos = 12
    while pos + 8 <= end and len(out) < MAX_CHUNKS:
        fourcc, size = struct.unpack_from("<4sI", data, pos)
        if pos + 8 + size > len(data):
            raise ParseError(f"WebP chunk {fourcc!r} at byte {pos} runs past the end")
        out.append((fourcc, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    if not out:
        raise ParseError("WebP file has no chunks")
    return out


def strip_webp(path: str, out: BinaryIO, options: StripOptions) -> list[str]:
    """Writer for WebP (see ``geoprivacy.defenses.strip`` for the contract)."""
    data = read_input(path)
    kept: list[tuple[bytes, bytes]] = []
    removed: list[str] = []
    for fourcc, body in chunks(data):
        if options.all_metadata and fourcc not in IMAGE:
            removed.append("EXIF" if fourcc == b"EXIF" else "XMP" if fourcc in XMP else
                           f"WebP:{ascii(fourcc.decode('latin-1').strip())[1:-1]}")
            continue
        if fourcc == b"EXIF":
            body, gone = clean_tiff_bytes(body)
            removed += gone
        elif fourcc in XMP:
            body, gone = clean_xmp(body)
            removed += gone
        kept.append((fourcc, body))
    present = {f for f, _ in kept}
    parts = []
    for fourcc, body in kept:
        if fourcc == b"VP8X" and len(body) >= 1:
            flags = body[0]
            for flag, names in ((FLAG_EXIF, (b"EXIF",)), (FLAG_XMP, XMP)):
                if not present & set(names):
                    flags &= ~flag
            body = bytes([flags]) + body[1:]
        parts.append(fourcc + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1
                                                                      else b""))
    payload = b"WEBP" + b"".join(parts)
    out.write(b"RIFF" + struct.pack("<I", len(payload)) + payload)
    return removed
