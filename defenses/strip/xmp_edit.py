"""Remove location properties from an XMP packet, keeping every other byte as written.

Shared by the photo writers, the ISO-BMFF writer and the sidecar cleaner. Edits are textual cuts
located by expat's byte positions (namespace-aware), not a re-serialisation: the rest of the
packet stays byte-identical, and ``same_size=True`` pads with spaces so that the packet keeps
its length (for in-place edits where offsets must not move). A re-serialiser would reorder
attributes and re-declare namespaces, and could grow the packet.
"""

from __future__ import annotations

import re
from xml.parsers import expat

from geoprivacy.errors import ParseError

MAX_XMP = 64 * 1024 * 1024

NS_EXIF = "http://ns.adobe.com/exif/1.0/"
NS_EXIFEX = "http://cipa.jp/exif/1.0/"
NS_PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
NS_IPTC_CORE = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
NS_DJI = "http://www.dji.com/drone-dji/1.0/"
NS_XMPDM = "http://ns.adobe.com/xmp/1.0/DynamicMedia/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

# (namespace, local name) pairs that are places; plus the name rules in is_location_property.
_EXACT = {
    (NS_PHOTOSHOP, "City"), (NS_PHOTOSHOP, "State"), (NS_PHOTOSHOP, "Country"),
    (NS_IPTC_CORE, "Location"), (NS_IPTC_CORE, "CountryCode"),
    (NS_IPTC_EXT, "LocationCreated"), (NS_IPTC_EXT, "LocationShown"),
    (NS_XMPDM, "shotLocation"),
}
_PLACE_NAMES = {"city", "state", "country", "countrycode", "countryname", "location",
                "locationcreated", "locationshown", "sublocation", "provincestate",
                "provincename", "provincecode", "worldregion"}
_GEO_WORDS = re.compile(r"^(gps|geo)|latitude|longitude|longtitude", re.IGNORECASE)


def is_location_property(ns: str, local: str) -> bool:
    """True for a property that holds a coordinate or a place name (any namespace but RDF)."""
    if ns == NS_RDF:
        return False
    if (ns, local) in _EXACT:
        return True
    if ns in (NS_EXIF, NS_EXIFEX) and local.startswith("GPS"):
        return True
    if ns == NS_DJI and re.search(r"gps|latitude|longitude|longtitude|absolutealtitude", local,
                                   re.IGNORECASE):
        return True
    return bool(_GEO_WORDS.search(local)) or local.lower() in _PLACE_NAMES


_ATTR = re.compile(rb"""\s+([^\s=/>]+)\s*=\s*("[^"]*"|'[^']*')""")


def _tag_end(data: bytes, start: int) -> int:
    """Index just after the '>' closing the tag that starts at ``start`` (quotes respected)."""
    quote = 0
    for i in range(start + 1, len(data)):
        c = data[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):
            quote = c
        elif c == 0x3E:
            return i + 1
    raise ParseError("XMP: unterminated tag")


