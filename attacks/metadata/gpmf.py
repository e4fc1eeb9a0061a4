"""GoPro GPMF telemetry (the ``gpmd`` metadata track): GPS5 and GPS9 fixes as one track.

Hand-written: GPMF is a small KLV format (github.com/gopro/gpmf-parser, docs/README); reading it
here keeps every read bounded and lets us read only the metadata samples, never the video.

KLV: 4-byte key, 1-byte type (0 = nested), 1-byte struct size, 2-byte repeat (big-endian),
then ``size * repeat`` bytes padded to 4. In each stream (``STRM``):
``SCAL`` divides the values that follow, ``GPSF`` is the fix (0 none, 2 = 2D, 3 = 3D), ``GPSP``
the DOP * 100, ``GPSU`` the UTC time ``yymmddhhmmss.sss`` of the payload's first fix;
``GPS5`` rows are lat, lon, alt, 2D speed, 3D speed (int32);
``GPS9`` rows (layout in ``TYPE``, usually ``lllllllSS``) add days since 2000-01-01, seconds
since midnight, DOP and fix per row. The GoPro Karma drone writes ``GLPI`` ("Position") and
``GPRI`` ("GPS RAW") rows whose ``TYPE`` starts with a boot-clock time then lat, lon, alt;
its ``SYST`` pairs (boot seconds, Unix seconds) turn that clock into UTC.
"""

from __future__ import annotations

import calendar
import struct
from dataclasses import dataclass, field

from geoprivacy.attacks.metadata.isobmff import Track, Walker
from geoprivacy.tracks import Fix

MAX_NESTING = 8
MAX_FIXES = 2_000_000
EPOCH_2000 = 946_684_800.0

#: GPMF type character → struct format character (big-endian).
_TYPES = {"b": "b", "B": "B", "c": "c", "d": "d", "f": "f", "j": "q", "J": "Q", "l": "i",
          "L": "I", "s": "h", "S": "H", "F": "4s", "q": "i", "Q": "q"}


@dataclass
class _Stream:
    """State of one ``STRM`` while its keys are read."""

    scale: list[float] = field(default_factory=lambda: [1.0])
    type_def: str = ""
    fix: int | None = None
    dop: float | None = None
    utc: float | None = None


Row = tuple[str, float, float, float, "float | None", "int | None", "float | None"]


@dataclass
class Payload:
    """The rows one sample yielded: (key, lat, lon, alt, utc or None, fix, dop)."""

    rows: list[Row] = field(default_factory=list)
    utc: float | None = None
    boot_rows: list[tuple[int, float]] = field(default_factory=list)  # (row index, boot secs)
    clock_offset: float | None = None     # Unix seconds minus boot seconds (from SYST)
    problems: list[str] = field(default_factory=list)


def parse_track(walker: Walker, track: Track) -> None:
    """Read every GPMF sample of the track and report its GPS fixes as one track per key."""
    where = f"GPMF track {track.index}"
    by_kind: dict[str, list[Fix]] = {}
    fixes_seen = 0
    no_lock = 0
    for sample in walker.samples(track, where):
        payload = parse_payload(walker.sample_data(sample))
        for problem in payload.problems:
            walker.warn_once(f"{where}: {problem}")
        n = len(payload.rows)
        for i, (kind, lat, lon, alt, utc, fix, dop) in enumerate(payload.rows):
            if fixes_seen >= MAX_FIXES:
                break
            fixes_seen += 1
            if fix == 0:
                no_lock += 1   # no satellite lock: the value is stale or zero, not a position
                continue
            share = i / n
            if utc is None and payload.utc is not None:
                utc = payload.utc + share * (sample.duration or 0.0)
            when = utc if utc is not None else (
                None if sample.time is None else sample.time + share * (sample.duration or 0.0))
            extra: tuple[tuple[str, object], ...] = ()
            if fix is not None:
                extra += (("fix", f"{fix}D" if fix in (2, 3) else fix),)
            if dop is not None:
                extra += (("dop", dop),)
            by_kind.setdefault(kind, []).append(Fix(lat, lon, alt, when, extra))
    for kind, fixes in by_kind.items():
        detail = {"skipped_no_lock": no_lock} if no_lock else None
        walker.out.track(f"GPMF:{kind}", fixes, detail)
    if not by_kind and no_lock:
        walker.out.placeholder("GPMF:GPS", f"{no_lock} GPS values without satellite lock")


def parse_payload(data: bytes) -> Payload:
    """The GPS rows of one GPMF payload (a ``DEVC`` tree)."""
    payload = Payload()
    _walk(data, 0, len(data), 0, payload, None)
    if payload.clock_offset is not None:
        for index, boot in payload.boot_rows:
            row = payload.rows[index]
            payload.rows[index] = row[:4] + (boot + payload.clock_offset,) + row[5:]
    return payload


def _walk(data: bytes, start: int, end: int, depth: int, payload: Payload,
          stream: _Stream | None) -> None:
    if depth > MAX_NESTING:
        payload.problems.append("GPMF nested too deeply")
        return
    pos = start
    while pos + 8 <= end:
        key = data[pos:pos + 4]
        kind, size, repeat = struct.unpack_from(">cBH", data, pos + 4)
        length = size * repeat
        body = pos + 8
        if body + length > end:
            payload.problems.append(f"GPMF key {key!r} runs past its container")
            return
        if kind == b"\x00":
            _walk(data, body, body + length, depth + 1, payload,
                  _Stream() if key == b"STRM" else stream)
        elif stream is not None:
            _key(key, kind.decode("latin-1"), size, repeat, data[body:body + length], stream,
                 payload)
        pos = body + ((length + 3) & ~3)


