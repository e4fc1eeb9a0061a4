"""DJI ``djmd`` timed metadata (Osmo Action, Osmo 360, Avata, Neo, Mini, Air, Mavic, Matrice):
GPS fixes as one track.

Each sample is one protobuf message, ``ProductMeta``: 1 clip meta (whose header's field 1 names
the product ``.proto`` file, the *protocol*; usually only in the first sample, so it carries over
to the samples after it), 2 stream meta, 3 frame meta. Where the GPS sits inside the frame meta
depends on the protocol; ``PROTOCOLS`` follows exiftool's DJI.pm protobuf tables (2024-12 on).
The GPS message is DJI's ``GpsBasic`` (dvtm_library.proto, as published in gyroflow's
telemetry-parser): 1 ``PositionCoord`` {1 unit: 0 radians (the proto3 default, so usually
absent), 1 degrees; 2 latitude, 3 longitude: doubles, WGS-84}, 2 altitude in mm (int32),
3 status (1 = invalid), 6 ``GpsTime`` {1 "YYYY-MM-DD HH-MM-SS"}.

The wire format is read by ``protobuf`` (schema-less: DJI publishes no .proto for most
models). Lookups follow fixed field paths, so hostile nesting costs nothing: no recursion, and
values are views (only a message written twice is joined into one copy).
"""

from __future__ import annotations

import calendar
import math
import re
import struct
from dataclasses import dataclass, field
from typing import Any, Sequence

from geoprivacy.attacks.metadata.isobmff import Track, Walker
from geoprivacy.attacks.metadata.protobuf import I64, LEN, ProtobufError, fields
from geoprivacy.tracks import Fix

MAX_FIXES = 2_000_000
MAX_DEPTH = 16                  # longest field path looked up
MAX_NAME = 64                   # characters kept of a protocol or model name

GpsPath = tuple[int, ...]


@dataclass(frozen=True)
class Layout:
    """Where one protocol keeps ``GpsBasic`` (None: it has no GPS) and whether its coordinates
    are degrees whatever the unit field says (exiftool forces this for Mavic 4 and Mini 5)."""

    gps: GpsPath | None
    degrees: bool = False


_ACTION = Layout((3, 4, 2))     # FrameMeta 3 → FrameMetaOfGps 4 → GpsBasic 2
_FPV = Layout((3, 4, 4))
_DRONE = Layout((3, 3, 4))

#: Known protocols (exiftool DJI.pm ``%knownProtocol`` and its ``dvtm_*`` GPS tags).
PROTOCOLS: dict[str, Layout] = {
    "dvtm_ac203.proto": _ACTION,                 # Osmo Action 4
    "dvtm_ac204.proto": _ACTION,                 # Osmo Action 5 Pro
    "dvtm_ac206.proto": _ACTION,                 # Osmo Action 6
    "dvtm_oq101.proto": _ACTION,                 # Osmo 360
    "dvtm_AVATA2.proto": _FPV,                   # Avata 2
    "dvtm_dji_neo.proto": _FPV,                  # Neo
    "dvtm_wm265e.proto": _DRONE,                 # Mavic 3
    "dvtm_wm261.proto": _DRONE,                  # Mavic 3 Pro
    "dvtm_pm320.proto": _DRONE,                  # Matrice 30
    "dvtm_wa345e.proto": _DRONE,                 # Matrice 4E
    "dvtm_Mini4_Pro.proto": _DRONE,              # Mini 4 Pro
    "dvtm_Air3.proto": _DRONE,                   # Air 3
    "dvtm_Air3s.proto": _DRONE,                  # Air 3S
    "dvtm_Mavic4.proto": Layout((3, 3, 4), degrees=True),     # Mavic 4 Pro
    "dvtm_Mini5Pro.proto": Layout((3, 3, 4), degrees=True),   # Mini 5 Pro
    "dvtm_PP-101.proto": Layout(None),           # Osmo Pocket 3: no GPS field
}
#: Tried when the protocol is unknown or has no GPS field: a position found there is reported
#: (the file still says what was not decoded).
PROBE_PATHS: tuple[GpsPath, ...] = (_ACTION.gps or (), _FPV.gps or (), _DRONE.gps or ())

_GPS_TIME = re.compile(rb"(\d{4})\D(\d{1,2})\D(\d{1,2})\D+(\d{1,2})\D(\d{1,2})\D(\d{1,2})")
_NAME_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


Value = tuple[int, "int | memoryview"]    # (wire type, value)