class _Scan:
    """One expat pass recording the byte ranges to cut."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.cuts: list[tuple[int, int, str]] = []   # (start, end, where)
        self.open: list[tuple[str, int, bool]] = []  # (expanded name, start, removing)
        self.ns_stack: list[dict[str, str]] = [{}]
        self.pending_ns: dict[str, str] = {}
        self.depth_removing = 0
        p = expat.ParserCreate(namespace_separator=" ")
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.StartNamespaceDeclHandler = self.ns_decl
        p.StartDoctypeDeclHandler = self.refuse
        p.EntityDeclHandler = self.refuse
        self.parser = p

    def refuse(self, *args: object) -> None:
        raise ParseError("XMP: DOCTYPE or entity declarations are not allowed")

    def ns_decl(self, prefix: str | None, uri: str | None) -> None:
        self.pending_ns[prefix or ""] = uri or ""

    def run(self) -> None:
        try:
            self.parser.Parse(self.data, True)
        except expat.ExpatError as exc:
            raise ParseError(f"XMP is not well-formed XML ({exc})") from None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        pos = self.parser.CurrentByteIndex
        scope = dict(self.ns_stack[-1])
        scope.update(self.pending_ns)
        self.pending_ns = {}
        self.ns_stack.append(scope)
        ns, _, local = name.rpartition(" ")
        removing = bool(self.depth_removing) or is_location_property(ns, local)
        if removing and not self.depth_removing:
            self.open.append((name, pos, True))
            self.depth_removing = 1
            return
        if self.depth_removing:
            self.depth_removing += 1
            self.open.append((name, pos, True))
            return
        self.open.append((name, pos, False))
        end = _tag_end(self.data, pos)
        for m in _ATTR.finditer(self.data, pos, end):
            qname = m.group(1).decode("utf-8", "replace")
            prefix, _, attr_local = qname.rpartition(":")
            if not prefix or prefix == "xmlns" or qname.startswith("xmlns"):
                continue
            attr_ns = scope.get(prefix, "")
            if is_location_property(attr_ns, attr_local):
                self.cuts.append((m.start(), m.end(), f"XMP:{qname}"))

    def end(self, name: str) -> None:
        pos = self.parser.CurrentByteIndex
        self.ns_stack.pop()
        _, start, removing = self.open.pop()
        if not removing:
            return
        self.depth_removing -= 1
        if self.depth_removing:
            return
        if pos == start:          # <a/>: expat reports the end at the tag start
            stop = _tag_end(self.data, start)
        else:
            stop = _tag_end(self.data, pos)
        qname = re.match(rb"<([^\s/>]+)", self.data[start:start + 256])
        label = qname.group(1).decode("utf-8", "replace") if qname else name
        lo = start
        while lo > 0 and self.data[lo - 1] in b" \t":
            lo -= 1
        if lo > 0 and self.data[lo - 1] == 0x0A:
            lo -= 1
            if lo > 0 and self.data[lo - 1] == 0x0D:
                lo -= 1
        self.cuts.append((lo, stop, f"XMP:{label}"))


def clean_xmp(data: bytes, *, same_size: bool = False) -> tuple[bytes, list[str]]:
    """``data`` without location properties, and the ``where`` strings of what went.

    Raises ParseError when the packet is not well-formed UTF-8 XML (it cannot be edited
    safely). With ``same_size`` the result has exactly ``len(data)`` bytes.
    """
    if len(data) > MAX_XMP:
        raise ParseError(f"XMP packet of {len(data)} bytes is larger than {MAX_XMP}")
    body = data.rstrip(b"\x00")
    nuls = len(data) - len(body)
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or body[:4] in (b"\x00\x00\xfe\xff",):
        raise ParseError("XMP in UTF-16/32 is not supported; cannot clean it")
    scan = _Scan(body)
    scan.run()
    if not scan.cuts:
        return data, []
    out = bytearray()
    pos = 0
    removed = []
    for lo, hi, where in sorted(scan.cuts):
        if lo < pos:
            continue
        out += body[pos:lo]
        pos = hi
        removed.append(where)
    out += body[pos:]
    cleaned = bytes(out)
    _Scan(cleaned).run()     # still well-formed, or we refuse
    if same_size:
        cleaned = pad(cleaned, len(body))
    return cleaned + b"\x00" * nuls, removed


def pad(xmp: bytes, size: int) -> bytes:
    """Grow ``xmp`` to ``size`` bytes with spaces where XML allows them."""
    missing = size - len(xmp)
    if missing < 0:
        raise ParseError("XMP grew while cleaning; cannot write it back in place")
    if not missing:
        return xmp
    trailer = xmp.rfind(b"<?xpacket end")
    if trailer < 0:
        return xmp + b" " * missing
    return xmp[:trailer] + b" " * missing + xmp[trailer:]


def has_location(data: bytes) -> bool:
    """True when ``data`` still has a location property (used by tests and the verifier)."""
    scan = _Scan(data.rstrip(b"\x00"))
    scan.run()
    return bool(scan.cuts)
