"""Bounded reading of text sidecars (SRT, GPX, NMEA, JSON, KML, XMP) and safe XML parsing.

Sidecars are small (kilobytes to a few MB), so we read at most ``MAX_SIDECAR_BYTES`` from the
start of the file and say so when a file is longer. Text is decoded leniently
(``errors="replace"``): a damaged byte must not hide the coordinates around it.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from xml.parsers import expat as pyexpat
from typing import Iterator

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source

MAX_SIDECAR_BYTES = 64 * 1024 * 1024   # the most we read from one sidecar (also Source's max read)
_XML_CHUNK = 1024 * 1024

_XML_ENCODING = re.compile(rb"""^<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")


def read_bytes(src: Source, out: Collector, label: str) -> bytes:
    """The first ``MAX_SIDECAR_BYTES`` of the file; a warning when there was more."""
    data = src.read_upto(0, min(src.size, MAX_SIDECAR_BYTES))
    if src.size > MAX_SIDECAR_BYTES:
        out.warn(f"{label}: only the first {MAX_SIDECAR_BYTES:,} of {src.size:,} bytes were "
                 "read (sidecar size limit)")
    return data


def decode_text(data: bytes) -> str:
    """Bytes → text: BOMs honoured, BOM-less UTF-16 recognised by its NUL bytes, else UTF-8.

    Invalid bytes become U+FFFD rather than failing the whole file.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    encoding = utf16_without_bom(data)
    if encoding:
        return data.decode(encoding, errors="replace")
    return data.decode("utf-8", errors="replace")


def utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" when most odd (or even) bytes of the head are NUL, else None."""
    head = data[:512]
    if len(head) < 8:
        return None
    half = len(head) // 2
    if head[1::2].count(0) > 0.8 * half and head[0::2].count(0) < 0.2 * half:
        return "utf-16-le"
    if head[0::2].count(0) > 0.8 * half and head[1::2].count(0) < 0.2 * half:
        return "utf-16-be"
    return None


def read_text(src: Source, out: Collector, label: str) -> str:
    return decode_text(read_bytes(src, out, label))


def _reject(*_args: object) -> None:
    raise ParseError("XML with a DOCTYPE or ENTITY declaration is refused (entity expansion risk)")


def xml_events(data: bytes) -> Iterator[tuple[str, ET.Element]]:
    """("start"|"end", element) events with namespace-free tags; DOCTYPE and ENTITY refused.

    ElementTree's C parser hides its expat handlers, so we drive expat ourselves (as defusedxml
    does) into an ElementTree TreeBuilder. Streams in chunks so a long track never needs the
    whole tree; callers remove finished elements. Malformed XML raises ParseError after the
    events before the damage.
    """
    builder = ET.TreeBuilder()
    events: list[tuple[str, ET.Element]] = []
    expat = pyexpat.ParserCreate(namespace_separator="}")

    def start(tag: str, attrs: dict[str, str]) -> None:
        attrs = {k.rsplit("}", 1)[-1]: v for k, v in attrs.items()}
        events.append(("start", builder.start(tag.rsplit("}", 1)[-1], attrs)))

    def end(tag: str) -> None:
        events.append(("end", builder.end(tag.rsplit("}", 1)[-1])))

    expat.StartElementHandler = start
    expat.EndElementHandler = end
    expat.CharacterDataHandler = builder.data
    expat.StartDoctypeDeclHandler = _reject
    expat.EntityDeclHandler = _reject
    expat.UnparsedEntityDeclHandler = _reject
    expat.ExternalEntityRefHandler = _reject
    data = _declare_utf8_if_unknown(data)
    for offset in range(0, max(len(data), 1), _XML_CHUNK):
        chunk = data[offset:offset + _XML_CHUNK]
        final = offset + _XML_CHUNK >= len(data)
        try:
            expat.Parse(chunk, final)
        except pyexpat.ExpatError as exc:
            yield from events
            raise ParseError(f"malformed XML ({exc})") from None
        except LookupError as exc:      # an encoding name expat does not know (over 40 chars)
            yield from events
            raise ParseError(f"malformed XML ({exc})") from None
        yield from events
        events.clear()


def _declare_utf8_if_unknown(data: bytes) -> bytes:
    """Expat decodes few encodings (UTF-8/16, Latin-1, ASCII, single-byte codecs) and stops at
    the first invalid byte; anything else is decoded here leniently and handed over as UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or utf16_without_bom(data):
        return data
    match = _XML_ENCODING.match(data.removeprefix(b"\xef\xbb\xbf"))
    name = match.group(1).decode("ascii") if match else "utf-8"
    try:
        name = codecs.lookup(name).name
    except LookupError:
        name = "utf-8"
    if name != "utf-8":
        try:
            bytes(range(128, 256)).decode(name)  # a complete single-byte codec: expat copes
            return data
        except UnicodeError:
            pass
    text = data.decode(name, errors="replace").encode("utf-8")
    if not match:
        return text
    return _XML_ENCODING.sub(lambda m: m.group(0).replace(m.group(1), b"utf-8"), text, count=1)