def find_all(data: bytes | memoryview, path: Sequence[int]) -> list[Value]:
    """Every occurrence of the field at ``path`` (field numbers from the top message). Every
    occurrence of each parent is walked: protobuf merges a message field written twice."""
    if len(path) > MAX_DEPTH:
        raise ValueError(f"field path deeper than {MAX_DEPTH}")
    level: list[Value] = [(LEN, memoryview(data))]
    for number in path:
        level = [(kind, item) for wire, value in level
                 if wire == LEN and not isinstance(value, int)
                 for num, kind, item in fields(value) if num == number]
        if not level:
            break
    return level


def find(data: bytes | memoryview, path: Sequence[int]) -> Value | None:
    """The field at ``path`` as a scalar (the last occurrence wins, as in decoders), or None."""
    found = find_all(data, path)
    return found[-1] if found else None


def message(data: bytes | memoryview, path: Sequence[int]) -> memoryview | None:
    """The message at ``path``, its occurrences merged (concatenated, which is protobuf's merge);
    None when absent. Raises ProtobufError when the field is there but not length-delimited."""
    found = find_all(data, path)
    if not found:
        return None
    parts = [value for _, value in found if not isinstance(value, int)]
    if len(parts) != len(found) or any(wire != LEN for wire, _ in found):
        raise ProtobufError(f"field {'-'.join(map(str, path))} is not a message")
    return parts[0] if len(parts) == 1 else memoryview(b"".join(parts))


def to_signed(value: int) -> int:
    """A varint as int64 (int32 negatives are sign-extended to 64 bits on the wire)."""
    return value - (1 << 64) if value >= 1 << 63 else value


# --- DJI messages -----------------------------------------------------------------------------

@dataclass
class Reading:
    """What one sample gave: its protocol (if named), model, and GPS record."""

    protocol: str | None = None
    model: str | None = None
    gps_found: bool = False          # a GpsBasic message was present
    fix: Fix | None = None
    status_invalid: bool = False
    units_guessed: bool = False


def decode_sample(data: bytes, protocol: str | None, media_time: float | None) -> Reading:
    """Decode one djmd sample; ``protocol`` is the one named by an earlier sample (if any).

    Raises ProtobufError when the sample is not protobuf where we read it.
    """
    header = _last(message(data, (1, 1)))
    reading = Reading(protocol=_protocol(data, header), model=_text(header.get(10)))
    layout = PROTOCOLS.get(reading.protocol or protocol or "")
    if layout is not None and layout.gps is not None:
        gps, degrees = message(data, layout.gps), layout.degrees
    else:
        gps, degrees = _probe(data), False
    if gps is not None:
        reading.gps_found = True
        _read_gps(gps, degrees, media_time, reading)
    return reading


def _last(msg: memoryview | None) -> dict[int, Value]:
    """Each field of a message by number, the last occurrence winning (scalars)."""
    return {} if msg is None else {num: (kind, value) for num, kind, value in fields(msg)}


def _protocol(data: bytes, header: dict[int, Value]) -> str | None:
    """The product ``.proto`` name: clip header field 1-1-1, else any such name in the bytes
    (exiftool takes any string ending in ``.proto``)."""
    name = _text(header.get(1))
    if name and name.endswith(".proto"):
        return name
    at = data.find(b".proto")
    start = at
    while start > 0 and at - start < MAX_NAME and data[start - 1] in _NAME_CHARS:
        start -= 1
    return data[start:at + 6].decode("ascii") if at > start else None


def _probe(data: bytes) -> memoryview | None:
    """The first known GPS layout whose message has a double latitude and longitude."""
    for path in PROBE_PATHS:
        try:
            gps = message(data, path)
            coord = message(gps, (1,)) if gps is not None else None
            if coord is None:
                continue
            lat, lon = find(coord, (2,)), find(coord, (3,))
        except ProtobufError:
            continue
        if lat is not None and lon is not None and lat[0] == lon[0] == I64:
            return gps
    return None


