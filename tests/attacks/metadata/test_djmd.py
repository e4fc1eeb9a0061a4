"""DJI djmd tracks: protobuf samples written here with the field paths of exiftool's DJI.pm.

We have no real DJI file: every sample below is encoded by the tiny encoder in this file,
following exiftool's ``dvtm_*`` tag paths and DJI's ``GpsBasic``/``PositionCoord`` messages.
"""

from __future__ import annotations

import json
import math
import random
import struct
import time
from pathlib import Path

import pytest

from geoprivacy.attacks.metadata import djmd
from geoprivacy.attacks.metadata.djmd import ProtobufError, decode_sample, fields, find
from geoprivacy.types import EvidenceKind
from tests.attacks.metadata.bmffbuild import locations, movie_with_samples, only, read_bmff, \
    sample_entry
from tests.geoprivacy.test_cli_audit import cli

LAUSANNE = (46.519700, 6.632300)
SANTIAGO = (-33.448900, -70.669300)


# --- a minimal protobuf encoder (protobuf.dev/programming-guides/encoding) ------------------

def varint(value: int) -> bytes:
    value &= (1 << 64) - 1           # negatives as 64-bit two's complement, like int32/int64
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def f_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def f_double(number: int, value: float) -> bytes:
    return varint(number << 3 | 1) + struct.pack("<d", value)


