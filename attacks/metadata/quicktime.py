"""Location boxes of MP4/MOV/3GP movies: ``udta/©xyz``, ``meta``/``keys``/``ilst``, 3GPP ``loci``
and XMP (``uuid`` box and ``XMP_`` atom).

Hand-written because these are small binary boxes that no maintained Python library reads with
bounded I/O; values go to the Collector, which decides place vs placeholder vs invalid.
"""

from __future__ import annotations

import math
import re
import struct

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.isobmff import Box, Walker
from geoprivacy.types import Granularity

XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
MAX_TEXT = 64 * 1024           # a location string or name never needs more
MAX_XMP = 16 * 1024 * 1024

#: ``keys`` names whose value is an ISO 6709 position string.
ISO6709_KEYS = {"com.apple.quicktime.location.iso6709", "com.apple.quicktime.location.ISO6709",
                "location.iso6709"}
#: ``keys`` names whose value names a place (Apple writes the address or point of interest).
PLACE_KEYS = {"com.apple.quicktime.location.name": Granularity.STREET,
              "com.apple.quicktime.location.note": Granularity.STREET}
#: ``keys`` names that describe a location without disclosing one (kept as detail only).
DETAIL_KEYS = {"com.apple.quicktime.location.body", "com.apple.quicktime.location.role",
               "com.apple.quicktime.location.date",
               "com.apple.quicktime.location.accuracy.horizontal"}

_NUMBER = r"[+-]\d+(?:\.\d*)?"
_ISO6709 = re.compile(rf"^\s*({_NUMBER})({_NUMBER})({_NUMBER})?\s*(?:CRS[^/]*)?/?")


# --- ISO 6709 --------------------------------------------------------------------------------

def parse_iso6709(text: str) -> tuple[float, float, float | None, float] | None:
    """(lat, lon, alt, step_deg) from an ISO 6709 string such as ``+33.1268-117.3273/``.

    Handles degrees (±DD.D, ±DDD.D), degrees-minutes (±DDMM.M, ±DDDMM.M) and
    degrees-minutes-seconds (±DDMMSS.S, ±DDDMMSS.S). ``step_deg`` is the coarser of the two
    quantisation steps, so a rounded value reads as the coarse place it is.
    """
    match = _ISO6709.match(text)
    if not match:
        return None
    lat_s, lon_s, alt_s = match.groups()
    lat = _sexagesimal(lat_s, 2)
    lon = _sexagesimal(lon_s, 3)
    if lat is None or lon is None:
        return None
    alt = float(alt_s) if alt_s else None
    if alt is not None and not math.isfinite(alt):
        alt = None                          # 400 digits overflow to inf: not JSON, not a height
    return lat[0], lon[0], alt, max(lat[1], lon[1])


def _sexagesimal(text: str, degree_digits: int) -> tuple[float, float] | None:
    sign = -1.0 if text.startswith("-") else 1.0
    body = text[1:]
    whole, _, frac = body.partition(".")
    step = 10.0 ** -len(frac) if frac else 1.0
    extra = len(whole) - degree_digits
    try:
        if extra <= 0 or (extra == 1 and whole.startswith("0")):   # ±DD.DDD (or ±0DD.DDD)
            return sign * float(body), step
        if extra == 2:                      # ±DDMM.MMM
            deg, minutes = float(whole[:degree_digits]), float(whole[degree_digits:] + "." + frac)
            return sign * (deg + minutes / 60.0), step / 60.0
        if extra == 4:                      # ±DDMMSS.SSS
            deg = float(whole[:degree_digits])
            minutes = float(whole[degree_digits:degree_digits + 2])
            seconds = float(whole[degree_digits + 2:] + "." + frac)
            return sign * (deg + minutes / 60.0 + seconds / 3600.0), step / 3600.0
    except ValueError:
        return None
    return None


def report_iso6709(out: Collector, where: str, text: str) -> None:
    """Hand an ISO 6709 string to the Collector (unreadable strings become INVALID evidence)."""
    text = text.strip("\x00").strip()
    if not text:
        out.placeholder(where, "empty location string")
        return
    parsed = parse_iso6709(text)
    if parsed is None:
        out.invalid(where, "not an ISO 6709 position", {"value": text[:100]})
        return
    lat, lon, alt, step = parsed
    detail = {"value": text[:100]}
    if alt is not None:
        detail["alt"] = alt
    out.position(where, lat, lon, step_deg=step, detail=detail)


# --- udta --------------------------------------------------------------------------------------

def parse_udta(walker: Walker, udta: Box, depth: int) -> None:
    """User data: ``©xyz``, ``loci``, ``XMP_`` and an iTunes-style ``meta``."""
    for box in walker.children(udta.payload, udta.end, depth, "udta"):
        if box.type == b"\xa9xyz":
            data = walker.payload(box, MAX_TEXT)
            if data is not None:
                text = _qt_text(data)
                report_iso6709(walker.out, "QuickTime:©xyz", text)
        elif box.type == b"loci":
            data = walker.payload(box, MAX_TEXT)
            if data is not None:
                parse_loci(walker.out, data)
        elif box.type == b"XMP_":
            data = walker.payload(box, MAX_XMP)
            if data is not None:
                report_xmp(walker, data, "QuickTime:XMP_")
        elif box.type == b"meta":
            parse_meta(walker, box, "QuickTime:udta", depth + 1)


def _qt_text(data: bytes) -> str:
    """A QuickTime text atom: 16-bit length + 16-bit language + text, or a nested ``data`` atom."""
    if len(data) >= 16 and data[4:8] == b"data":
        return _data_atom_text(data[8:])
    if len(data) >= 4:
        length = struct.unpack_from(">H", data, 0)[0]
        if 0 < length <= len(data) - 4:
            return data[4:4 + length].decode("utf-8", "replace")
    return data.decode("utf-8", "replace")