def _read_gps(gps: memoryview, degrees: bool, media_time: float | None,
              reading: Reading) -> None:
    """A GpsBasic message into ``reading.fix`` (None when it holds no position)."""
    coord_msg = message(gps, (1,))
    if coord_msg is None:
        return
    coord, top = _last(coord_msg), _last(gps)
    lat, lon = _double(coord.get(2)), _double(coord.get(3))
    if lat == 0.0 and lon == 0.0:
        return   # proto3 leaves zero doubles out: no position
    unit = coord.get(1)
    if not degrees and not (unit is not None and unit[1] == 1):
        if abs(lat) <= math.pi / 2 and abs(lon) <= math.pi:
            lat, lon = math.degrees(lat), math.degrees(lon)
        else:
            reading.units_guessed = True   # impossible as radians: read them as degrees
    status = top.get(3)
    reading.status_invalid = status is not None and status[1] == 1
    alt = top.get(2)
    altitude = to_signed(alt[1]) / 1000.0 if alt is not None and isinstance(alt[1], int) \
        else None
    when = _gps_time(top.get(6))
    reading.fix = Fix(lat, lon, altitude, when if when is not None else media_time)


def _double(hit: Value | None) -> float:
    if hit is None or hit[0] != I64 or isinstance(hit[1], int):
        return 0.0
    return float(struct.unpack("<d", hit[1])[0])


def _text(hit: Value | None) -> str | None:
    """A short printable string field, or None."""
    if hit is None or hit[0] != LEN or isinstance(hit[1], int) or not 0 < len(hit[1]) <= 256:
        return None
    raw = bytes(hit[1])
    if any(b < 0x20 or b > 0x7E for b in raw):
        return None
    return raw.decode("ascii")[:MAX_NAME]


def _gps_time(hit: Value | None) -> float | None:
    """``GpsTime`` {1 "YYYY-MM-DD HH-MM-SS"} (UTC) as Unix seconds; the bare text is accepted
    too. None when absent or not a date: a damaged time never costs the position."""
    if hit is None or isinstance(hit[1], int):
        return None
    raw = bytes(hit[1][:64])
    try:
        inner = find(raw, (1,))
    except ProtobufError:
        inner = None
    if inner is not None and not isinstance(inner[1], int):
        raw = bytes(inner[1][:64])
    match = _GPS_TIME.match(raw)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    if not (2000 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31 and hour < 24
            and minute < 60 and second < 61):
        return None
    try:
        return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))
    except (OverflowError, ValueError):
        return None


# --- the track --------------------------------------------------------------------------------

@dataclass
class _TrackState:
    protocol: str | None = None
    model: str | None = None
    samples: int = 0
    damaged: int = 0
    no_fix: int = 0
    status_invalid: int = 0
    units_guessed: int = 0
    fixes: list[Fix] = field(default_factory=list)


def parse_track(walker: Walker, track: Track) -> None:
    """Read every djmd sample of the track and report its GPS fixes as one track."""
    where = f"DJI djmd track {track.index}"
    state = _TrackState()
    for sample in walker.samples(track, where):
        state.samples += 1
        try:
            reading = decode_sample(walker.sample_data(sample), state.protocol, sample.time)
        except ProtobufError:
            state.damaged += 1
            continue
        _add(state, reading)
    _report(walker, where, state)


def _add(state: _TrackState, reading: Reading) -> None:
    state.protocol = reading.protocol or state.protocol
    state.model = reading.model or state.model
    if reading.fix is None:
        state.no_fix += reading.gps_found
        return
    state.status_invalid += reading.status_invalid
    state.units_guessed += reading.units_guessed
    if len(state.fixes) < MAX_FIXES:
        state.fixes.append(reading.fix)


def _report(walker: Walker, where: str, state: _TrackState) -> None:
    layout = PROTOCOLS.get(state.protocol or "")
    if state.fixes or state.no_fix:
        detail: dict[str, Any] = {"protocol": state.protocol}
        if state.model:
            detail["model"] = state.model
        if layout is None or layout.gps is None:
            detail["layout"] = "guessed"   # found by probing the known layouts
        counts = (("skipped_no_fix", state.no_fix), ("gps_status_invalid", state.status_invalid),
                  ("degrees_though_flagged_radians", state.units_guessed))
        detail.update((key, n) for key, n in counts if n)
        if state.fixes:
            walker.out.track("DJI:djmd", state.fixes, detail)
        else:
            walker.out.placeholder("DJI:djmd", f"{state.no_fix} GPS records without a position",
                                   detail)
    if state.damaged:
        walker.warn_once(f"{where}: {state.damaged} of {state.samples} samples are not valid "
                         "protobuf: not read")
    if state.samples and state.protocol is None:
        walker.warn_once(f"{where}: no protocol name (.proto) in its samples: GPS not decoded")
    elif state.protocol is not None and layout is None:
        walker.warn_once(f"{where}: protocol {state.protocol!r} not decoded (unknown DJI model)")
