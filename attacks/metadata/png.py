"""PNG: eXIf, and XMP/Exif/IPTC carried in iTXt, tEXt and zTXt chunks.

Image data (IDAT) is skipped by its length; compressed text is inflated with a size bound.
"""

from __future__ import annotations

import binascii
import re
import struct
import zlib

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.exif import parse_tiff_block
from geoprivacy.attacks.metadata.iptc import parse_iptc, parse_photoshop_irb
from geoprivacy.attacks.metadata.xmp import parse_xmp
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_CHUNKS = 100000
MAX_TEXT_CHUNK = 16 << 20
MAX_INFLATED = 16 << 20
TEXT_CHUNKS = (b"eXIf", b"iTXt", b"tEXt", b"zTXt")
XMP_KEYWORD = b"XML:com.adobe.xmp"
RAW_PROFILE = b"Raw profile type "


def parse(src: Source, out: Collector) -> None:
    """Walk the chunks of a PNG file and parse the ones that can carry a location."""
    if src.read(0, 8) != SIGNATURE:
        raise ParseError("not a PNG file")
    pos = 8
    for _ in range(MAX_CHUNKS):
        if pos + 8 > src.size:
            out.warn(f"PNG: file ends at offset {pos} without an IEND chunk")
            return
        size, ctype = struct.unpack(">I4s", src.read(pos, 8))
        body = pos + 8
        if ctype == b"IEND":
            return
        if body + size > src.size:
            out.warn(f"PNG: chunk {ctype!r} at offset {pos} runs past the end")
            size = src.size - body
        if ctype in TEXT_CHUNKS:
            if size > MAX_TEXT_CHUNK:
                out.warn(f"PNG: {ctype.decode('latin-1')} chunk of {size} bytes not read")
            else:
                _chunk(ctype, src.read(body, size), out)
        pos = body + size + 4  # + CRC
    out.warn(f"PNG: more than {MAX_CHUNKS} chunks; the rest was not read")


def _chunk(ctype: bytes, data: bytes, out: Collector) -> None:
    if ctype == b"eXIf":
        parse_tiff_block(data[6:] if data.startswith(b"Exif\x00\x00") else data, out, "EXIF")
        return
    keyword, sep, rest = data.partition(b"\x00")
    if not sep:
        return
    if ctype == b"iTXt":
        if len(rest) < 2:
            return
        compressed, text = rest[0], rest[2:]
        _lang, _, text = text.partition(b"\x00")
        _translated, _, text = text.partition(b"\x00")
        if compressed:
            text = _inflate(text, out, keyword)
    elif ctype == b"zTXt":
        text = _inflate(rest[1:], out, keyword)
    else:
        text = rest
    if text:
        _text(keyword, text, out)


def _inflate(data: bytes, out: Collector, keyword: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, MAX_INFLATED)
    except zlib.error as exc:
        out.warn(f"PNG: compressed text {keyword[:40]!r} is corrupt ({exc})")
        return b""
    if inflater.unconsumed_tail:
        out.warn(f"PNG: compressed text {keyword[:40]!r} inflates past {MAX_INFLATED} bytes; cut")
    return text


def _text(keyword: bytes, text: bytes, out: Collector) -> None:
    if keyword == XMP_KEYWORD:
        parse_xmp(text, out, "XMP")
    elif keyword.startswith(RAW_PROFILE):
        kind = keyword[len(RAW_PROFILE):].strip().lower()
        blob = _raw_profile(text, out, keyword)
        if not blob:
            return
        if kind in (b"exif", b"app1"):
            if blob.startswith(b"Exif\x00\x00"):
                blob = blob[6:]
            parse_tiff_block(blob, out, "EXIF")
        elif kind == b"xmp":
            parse_xmp(blob, out, "XMP")
        elif kind == b"iptc":
            if blob.startswith((b"8BIM", b"Photoshop 3.0\x00")):
                parse_photoshop_irb(blob, out, "Photoshop")
            else:
                parse_iptc(blob, out, "IPTC")
        elif kind == b"8bim":
            parse_photoshop_irb(blob, out, "Photoshop")
    elif text.lstrip().startswith((b"<?xpacket", b"<x:xmpmeta")):
        parse_xmp(text, out, f"PNG:{keyword[:40].decode('latin-1')}:XMP")


_RAW = re.compile(rb"^\s*[^\n]*\n\s*(\d+)\s*\n(.*)$", re.S)  # name line, length, hex


def _raw_profile(text: bytes, out: Collector, keyword: bytes) -> bytes:
    """ImageMagick's "\\nexif\\n   1234\\n4578696600…" hex encoding."""
    m = _RAW.match(text)
    if not m:
        out.warn(f"PNG: {keyword[:40]!r} is not a raw profile")
        return b""
    length = int(m.group(1)[:12])
    digits = re.sub(rb"\s+", b"", m.group(2))[: 2 * min(length, MAX_INFLATED)]
    try:
        return binascii.unhexlify(digits[: len(digits) & ~1])
    except binascii.Error as exc:
        out.warn(f"PNG: {keyword[:40]!r} hex data is corrupt ({exc})")
        return b""
