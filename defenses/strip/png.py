"""PNG writer: chunks rewritten with CRCs recomputed; image chunks (IDAT...) copied as they are.

Default: the eXIf chunk loses its GPS IFD (same length), XMP in iTXt ``XML:com.adobe.xmp`` and
ImageMagick "Raw profile type exif/xmp/iptc" text chunks are cleaned. ``--all`` keeps only what
decoding and display need (IHDR, PLTE, IDAT, IEND, tRNS, colour chunks, pHYs, APNG chunks) plus
a minimal eXIf with Orientation when it is not 1.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

from geoprivacy.defenses.strip import StripOptions, exif_edit
from geoprivacy.defenses.strip.iptc_edit import clean_irb, clean_iim
from geoprivacy.defenses.strip.jpeg import read_input
from geoprivacy.defenses.strip.xmp_edit import clean_xmp
from geoprivacy.errors import ParseError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_CHUNKS = 1_000_000
MAX_TEXT = 64 * 1024 * 1024
KEEP_ALL = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP",
            b"sBIT", b"pHYs", b"acTL", b"fcTL", b"fdAT", b"cICP", b"mDCv", b"cLLi"}
XMP_KEY = b"XML:com.adobe.xmp"


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, CRCs not checked (a bad CRC is the decoder's concern)."""
    if not data.startswith(SIGNATURE):
        raise ParseError("not a PNG (bad signature)")
    out = []
    pos = len(SIGNATURE)
    while pos < len(data) and len(out) < MAX_CHUNKS:
        if pos + 12 > len(data):
            raise ParseError(f"PNG chunk header truncated at byte {pos}")
        length, ctype = struct.unpack_from(">I4s", data, pos)
        if pos + 12 + length > len(data):
            raise ParseError(f"PNG chunk {ctype!r} at byte {pos} runs past the end")
        out.append((ctype, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
        if ctype == b"IEND":
            break
    return out


def build(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def _inflate(data: bytes) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, MAX_TEXT)
    if d.unconsumed_tail:
        raise ParseError("PNG text chunk inflates to more than 64 MB")
    return out


def clean_tiff_bytes(data: bytes) -> tuple[bytes, list[str]]:
    """An EXIF payload (with or without the Exif\\0\\0 prefix) without GPS, same length."""
    buf = bytearray(data)
    start = 6 if data.startswith(b"Exif\x00\x00") else 0
    removed = exif_edit.clean_block(buf, start, len(buf))
    return bytes(buf), removed


def _itxt(body: bytes) -> tuple[bytes, list[str]]:
    key, _, rest = body.partition(b"\x00")
    if key != XMP_KEY or len(rest) < 2:
        return body, []
    flag, method = rest[0], rest[1]
    lang, _, rest2 = rest[2:].partition(b"\x00")
    tkey, _, text = rest2.partition(b"\x00")
    xmp = _inflate(text) if flag else text
    cleaned, removed = clean_xmp(xmp)
    if not removed:
        return body, []
    payload = zlib.compress(cleaned) if flag else cleaned
    return key + b"\x00" + bytes([flag, method]) + lang + b"\x00" + tkey + b"\x00" + payload, removed


def _raw_profile(ctype: bytes, body: bytes) -> tuple[bytes, list[str]]:
    """ImageMagick 'Raw profile type NAME': hex text, cleaned by its inner format."""
    key, _, rest = body.partition(b"\x00")
    if not key.startswith(b"Raw profile type "):
        return body, []
    kind = key[len(b"Raw profile type "):].lower()
    if kind not in (b"exif", b"app1", b"xmp", b"iptc", b"8bim"):
        return body, []
    compressed = ctype == b"zTXt"
    text = _inflate(rest[1:]) if compressed else rest
    lines = text.strip().split(b"\n", 2)
    if len(lines) < 3:
        return body, []
    try:
        raw = bytes.fromhex(lines[2].decode("ascii"))
    except ValueError:
        raise ParseError(f"PNG {key.decode('latin-1')} is not hex") from None
    if kind in (b"exif", b"app1"):
        cleaned, removed = clean_tiff_bytes(raw)
    elif kind == b"xmp":
        cleaned, removed = clean_xmp(raw, same_size=True)
    elif kind == b"iptc":
        cleaned, removed = clean_iim(raw)
    else:
        cleaned, removed = clean_irb(raw)
    if not removed:
        return body, []
    hexed = cleaned.hex().encode()
    wrapped = b"\n".join(hexed[i:i + 72] for i in range(0, len(hexed), 72))
    new_text = b"\n" + lines[0].strip() + b"\n" + b"%8d" % len(cleaned) + b"\n" + wrapped + b"\n"
    payload = (b"\x00" + zlib.compress(new_text)) if compressed else new_text
    return key + b"\x00" + payload, removed


def strip_png(path: str, out: BinaryIO, options: StripOptions) -> list[str]:
    """Writer for PNG (see ``geoprivacy.defenses.strip`` for the contract)."""
    data = read_input(path)
    parts = [SIGNATURE]
    removed: list[str] = []
    orient = None
    for ctype, body in chunks(data):
        if options.all_metadata:
            if ctype == b"eXIf":
                start = 6 if body.startswith(b"Exif\x00\x00") else 0
                orient = exif_edit.orientation(body, start)
            if ctype in KEEP_ALL:
                if ctype == b"IDAT" and orient is not None:
                    tiff = exif_edit.minimal_exif(orient)
                    if tiff:
                        parts.append(build(b"eXIf", tiff))
                    orient = None
                parts.append(build(ctype, body))
            else:
                removed.append(f"PNG:{ctype.decode('latin-1')}")
            continue
        gone: list[str] = []
        if ctype == b"eXIf":
            body, gone = clean_tiff_bytes(body)
        elif ctype == b"iTXt":
            body, gone = _itxt(body)
        elif ctype in (b"tEXt", b"zTXt"):
            body, gone = _raw_profile(ctype, body)
        removed += gone
        parts.append(build(ctype, body))
    out.write(b"".join(parts))
    return removed