def _values(kind: str, size: int, repeat: int, raw: bytes) -> list[tuple]:
    code = _TYPES.get(kind)
    if code is None:
        return []
    width = struct.calcsize(code)
    per_row = size // width if width else 0
    if per_row == 0:
        return []
    fmt = ">" + code * per_row
    step = size
    return [struct.unpack_from(fmt, raw, i * step) for i in range(repeat)
            if (i + 1) * step <= len(raw)]


def _key(key: bytes, kind: str, size: int, repeat: int, raw: bytes, stream: _Stream,
         payload: Payload) -> None:
    if key == b"SCAL":
        values = [float(v) for row in _values(kind, size, repeat, raw) for v in row]
        stream.scale = [v if v else 1.0 for v in values] or [1.0]
    elif key == b"TYPE":
        stream.type_def = raw.split(b"\x00", 1)[0].decode("latin-1")
    elif key == b"GPSF":
        rows = _values(kind, size, repeat, raw)
        stream.fix = int(rows[0][0]) if rows else None
    elif key == b"GPSP":
        rows = _values(kind, size, repeat, raw)
        stream.dop = rows[0][0] / 100.0 if rows else None
    elif key == b"GPSU":
        stream.utc = parse_gpsu(raw)
        payload.utc = stream.utc
    elif key == b"GPS5":
        for row in _values(kind, size, repeat, raw):
            if len(row) >= 3:
                lat, lon, alt = (row[j] / _scale(stream.scale, j) for j in range(3))
                payload.rows.append(("GPS5", lat, lon, alt, None, stream.fix, stream.dop))
    elif key == b"GPS9":
        _gps9(kind, size, repeat, raw, stream, payload)
    elif key in (b"GLPI", b"GPRI"):
        _karma(key.decode("latin-1"), size, repeat, raw, stream, payload)
    elif key == b"SYST":
        rows = _typed_rows(stream, size, repeat, raw, payload, "SYST")
        if rows and len(rows[0]) >= 2 and rows[0][1] > 0:
            payload.clock_offset = rows[0][1] - rows[0][0]


def _typed_rows(stream: _Stream, size: int, repeat: int, raw: bytes, payload: Payload,
                name: str, default: str = "") -> list[list[float]]:
    """Rows of a ``?``-typed key, laid out by the stream's ``TYPE`` and divided by ``SCAL``."""
    layout = stream.type_def or default
    try:
        fmt = ">" + "".join(_TYPES[c] for c in layout)
    except KeyError:
        payload.problems.append(f"{name} layout {layout!r} not understood")
        return []
    if not layout or struct.calcsize(fmt) != size:
        payload.problems.append(f"{name} layout {layout!r} does not match its {size}-byte rows")
        return []
    rows = []
    for i in range(repeat):
        if (i + 1) * size > len(raw):
            break
        row = struct.unpack_from(fmt, raw, i * size)
        rows.append([float(row[j]) / _scale(stream.scale, j) for j in range(len(row))])
    return rows


def _gps9(kind: str, size: int, repeat: int, raw: bytes, stream: _Stream,
          payload: Payload) -> None:
    if kind != "?":
        stream.type_def = ""
    for v in _typed_rows(stream, size, repeat, raw, payload, "GPS9", "lllllllSS"):
        if len(v) < 7:
            payload.problems.append("GPS9 rows have fewer than 7 fields")
            return
        utc = EPOCH_2000 + v[5] * 86400.0 + v[6]
        dop = v[7] if len(v) > 7 else stream.dop
        fix = int(v[8]) if len(v) > 8 else stream.fix
        payload.rows.append(("GPS9", v[0], v[1], v[2], utc, fix, dop))


def _karma(key: str, size: int, repeat: int, raw: bytes, stream: _Stream,
           payload: Payload) -> None:
    """Karma ``GLPI``/``GPRI``: boot time, lat, lon, alt, … (``GPRI`` has the fix type at 8)."""
    for v in _typed_rows(stream, size, repeat, raw, payload, key):
        if len(v) < 4:
            payload.problems.append(f"{key} rows have fewer than 4 fields")
            return
        fix = int(v[8]) if key == "GPRI" and len(v) > 8 else None
        payload.boot_rows.append((len(payload.rows), v[0]))
        payload.rows.append((key, v[1], v[2], v[3], None, fix, None))


def _scale(scale: list[float], column: int) -> float:
    return scale[column] if column < len(scale) else scale[-1]


def parse_gpsu(raw: bytes) -> float | None:
    """``yymmddhhmmss.sss`` (UTC) to Unix seconds, or None when it is not a date."""
    text = raw[:16].decode("latin-1", "replace")
    try:
        year, month, day = 2000 + int(text[0:2]), int(text[2:4]), int(text[4:6])
        hour, minute = int(text[6:8]), int(text[8:10])
        seconds = float(text[10:16])
    except ValueError:
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and seconds < 61):
        return None
    return calendar.timegm((year, month, day, hour, minute, 0, 0, 0, 0)) + seconds
