"""XMP packets: GPS coordinates and place names, from any container or a sidecar file.

Uses the standard-library XML parser after refusing DOCTYPE/ENTITY declarations (so no entity
expansion can happen), with a size bound; a regex pass reads broken or refused packets.
"""

from __future__ import annotations

import io
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Iterator

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.geo import decimal_step
from geoprivacy.types import Granularity

MAX_XMP_BYTES = 8 << 20
MAX_DEPTH = 40
MAX_VALUES = 20000

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_NS = "http://www.w3.org/XML/1998/namespace"

#: Namespace URI → the conventional prefix used in ``where`` paths and the rules below.
PREFIXES = {
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://cipa.jp/exif/1.0/": "exifEX",
    "http://www.dji.com/drone-dji/1.0/": "drone-dji",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.iview-multimedia.com/mediapro/1.0/": "mediapro",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    RDF: "rdf",
    XML_NS: "xml",
    "adobe:ns:meta/": "x",
}

_NOT_PROPERTIES = ("rdf", "x", "xml", "")

#: (prefix, local name) → granularity of a place name stored there.
PLACE_FIELDS: dict[tuple[str, str], Granularity] = {
    ("photoshop", "City"): Granularity.CITY,
    ("photoshop", "State"): Granularity.REGION,
    ("photoshop", "Country"): Granularity.COUNTRY,
    ("Iptc4xmpCore", "Location"): Granularity.STREET,
    ("Iptc4xmpCore", "CountryCode"): Granularity.COUNTRY,
    ("Iptc4xmpExt", "Sublocation"): Granularity.STREET,
    ("Iptc4xmpExt", "LocationName"): Granularity.STREET,
    ("Iptc4xmpExt", "City"): Granularity.CITY,
    ("Iptc4xmpExt", "ProvinceState"): Granularity.REGION,
    ("Iptc4xmpExt", "CountryName"): Granularity.COUNTRY,
    ("Iptc4xmpExt", "CountryCode"): Granularity.COUNTRY,
    ("Iptc4xmpExt", "WorldRegion"): Granularity.CONTINENT,
    ("mediapro", "Location"): Granularity.STREET,
    ("mediapro", "City"): Granularity.CITY,
    ("mediapro", "State"): Granularity.REGION,
    ("mediapro", "Country"): Granularity.COUNTRY,
}

#: lower-cased local names of coordinates, in any namespace (exif, drone-dji, Iptc4xmpExt…).
LAT_NAMES = {"gpslatitude": "", "gpsdestlatitude": "Dest"}
LON_NAMES = {"gpslongitude": "", "gpslongtitude": "", "gpsdestlongitude": "Dest"}
DETAIL_NAMES = {
    "gpsaltitude": "altitude", "gpsaltituderef": "altitude_ref", "absolutealtitude": "altitude_m",
    "relativealtitude": "relative_altitude_m", "gpstimestamp": "time", "gpsimgdirection":
    "image_direction_deg", "gpsareainformation": "area_information",
    "gpsprocessingmethod": "processing_method", "gpsmapdatum": "map_datum",
    "gpslatituderef": "lat_ref", "gpslongituderef": "lon_ref",
}

_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)
_COORD = re.compile(
    r"^\s*([+-]?\d+(?:\.\d*)?)\s*(?:,\s*(\d+(?:\.\d*)?)\s*(?:,\s*(\d+(?:\.\d*)?)\s*)?)?"
    r"([NSEWnsew])?\s*$")


@dataclass
class _Value:
    prefix: str
    local: str
    text: str


@dataclass
class _Scope:
    path: tuple[str, ...]
    values: list[_Value] = field(default_factory=list)


def parse_xmp(data: bytes, out: Collector, where_prefix: str = "XMP") -> None:
    """Report GPS coordinates and place names found in one XMP packet."""
    if len(data) > MAX_XMP_BYTES:
        out.warn(f"{where_prefix}: packet of {len(data)} bytes cut to {MAX_XMP_BYTES}")
        data = data[:MAX_XMP_BYTES]
    data = _trim(data)
    if not data:
        return
    if _FORBIDDEN.search(data):
        out.warn(f"{where_prefix}: DOCTYPE/ENTITY declarations refused; read by pattern only")
        scopes = list(_regex_scopes(data))
    else:
        try:
            scopes = _tree_scopes(data)
        except (ET.ParseError, ValueError, LookupError, RecursionError) as exc:
            out.warn(f"{where_prefix}: broken XML ({exc}); read by pattern only")
            scopes = list(_regex_scopes(data))
    for scope in scopes:
        _report(scope, out, where_prefix)


def _trim(data: bytes) -> bytes:
    """Drop NUL padding, and anything before the packet (JPEG/TIFF blobs may be padded)."""
    data = data.strip(b"\x00 \t\r\n")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return b""
    start = data.find(b"<")
    return data[start:] if start > 0 else data


# --- well-formed XML -------------------------------------------------------------------------

