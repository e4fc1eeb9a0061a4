"""GoPro GPMF: the corpus tracks, and GPS5/GPS9 payloads written from the GPMF spec."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from geoprivacy.attacks.metadata.gpmf import parse_gpsu, parse_payload
from geoprivacy.types import EvidenceKind
from tests.attacks.metadata.bmffbuild import locations, movie_with_samples, only, read_bmff, \
    sample_entry


def klv(key: bytes, kind: bytes, size: int, repeat: int, data: bytes) -> bytes:
    """GPMF KLV (github.com/gopro/gpmf-parser docs): key, type, struct size, repeat, padded data."""
    body = data + bytes(-len(data) % 4)
    return key + kind + struct.pack(">BH", size, repeat) + body


def nest(key: bytes, *children: bytes) -> bytes:
    data = b"".join(children)
    return klv(key, b"\x00", 1, len(data), data)


def gps5_payload(rows: list[tuple[float, float, float]], fix: int = 3,
                 utc: bytes = b"191118234514.000") -> bytes:
    scal = struct.pack(">5i", 10_000_000, 10_000_000, 1000, 1000, 100)
    values = b"".join(struct.pack(">5i", round(lat * 1e7), round(lon * 1e7), round(alt * 1000),
                                  0, 0) for lat, lon, alt in rows)
    stream = nest(b"STRM",
                  klv(b"STNM", b"c", 1, 12, b"GPS (Lat.)\x00\x00"),
                  klv(b"GPSF", b"L", 4, 1, struct.pack(">I", fix)),
                  klv(b"GPSU", b"U", 16, 1, utc),
                  klv(b"GPSP", b"S", 2, 1, struct.pack(">H", 154)),
                  klv(b"SCAL", b"l", 4, 5, scal),
                  klv(b"GPS5", b"l", 20, len(rows), values))
    return nest(b"DEVC", klv(b"DVNM", b"c", 1, 6, b"Camera"), stream)


def gps9_payload(rows: list[tuple[float, float, float, int, float]]) -> bytes:
    """GPS9 (HERO11+): lat, lon, alt, 2D speed, 3D speed, days since 2000, secs of day, DOP, fix."""
    scal = struct.pack(">9i", 10_000_000, 10_000_000, 1000, 1000, 100, 1, 1000, 100, 1)
    values = b"".join(
        struct.pack(">7i2H", round(lat * 1e7), round(lon * 1e7), round(alt * 1000), 0, 0, days,
                    round(secs * 1000), 150, 3)
        for lat, lon, alt, days, secs in rows)
    stream = nest(b"STRM",
                  klv(b"STNM", b"c", 1, 4, b"GPS9"),
                  klv(b"SCAL", b"l", 4, 9, scal),
                  klv(b"TYPE", b"c", 1, 9, b"lllllllSS"),
                  klv(b"GPS9", b"?", 32, len(rows), values))
    return nest(b"DEVC", stream)


def gpmf_movie(payloads: list[bytes]) -> bytes:
    return movie_with_samples(b"meta", sample_entry(b"gpmd", bytes(4)), payloads)


def test_karma_position_stream_with_system_clock(shared_data: Path) -> None:
    _, out, errors, _ = read_bmff(shared_data / "videos/karma.mp4")
    assert not errors
    glpi = only(out, "GPMF:GLPI")
    assert (glpi.lat, glpi.lon) == pytest.approx((33.1253688, -117.3310668), abs=1e-7)
    summary = glpi.detail["track"]
    assert summary["count"] == 47
    assert summary["first"]["time_iso"].startswith("2017-04-17T19:27:5")   # SYST → UTC


def test_gps5_generated_from_spec() -> None:
    payloads = [gps5_payload([(47.3769, 8.5417, 408.0), (47.3770, 8.5418, 408.5)]),
                gps5_payload([(47.3771, 8.5419, 409.0)], utc=b"191118234515.000")]
    container, out, errors, _ = read_bmff(gpmf_movie(payloads))
    assert container == "MP4" and not errors
    ev = only(out, "GPMF:GPS5")
    assert ev.kind is EvidenceKind.TRACK and (ev.lat, ev.lon) == pytest.approx((47.3769, 8.5417))
    summary = ev.detail["track"]
    assert summary["count"] == 3
    assert summary["first"]["time_iso"] == "2019-11-18T23:45:14Z"
    assert summary["first"]["dop"] == pytest.approx(1.54) and summary["first"]["alt"] == 408.0
    assert summary["last"]["time"] == pytest.approx(parse_gpsu(b"191118234515.000"))


def test_gps9_generated_from_spec() -> None:
    days = 8723                              # days since 2000-01-01
    rows = [(-33.8568, 151.2153, 5.0, days, 3600.0), (-33.8569, 151.2154, 5.5, days, 3600.1)]
    _, out, errors, _ = read_bmff(gpmf_movie([gps9_payload(rows)]))
    assert not errors
    ev = only(out, "GPMF:GPS9")
    assert (ev.lat, ev.lon) == pytest.approx((-33.8568, 151.2153))
    first = ev.detail["track"]["first"]
    assert first["time"] == pytest.approx(946684800 + days * 86400 + 3600.0)
    assert first["fix"] == "3D" and first["dop"] == pytest.approx(1.5)


def test_gps5_without_lock_is_a_placeholder() -> None:
    _, out, _, _ = read_bmff(gpmf_movie([gps5_payload([(0.0, 0.0, 0.0)] * 3, fix=0)]))
    assert not locations(out)
    assert only(out, "GPMF:GPS").kind is EvidenceKind.PLACEHOLDER


def test_gps5_zero_coordinates_with_lock_are_placeholders() -> None:
    _, out, _, _ = read_bmff(gpmf_movie([gps5_payload([(0.0, 0.0, 0.0)] * 3)]))
    assert not locations(out) and only(out, "GPMF:GPS5").kind is EvidenceKind.PLACEHOLDER


def test_damaged_klv_is_a_warning() -> None:
    good = gps5_payload([(47.0, 8.0, 1.0)])
    broken = good[:-12] + struct.pack(">H", 0xFFFF) + good[-10:]
    broken = broken[:6] + struct.pack(">H", 60_000) + broken[8:]   # DEVC claims 60 KB
    _, out, errors, _ = read_bmff(gpmf_movie([broken]))
    assert any("past its container" in e for e in errors)
    assert not locations(out)


def test_payload_parser_never_raises_on_garbage() -> None:
    for data in (b"", b"DEVC", bytes(64), b"DEVC\x00\x01\xff\xff" + bytes(8),
                 b"STRM\x00\x01\x00\x08GPS5l\x14\x00\x09" + bytes(8)):
        payload = parse_payload(data)
        assert payload.rows == [] or all(len(r) == 7 for r in payload.rows)


@pytest.mark.parametrize("text,ok", [(b"191118234514.000", True), (b"999999999999.999", False),
                                     (b"abc", False)])
def test_gpsu(text: bytes, ok: bool) -> None:
    assert (parse_gpsu(text) is not None) is ok
