"""GPS written as text into a movie's subtitle track (``tx3g``/mov_text, QuickTime ``text``).

Many dashcams and drones burn their GPS into a subtitle track instead of a metadata box:
NMEA sentences (``$GPRMC``, ``$GPGGA``, read by the NMEA sidecar parser), DJI-style
``[latitude: …] [longitude: …]`` fields,
the older DJI ``GPS(lon, lat, alt)`` (longitude first), or plain ``N22.5431 E113.9542`` /
``22.543100, 113.954200`` pairs. Each text sample is read through the sample table (never the
video) and every position becomes a fix of one track per text flavour.
"""

from __future__ import annotations

import re
import struct

from geoprivacy.attacks.metadata.isobmff import Track, Walker
from geoprivacy.tracks import Fix

TEXT_FORMATS = {b"tx3g", b"text"}
TEXT_HANDLERS = {b"sbtl", b"subt", b"text"}
MAX_FIXES = 2_000_000

_DJI_LAT = re.compile(r"latitude\s*[:=]\s*(-?\d+(?:\.\d+)?)", re.I)
_DJI_LON = re.compile(r"long(?:i)?tude\s*[:=]\s*(-?\d+(?:\.\d+)?)", re.I)
_DJI_ALT = re.compile(r"(?:rel_alt|abs_alt|altitude)\s*[:=]\s*(-?\d+(?:\.\d+)?)", re.I)
_NUM = r"(-?\d+(?:\.\d+)?)"
_DJI_OLD = re.compile(rf"GPS\s*\(\s*{_NUM}\s*,\s*{_NUM}\s*(?:,\s*{_NUM})?")
_HEMI = re.compile(r"([NS])\s*:?\s*(\d{1,2}\.\d{3,})\W{0,3}([EW])\s*:?\s*(\d{1,3}\.\d{3,})")
_PAIR = re.compile(r"(?<![\d.])(-?\d{1,2}\.\d{4,})\s*,\s*(-?\d{1,3}\.\d{4,})(?![\d.])")


def parse_track(walker: Walker, track: Track) -> None:
    where = f"text track {track.index}"
    tracks: dict[str, list[Fix]] = {}
    for sample in walker.samples(track, where):
        text = sample_text(walker.sample_data(sample))
        if not text:
            continue
        for flavour, fix in fixes_from_text(text, sample.time):
            found = tracks.setdefault(flavour, [])
            if len(found) < MAX_FIXES:
                found.append(fix)
    for flavour, fixes in tracks.items():
        walker.out.track(f"Subtitle:{flavour}", fixes, {"track": track.index})


def sample_text(data: bytes) -> str:
    """A tx3g/text sample: 16-bit length, then UTF-8 (or UTF-16 with a BOM) text."""
    if len(data) < 2:
        return ""
    length = struct.unpack_from(">H", data, 0)[0]
    raw = data[2:2 + length]
    if raw[:2] in (b"\xfe\xff", b"\xff\xfe"):
        return raw.decode("utf-16", "replace")
    return raw.decode("utf-8", "replace")


def fixes_from_text(text: str, media_time: float | None) -> list[tuple[str, Fix]]:
    """Every position one text sample states, with the flavour it was written in."""
    if "$" in text:
        from geoprivacy.attacks.metadata.nmea import parse_nmea_lines
        fixes = parse_nmea_lines(text.splitlines())
        if fixes:   # undated NMEA times are seconds of a day: the media clock says more
            return [("NMEA", fix if fix.time is not None and fix.time > 1e8 else
                     Fix(fix.lat, fix.lon, fix.alt, media_time, fix.extra)) for fix in fixes]
    lat, lon = _DJI_LAT.search(text), _DJI_LON.search(text)
    if lat and lon:
        alt = _DJI_ALT.search(text)
        return [("DJI", Fix(float(lat.group(1)), float(lon.group(1)),
                            float(alt.group(1)) if alt else None, media_time))]
    old = _DJI_OLD.search(text)
    if old:   # DJI's old layout writes longitude first
        alt = float(old.group(3)) if old.group(3) else None
        return [("DJI", Fix(float(old.group(2)), float(old.group(1)), alt, media_time))]
    hemi = _HEMI.search(text)
    if hemi:
        lat_v = float(hemi.group(2)) * (-1 if hemi.group(1) == "S" else 1)
        lon_v = float(hemi.group(4)) * (-1 if hemi.group(3) == "W" else 1)
        return [("text", Fix(lat_v, lon_v, None, media_time))]
    pair = _PAIR.search(text)
    if pair:
        return [("text", Fix(float(pair.group(1)), float(pair.group(2)), None, media_time))]
    return []