def _tree_scopes(data: bytes) -> list[_Scope]:
    doc_prefixes: dict[str, str] = {}
    root = None
    for event, item in ET.iterparse(io.BytesIO(data), events=("start-ns", "end")):
        if event == "start-ns":
            prefix, uri = item
            doc_prefixes.setdefault(uri, prefix)
        else:
            root = item
    if root is None:
        return []
    walker = _Walker({**doc_prefixes, **PREFIXES})
    top = _Scope(())
    walker.node(root, top, 0)
    return [top] + walker.scopes


class _Walker:
    """Walks RDF/XML: descriptions, property elements, structs (scopes) and containers."""

    def __init__(self, prefixes: dict[str, str]) -> None:
        self.prefixes = prefixes
        self.scopes: list[_Scope] = []
        self.count = 0

    def name(self, tag: str) -> tuple[str, str]:
        if tag.startswith("{"):
            uri, local = tag[1:].split("}", 1)
            return self.prefixes.get(uri, uri), local
        return "", tag

    def add(self, scope: _Scope, prefix: str, local: str, text: str | None) -> None:
        if self.count < MAX_VALUES:
            self.count += 1
            scope.values.append(_Value(prefix, local, (text or "").strip()))

    def attributes(self, elem: ET.Element, scope: _Scope) -> None:
        for key, value in elem.attrib.items():
            prefix, local = self.name(key)
            if prefix not in _NOT_PROPERTIES:
                self.add(scope, prefix, local, value)

    def has_properties(self, elem: ET.Element) -> bool:
        """Attributes that are properties make the element a struct (RDF shorthand)."""
        return any(self.name(k)[0] not in _NOT_PROPERTIES for k in elem.attrib)

    def node(self, elem: ET.Element, scope: _Scope, depth: int) -> None:
        """Children of a resource node (x:xmpmeta, rdf:RDF, rdf:Description, a struct)."""
        if depth > MAX_DEPTH:
            return
        self.attributes(elem, scope)
        for child in elem:
            prefix, local = self.name(child.tag)
            if prefix == "rdf" and local in ("RDF", "Description"):
                self.node(child, scope, depth + 1)
            elif prefix == "x" or (prefix == "rdf" and local in ("Bag", "Seq", "Alt", "li")):
                self.node(child, scope, depth + 1)
            else:
                self.property(child, prefix, local, scope, depth + 1)

    def property(self, elem: ET.Element, prefix: str, local: str, scope: _Scope,
                 depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        children = list(elem)
        struct_attrs = self.has_properties(elem)
        if not children and not struct_attrs:
            self.add(scope, prefix, local, elem.text)
            return
        path = scope.path + (f"{prefix}:{local}",)
        if struct_attrs or elem.get(f"{{{RDF}}}parseType") == "Resource":
            self.struct(elem, path, depth)
            return
        for child in children:
            cprefix, clocal = self.name(child.tag)
            if cprefix == "rdf" and clocal == "Description":
                self.struct(child, path, depth + 1)
            elif cprefix == "rdf" and clocal in ("Bag", "Seq", "Alt"):
                items = [li for li in child if self.name(li.tag) == ("rdf", "li")]
                for li in items[:64]:
                    if len(li) or self.has_properties(li):
                        self.struct(li, path, depth + 2)
                    else:
                        self.add(scope, prefix, local, li.text)
                        if clocal == "Alt":
                            break  # language alternatives: the first is enough
            else:  # a struct written with nested property elements directly
                sub = _Scope(path)
                self.scopes.append(sub)
                self.property(child, cprefix, clocal, sub, depth + 1)

    def struct(self, elem: ET.Element, path: tuple[str, ...], depth: int) -> None:
        sub = _Scope(path)
        self.scopes.append(sub)
        self.node(elem, sub, depth + 1)


# --- broken XML: patterns --------------------------------------------------------------------

_ATTR = re.compile(rb"([A-Za-z][\w.-]*):([A-Za-z]\w*)\s*=\s*(\"[^\"<]{0,512}\"|'[^'<]{0,512}')")
_ELEM = re.compile(rb"<([A-Za-z][\w.-]*):([A-Za-z]\w*)>([^<]{0,512})</\1:\2>")


def _regex_scopes(data: bytes) -> Iterator[_Scope]:
    """One flat scope from prefix:Name="value" attributes and <prefix:Name>text</…> elements."""
    scope = _Scope(())
    for m in _ATTR.finditer(data):
        if len(scope.values) >= MAX_VALUES:
            break
        scope.values.append(_Value(m.group(1).decode("latin-1"), m.group(2).decode("latin-1"),
                                   _unescape(m.group(3)[1:-1])))
    for m in _ELEM.finditer(data):
        if len(scope.values) >= MAX_VALUES:
            break
        scope.values.append(_Value(m.group(1).decode("latin-1"), m.group(2).decode("latin-1"),
                                   _unescape(m.group(3))))
    yield scope


def _unescape(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace").strip()
    for ent, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"),
                      ("&amp;", "&")):
        text = text.replace(ent, char)
    return text


# --- interpretation --------------------------------------------------------------------------

def _report(scope: _Scope, out: Collector, where_prefix: str) -> None:
    base = ":".join((where_prefix,) + scope.path)
    coords: dict[tuple[str, str], dict[str, _Value]] = {}
    details: dict[str, dict[str, str]] = {}
    for v in scope.values:
        low = v.local.lower()
        if low in LAT_NAMES:
            coords.setdefault((v.prefix, LAT_NAMES[low]), {})["lat"] = v
        elif low in LON_NAMES:
            coords.setdefault((v.prefix, LON_NAMES[low]), {})["lon"] = v
        elif low in DETAIL_NAMES and v.text:
            details.setdefault(v.prefix, {})[DETAIL_NAMES[low]] = v.text[:200]
        level = PLACE_FIELDS.get((v.prefix, v.local))
        if level is not None:
            out.place_name(f"{base}:{v.prefix}:{v.local}", v.text[:500], level)
    for (prefix, dest), pair in coords.items():
        _report_pair(out, base, prefix, dest, pair, details.get(prefix, {}))


def _report_pair(out: Collector, base: str, prefix: str, dest: str, pair: dict[str, _Value],
                 extra: dict[str, str]) -> None:
    lat_v, lon_v = pair.get("lat"), pair.get("lon")
    named = lat_v or lon_v
    if named is None:
        return
    where = f"{base}:{prefix}:{named.local if named is lat_v else _lat_name(named.local)}"
    detail: dict[str, Any] = {} if dest else _numeric_detail(extra)
    texts = [v.text if v else None for v in (lat_v, lon_v)]
    if all(not t for t in texts):
        out.placeholder(where, "GPS fields are empty", detail)
        return
    lat_ref = extra.get("lat_ref") if not dest else None
    lon_ref = extra.get("lon_ref") if not dest else None
    lat, lat_step, lat_err = parse_coordinate(texts[0], "NS", lat_ref)
    lon, lon_step, lon_err = parse_coordinate(texts[1], "EW", lon_ref)
    err = lat_err or lon_err
    if err:
        out.invalid(where, err, {**detail, "lat_text": texts[0], "lon_text": texts[1]})
        return
    steps = [s for s in (lat_step, lon_step) if s is not None]
    step = min(steps) if steps else None
    out.position(where, lat, lon, step_deg=step if step and step >= 1e-5 else None,
                 detail=detail)


def _numeric_detail(extra: dict[str, str]) -> dict[str, Any]:
    """Altitude as signed metres (XMP stores "324145/1000" and a 0/1 reference)."""
    detail: dict[str, Any] = {k: v for k, v in extra.items()
                              if k not in ("altitude", "altitude_ref", "lat_ref", "lon_ref")}
    alt = _number(extra.get("altitude") or extra.get("altitude_m"))
    if alt is not None:
        detail["altitude_m"] = round(-alt if extra.get("altitude_ref") == "1" else alt, 3)
    for key in ("relative_altitude_m", "image_direction_deg"):
        value = _number(extra.get(key))
        if value is not None:
            detail[key] = round(value, 3)
    return detail


def _number(text: str | None) -> float | None:
    """A decimal or a "num/den" rational, or None."""
    if not text:
        return None
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            value = float(num) / float(den) if float(den) else None
        else:
            value = float(text)
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _lat_name(lon_local: str) -> str:
    """Where a pair is named after its latitude, even when only the longitude was present."""
    return re.sub("long?t?itude", "Latitude", lon_local, flags=re.I)


def parse_coordinate(text: str | None, letters: str, ref: str | None = None
                     ) -> tuple[float | None, float | None, str | None]:
    """Signed degrees, quantisation step and error from an XMP coordinate string.

    Accepts "DD,MM.mmmmN", "DD,MM,SSN", "DD.dddd" (signed) and "DD.ddddN".
    """
    axis = "latitude" if letters == "NS" else "longitude"
    if text is None:
        return None, None, f"{axis} missing"
    text = text.strip()
    if not text:
        return None, None, f"{axis} is empty"
    m = _COORD.match(text)
    if not m:
        return None, None, f"{axis} {text[:40]!r} is not a coordinate"
    deg_s, min_s, sec_s, letter = m.groups()
    deg = float(deg_s)
    minutes = float(min_s) if min_s else 0.0
    seconds = float(sec_s) if sec_s else 0.0
    if minutes >= 60 or seconds >= 60:
        return None, None, f"{axis} {text[:40]!r}: minutes or seconds out of range"
    value = abs(deg) + minutes / 60 + seconds / 3600
    if sec_s:
        step = (decimal_step(sec_s) or 1.0) / 3600
    elif min_s:
        step = (decimal_step(min_s) or 1.0) / 60
    else:
        step = decimal_step(deg_s) or 0.0
    letter = (letter or (ref or "").strip()[:1]).upper()
    if letter:
        if letter not in letters:
            return None, None, f"{axis} hemisphere {letter!r} is not {letters[0]} or {letters[1]}"
        # the letter decides the sign, as the XMP standard says (a stray "-" is ignored)
        return (-value if letter == letters[1] else value), step, None
    return (-value if deg_s.startswith("-") else value), step, None