def f_bytes(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def nested(path: tuple[int, ...], payload: bytes) -> bytes:
    """``payload`` as the body of the message at ``path`` (field numbers from the top)."""
    for number in reversed(path):
        payload = f_bytes(number, payload)
    return payload


def gps_basic(lat: float, lon: float, *, degrees: bool | None = None, alt_mm: int | None = None,
              when: str | None = None, status: int | None = None) -> bytes:
    """DJI GpsBasic: 1 PositionCoord {1 unit (absent = radians), 2 lat, 3 lon}, 2 altitude mm,
    3 status, 6 GpsTime {1 text}. Radians unless ``degrees``, as the unit field says."""
    scale = 1.0 if degrees else math.pi / 180
    coord = b"" if degrees is None else f_varint(1, int(degrees))
    if (lat, lon) != (0.0, 0.0):
        coord += f_double(2, lat * scale) + f_double(3, lon * scale)
    body = f_bytes(1, coord)
    if alt_mm is not None:
        body += f_varint(2, alt_mm)
    if status is not None:
        body += f_varint(3, status)
    if when is not None:
        body += f_varint(5, 1) + f_bytes(6, f_bytes(1, when.encode()))
    return body


def sample(gps_path: tuple[int, ...] | None, gps: bytes = b"", protocol: str | None = None,
           model: str = "", frame: int = 1) -> bytes:
    """One ProductMeta: clip header (when ``protocol``), frame header, and GPS at ``gps_path``."""
    out = b""
    if protocol is not None:
        header = f_bytes(1, protocol.encode()) + f_bytes(2, b"02.01.15")
        if model:
            header += f_bytes(10, model.encode())
        out += nested((1, 1), header)
    out += nested((3, 1), f_varint(1, frame) + f_varint(2, 1_000_000 * frame))
    out += nested((3, 2, 3), struct.pack("<Bf", 0x0D, 100.0))   # ISO, a float in a message
    if gps_path is not None:
        out += nested(gps_path, gps)
    return out


def dji_movie(samples: list[bytes], fmt: bytes = b"djmd") -> bytes:
    return movie_with_samples(b"meta", sample_entry(fmt), samples)


def track_of(protocol: str, path: tuple[int, ...], points: list[tuple[float, float]],
             **gps: object) -> list[bytes]:
    """The protocol in the first sample only (as DJI writes it), a fix in every sample."""
    return [sample(path, gps_basic(lat, lon, **gps),  # type: ignore[arg-type]
                   protocol if i == 0 else None, "Test Model", i + 1)
            for i, (lat, lon) in enumerate(points)]


# --- decoding known protocols -----------------------------------------------------------------

def test_osmo_action4_radians_altitude_and_gps_time() -> None:
    """dvtm_ac203: GPSInfo at 3-4-2-1, altitude (mm) 3-4-2-2, time 3-4-2-6-1; unit absent."""
    points = [LAUSANNE, (46.5198, 6.6324), (46.5199, 6.6325)]
    samples = track_of("dvtm_ac203.proto", (3, 4, 2), points, alt_mm=372_500,
                       when="2024-12-04 10-11-12")
    container, out, errors, _ = read_bmff(dji_movie(samples))
    assert container == "MP4" and not errors
    ev = only(out, "DJI:djmd")
    assert ev.kind is EvidenceKind.TRACK
    assert (ev.lat, ev.lon) == pytest.approx(LAUSANNE, abs=1e-9)
    assert ev.detail["protocol"] == "dvtm_ac203.proto" and ev.detail["model"] == "Test Model"
    summary = ev.detail["track"]
    assert summary["count"] == 3
    assert summary["first"]["alt"] == pytest.approx(372.5)
    assert summary["first"]["time_iso"] == "2024-12-04T10:11:12Z"


def test_mini4_pro_degrees_and_negative_altitude() -> None:
    """dvtm_Mini4_Pro: GPSInfo at 3-3-4-1 with the unit field set to degrees."""
    samples = track_of("dvtm_Mini4_Pro.proto", (3, 3, 4), [SANTIAGO, (-33.4490, -70.6694)],
                       degrees=True, alt_mm=-12_000)
    _, out, errors, _ = read_bmff(dji_movie(samples))
    assert not errors
    ev = only(out, "DJI:djmd")
    assert (ev.lat, ev.lon) == pytest.approx(SANTIAGO, abs=1e-12)
    summary = ev.detail["track"]
    assert summary["count"] == 2 and summary["first"]["alt"] == pytest.approx(-12.0)
    assert summary["first"]["time"] == 0.0 and summary["last"]["time"] == 1.0   # media time


def test_avata2_layout() -> None:
    """dvtm_AVATA2: GPSInfo at 3-4-4-1."""
    samples = track_of("dvtm_AVATA2.proto", (3, 4, 4), [LAUSANNE])
    _, out, errors, _ = read_bmff(dji_movie(samples))
    assert not errors
    assert (only(out, "DJI:djmd").lat, only(out, "DJI:djmd").lon) == pytest.approx(LAUSANNE)


def test_mavic4_coordinates_are_degrees_without_a_unit_field() -> None:
    """exiftool forces degrees for dvtm_Mavic4 (and Mini 5 Pro) whatever the unit says; the
    place is one whose degrees would also pass for radians (Gulf of Guinea)."""
    place = (1.2345, 0.8765)
    samples = [sample((3, 3, 4), f_bytes(1, f_double(2, place[0]) + f_double(3, place[1])),
                      "dvtm_Mavic4.proto")]
    _, out, errors, _ = read_bmff(dji_movie(samples))
    assert not errors
    assert (only(out, "DJI:djmd").lat, only(out, "DJI:djmd").lon) == pytest.approx(place)


def test_known_protocol_at_another_layout_is_not_read_as_gps() -> None:
    """The path comes from the protocol: an Action 4 sample has no GPS at the drone path."""
    reading = decode_sample(sample((3, 3, 4), gps_basic(*LAUSANNE), "dvtm_ac203.proto"), None, 0.0)
    assert reading.protocol == "dvtm_ac203.proto" and reading.fix is None


def test_a_message_written_twice_is_merged() -> None:
    """Protobuf merges repeated occurrences of a message field: GPS in the first FrameMeta
    (field 3) and a second FrameMeta after it, coordinates split over two PositionCoords."""
    split = f_bytes(1, f_double(2, math.radians(LAUSANNE[0]))) \
        + f_bytes(1, f_double(3, math.radians(LAUSANNE[1])))
    data = sample((3, 4, 2), split, "dvtm_ac203.proto") + nested((3, 2, 6), f_varint(1, 5600))
    reading = decode_sample(data, None, 0.0)
    assert reading.fix is not None
    assert (reading.fix.lat, reading.fix.lon) == pytest.approx(LAUSANNE)


def test_gps_time_as_bare_text_and_a_bad_time_keeps_the_position() -> None:
    coord = f_bytes(1, f_varint(1, 1) + f_double(2, LAUSANNE[0]) + f_double(3, LAUSANNE[1]))
    bare = sample((3, 4, 2), coord + f_bytes(6, b"2024-12-04 10:11:12"), "dvtm_ac203.proto")
    fix = decode_sample(bare, None, 7.0).fix
    assert fix is not None and fix.time == 1733307072.0
    bad = sample((3, 4, 2), coord + f_bytes(6, f_bytes(1, b"1999-99-99 99-99-99")),
                 "dvtm_ac203.proto")
    fix = decode_sample(bad, None, 7.0).fix
    assert fix is not None and fix.time == 7.0 and fix.lat == LAUSANNE[0]


def test_radians_flag_with_degree_values_is_read_as_degrees() -> None:
    gps = f_bytes(1, f_double(2, LAUSANNE[0] * 2) + f_double(3, 120.0))   # 93°: not radians
    reading = decode_sample(sample((3, 4, 2), gps, "dvtm_ac204.proto"), None, None)
    assert reading.fix is not None and reading.units_guessed
    assert (reading.fix.lat, reading.fix.lon) == (LAUSANNE[0] * 2, 120.0)


def test_no_position_is_a_placeholder_not_a_leak_and_not_a_warning() -> None:
    samples = track_of("dvtm_ac203.proto", (3, 4, 2), [(0.0, 0.0)] * 3, status=1)
    _, out, errors, _ = read_bmff(dji_movie(samples))
    assert not errors and not locations(out)
    ev = only(out, "DJI:djmd")
    assert ev.kind is EvidenceKind.PLACEHOLDER and ev.detail["skipped_no_fix"] == 3


def test_gps_status_invalid_with_a_position_is_still_reported() -> None:
    samples = track_of("dvtm_wm265e.proto", (3, 3, 4), [LAUSANNE], status=1)
    _, out, _, _ = read_bmff(dji_movie(samples))
    ev = only(out, "DJI:djmd")
    assert ev.kind is EvidenceKind.TRACK and ev.detail["gps_status_invalid"] == 1


def test_known_protocol_without_gps_is_honestly_clean() -> None:
    """Osmo Pocket 3 (dvtm_PP-101) has no GPS field: nothing found, nothing left unchecked."""
    samples = [sample(None, protocol="dvtm_PP-101.proto", frame=i) for i in range(3)]
    _, out, errors, _ = read_bmff(dji_movie(samples))
    assert not errors and not out.evidence


def test_dbgi_debug_track_is_ignored() -> None:
    _, out, errors, _ = read_bmff(dji_movie([b"\xff" * 40], fmt=b"dbgi"))
    assert not errors and not out.evidence


# --- what is not decoded is never clean -------------------------------------------------------

def test_unknown_protocol_is_not_checked() -> None:
    samples = [sample((3, 9, 9), f_double(1, 1.0), "dvtm_future99.proto", frame=i)
               for i in range(3)]
    _, out, errors, _ = read_bmff(dji_movie(samples))
    assert not locations(out)
    assert any("'dvtm_future99.proto' not decoded" in e for e in errors), errors


def test_unknown_protocol_with_gps_at_a_known_layout_leaks_and_warns() -> None:
    samples = track_of("dvtm_ow001.proto", (3, 4, 2), [LAUSANNE, LAUSANNE])
    _, out, errors, _ = read_bmff(dji_movie(samples))
    ev = only(out, "DJI:djmd")
    assert ev.kind is EvidenceKind.TRACK and ev.detail["layout"] == "guessed"
    assert (ev.lat, ev.lon) == pytest.approx(LAUSANNE)
    assert any("not decoded" in e for e in errors)


def test_samples_without_a_protocol_name_are_not_checked() -> None:
    samples = [nested((3, 1), f_varint(1, i)) for i in range(1, 4)]
    _, out, errors, _ = read_bmff(dji_movie(samples))
    assert not out.evidence and any("no protocol name" in e for e in errors), errors


def test_protocol_found_outside_the_clip_header() -> None:
    """exiftool takes any ``.proto`` string; so do we when field 1-1-1 is not it."""
    first = nested((1, 7), b"dvtm_ac203.proto") + nested((3, 4, 2), gps_basic(*LAUSANNE))
    _, out, errors, _ = read_bmff(dji_movie([first]))
    assert not errors and only(out, "DJI:djmd").detail["protocol"] == "dvtm_ac203.proto"


def test_damaged_samples_are_not_checked() -> None:
    samples = [sample(None, protocol="dvtm_ac203.proto"), b"\x1a\xff\xff\x03abc"]
    _, out, errors, _ = read_bmff(dji_movie(samples))
    assert not out.evidence and any("1 of 2 samples are not valid protobuf" in e for e in errors)


# --- through the CLI --------------------------------------------------------------------------

def test_cli_reports_the_leak_and_the_unknown_protocol(tmp_path: Path) -> None:
    leak = tmp_path / "DJI_20241204101112_0001_D.MP4"
    leak.write_bytes(dji_movie(track_of("dvtm_ac203.proto", (3, 4, 2), [LAUSANNE] * 2)))
    out = cli("audit", str(leak))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "LEAKS" in out.stdout and "DJI:djmd" in out.stdout
    assert "46.519700, 6.632300" in out.stdout

    unknown = tmp_path / "DJI_unknown.MP4"
    unknown.write_bytes(dji_movie([sample(None, protocol="dvtm_future99.proto")] * 2))
    out = cli("audit", str(unknown))
    assert out.returncode == 3, out.stdout + out.stderr
    assert "NOT CHECKED" in out.stdout and "clean" not in out.stdout


# --- hostile bytes ----------------------------------------------------------------------------

@pytest.mark.parametrize("data, problem", [
    (b"\x08", "cut off"),                                 # varint value missing
    (b"\x08" + b"\xff" * 11, "longer than 10"),            # 11-byte varint
    (b"\x1a\x05ab", "past its message"),                  # length past the end
    (b"\x1a" + varint(1 << 63), "past its message"),       # huge length: no allocation
    (b"\x09\x00\x00", "past its message"),                # 64-bit value cut off
    (b"\x0d\x00", "past its message"),                    # 32-bit value cut off
    (b"\x0b", "wire type 3"), (b"\x0c", "wire type 4"), (b"\x0e", "wire type 6"),
    (b"\x00\x01", "field number 0"),
])
def test_wire_format_errors(data: bytes, problem: str) -> None:
    with pytest.raises(ProtobufError, match=problem):
        list(fields(data))


def test_field_reader_reads_every_wire_type() -> None:
    data = f_varint(1, 300) + f_double(2, 1.5) + f_bytes(3, b"abc") + b"\x25" + b"\x01\x00\x00\x00"
    got = [(n, w, v if isinstance(v, int) else bytes(v)) for n, w, v in fields(data)]
    assert got == [(1, 0, 300), (2, 1, struct.pack("<d", 1.5)), (3, 2, b"abc"),
                   (4, 5, b"\x01\x00\x00\x00")]
    # a 10th varint byte carries bits past 64: they are dropped, as protobuf decoders do
    assert list(fields(b"\x08" + b"\xff" * 9 + b"\x7f")) == [(1, 0, (1 << 64) - 1)]


def test_deep_nesting_costs_nothing_and_paths_are_bounded() -> None:
    deep = b"\x08\x01"
    for _ in range(3000):                                 # far beyond any recursion limit
        deep = f_bytes(3, deep)
    reading = decode_sample(deep, "dvtm_ac203.proto", 0.0)
    assert reading.fix is None
    assert find(deep, [3] * djmd.MAX_DEPTH) is not None
    with pytest.raises(ValueError):
        find(deep, [3] * (djmd.MAX_DEPTH + 1))


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op, pos = rng.randrange(5), rng.randrange(max(1, len(buf)))
        if op == 0 and buf:
            buf[pos] = rng.randrange(256)
        elif op == 1:
            del buf[pos:pos + rng.randint(1, 16)]
        elif op == 2:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 12))
        elif op == 3:
            buf[pos:pos] = b"\xff" * rng.randint(1, 12)          # long varints, huge lengths
        else:
            buf = buf[:pos]
    return bytes(buf)


def test_mutated_and_random_samples_never_raise_or_hang() -> None:
    rng = random.Random(20241204)
    good = track_of("dvtm_ac203.proto", (3, 4, 2), [LAUSANNE, SANTIAGO], alt_mm=10,
                    when="2024-12-04 10-11-12")
    outcomes = {"fix": 0, "no fix": 0, "refused": 0}
    for i in range(200):
        samples = [_mutate(rng, s) for s in good] if i % 4 else [rng.randbytes(rng.randint(0, 300))]
        for data in samples:
            try:
                fix = decode_sample(data, "dvtm_ac203.proto", 0.0).fix
                outcomes["no fix" if fix is None else "fix"] += 1
            except ProtobufError:
                outcomes["refused"] += 1
        started = time.monotonic()
        _, out, _, _ = read_bmff(dji_movie(samples))   # raises on any non-product error
        assert time.monotonic() - started < 2.0
        for ev in out.evidence:
            json.dumps(ev.to_dict(), allow_nan=False)
            if ev.is_location:
                assert -90 <= ev.lat <= 90 and -180 <= ev.lon <= 180   # type: ignore[operator]
    assert min(outcomes.values()) >= 5, outcomes   # every outcome was exercised