def parse_loci(out: Collector, data: bytes) -> None:
    """3GPP LocationInformationBox: name, role, then 16.16 fixed-point longitude, latitude, alt."""
    if len(data) < 6:
        out.invalid("3GPP:loci", "location box too short")
        return
    pos = 6                                    # version/flags, language
    name, pos = _cstring(data, pos)
    if pos + 13 > len(data):
        out.invalid("3GPP:loci", "location box cut before its coordinates")
        return
    role = data[pos]
    lon, lat, alt = (v / 65536.0 for v in struct.unpack_from(">iii", data, pos + 1))
    body, _ = _cstring(data, pos + 13)
    detail = {"alt": alt, "role": role, "body": body}
    if body and body.lower() not in ("earth", ""):
        out.invalid("3GPP:loci", f"coordinates on another astronomical body ({body})",
                    {**detail, "lat": lat, "lon": lon})
    else:
        # 16.16 fixed point: a step of 1/65536 degree, i.e. exact.
        out.position("3GPP:loci", lat, lon, detail=detail)
    if name:
        out.place_name("3GPP:loci:name", name, Granularity.STREET)


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    """A null-terminated UTF-8 or BOM-prefixed UTF-16 string and the offset after it."""
    if data[pos:pos + 2] in (b"\xfe\xff", b"\xff\xfe"):
        end = pos + 2
        while end + 1 < len(data) and data[end:end + 2] != b"\x00\x00":
            end += 2
        return data[pos:end].decode("utf-16", "replace"), min(end + 2, len(data))
    end = data.find(b"\x00", pos)
    if end < 0:
        end = len(data)
    return data[pos:end].decode("utf-8", "replace"), end + 1


# --- meta / keys / ilst ------------------------------------------------------------------------

def parse_meta(walker: Walker, meta: Box, where: str, depth: int) -> None:
    """A QuickTime ``meta`` (no version field) or an ISO ``meta`` (full box) with keys/ilst."""
    start = meta.payload
    if meta.payload_size >= 8:
        head = walker.src.read(start, 8)
        if head[4:8] not in (b"hdlr", b"keys", b"ilst") and head[:4] == b"\x00\x00\x00\x00":
            start += 4                         # ISO full box: skip version and flags
    keys: list[str] = []
    ilst: Box | None = None
    for box in walker.children(start, meta.end, depth, "meta"):
        if box.type == b"keys":
            data = walker.payload(box)
            if data is not None:
                keys = _parse_keys(data)
        elif box.type == b"ilst":
            ilst = box
        elif box.type == b"uuid":
            parse_uuid(walker, box, where)
    if ilst is not None:
        _parse_ilst(walker, ilst, keys, depth + 1)


def _parse_keys(data: bytes) -> list[str]:
    if len(data) < 8:
        return []
    count = struct.unpack_from(">I", data, 4)[0]
    keys: list[str] = []
    pos = 8
    while len(keys) < count and pos + 8 <= len(data):
        size = struct.unpack_from(">I", data, pos)[0]
        if size < 8 or pos + size > len(data):
            break
        keys.append(data[pos + 8:pos + size].decode("utf-8", "replace"))
        pos += size
    return keys


def _parse_ilst(walker: Walker, ilst: Box, keys: list[str], depth: int) -> None:
    out = walker.out
    for item in walker.children(ilst.payload, ilst.end, depth, "ilst"):
        index = struct.unpack(">I", item.type)[0]
        if 1 <= index <= len(keys):
            name = keys[index - 1]
        elif item.type == b"\xa9xyz":
            name = "©xyz"
        else:
            continue
        if not _is_location_key(name):
            continue
        data = walker.payload(item, MAX_TEXT)
        if data is None or len(data) < 16 or data[4:8] != b"data":
            continue
        value = _data_atom_text(data[8:])
        if name == "©xyz":
            report_iso6709(out, "QuickTime:ilst:©xyz", value)
        elif name in ISO6709_KEYS or name.lower().endswith("iso6709"):
            report_iso6709(out, f"QuickTime:keys:{name}", value)
        elif name in PLACE_KEYS:
            out.place_name(f"QuickTime:keys:{name}", value, PLACE_KEYS[name])


def _is_location_key(name: str) -> bool:
    return name == "©xyz" or "location" in name.lower() and name not in DETAIL_KEYS


def _data_atom_text(body: bytes) -> str:
    """The value of a ``data`` atom (after its size and type): type indicator, locale, value."""
    if len(body) < 8:
        return ""
    return body[8:].decode("utf-8", "replace")


# --- XMP ---------------------------------------------------------------------------------------

def parse_uuid(walker: Walker, box: Box, where: str) -> None:
    """A ``uuid`` box: only the XMP one (BE7ACFCB-97A9-42E8-9C71-999491E3AFAC) is read."""
    if box.payload_size < 16 or walker.src.read(box.payload, 16) != XMP_UUID:
        return
    data = walker.payload(box, MAX_XMP, skip=16)
    if data is not None:
        report_xmp(walker, data, f"{where}:XMP")


def report_xmp(walker: Walker, data: bytes, where: str) -> None:
    """Hand an XMP packet to the photo attacker's XMP parser."""
    try:
        from geoprivacy.attacks.metadata import xmp
    except ImportError:
        walker.warn_once(f"{where}: XMP packet not checked (XMP parser unavailable)")
        return
    xmp.parse_xmp(data, walker.out, where)
