"""Google CAMM tracks written from the Street View Camera Motion Metadata Spec (types 5, 6)."""

from __future__ import annotations

import struct

import pytest

from geoprivacy.attacks.metadata.camm import GPS_EPOCH_OFFSET, decode_packets
from geoprivacy.types import EvidenceKind
from tests.attacks.metadata.bmffbuild import locations, movie_with_samples, only, read_bmff, \
    sample_entry


def camm5(lat: float, lon: float, alt: float) -> bytes:
    return struct.pack("<HH3d", 0, 5, lat, lon, alt)


def camm6(gps_time: float, fix: int, lat: float, lon: float, alt: float) -> bytes:
    return struct.pack("<HHdIddfffffff", 0, 6, gps_time, fix, lat, lon, alt, 3.5, 5.0, 0.1, 0.2,
                       0.0, 0.3)


def gyro() -> bytes:
    return struct.pack("<HH3f", 0, 2, 0.1, 0.2, 0.3)


def camm_movie(samples: list[bytes]) -> bytes:
    return movie_with_samples(b"meta", sample_entry(b"camm"), samples)


def test_camm_type6_generated_from_spec() -> None:
    t0 = 1_400_000_000.0                       # seconds since the GPS epoch (1980-01-06)
    samples = [gyro(), camm6(t0, 3, 37.4220, -122.0841, 12.0), gyro(),
               camm6(t0 + 1, 3, 37.4221, -122.0842, 12.5)]
    container, out, errors, _ = read_bmff(camm_movie(samples))
    assert container == "MP4" and not errors
    ev = only(out, "CAMM:GPS")
    assert ev.kind is EvidenceKind.TRACK and (ev.lat, ev.lon) == pytest.approx((37.4220, -122.0841))
    summary = ev.detail["track"]
    assert summary["count"] == 2
    assert summary["first"]["time"] == pytest.approx(t0 + GPS_EPOCH_OFFSET)
    assert summary["first"]["horizontal_accuracy_m"] == pytest.approx(3.5)


def test_camm_type5_generated_from_spec_uses_media_time() -> None:
    samples = [camm5(48.1374, 11.5755, 520.0), camm5(48.1375, 11.5756, 520.0)]
    _, out, errors, _ = read_bmff(camm_movie(samples))
    summary = only(out, "CAMM:GPS").detail["track"]
    assert not errors and summary["count"] == 2
    assert (summary["first"]["time"], summary["last"]["time"]) == (0.0, 1.0)


def test_camm_no_fix_packets_are_placeholders() -> None:
    _, out, _, _ = read_bmff(camm_movie([camm6(1e9, 0, 0.0, 0.0, 0.0)] * 2))
    assert not locations(out) and only(out, "CAMM:GPS").kind is EvidenceKind.PLACEHOLDER


def test_camm_several_packets_in_one_sample_and_damage() -> None:
    found = decode_packets(gyro() + camm5(1.5, 2.5, 0.0) + camm5(1.6, 2.6, 0.0)[:10], 0.0)
    assert found[0][0] is not None and found[0][0].lat == 1.5
    assert found[-1][0] is None and "cut off" in (found[-1][1] or "")
    assert decode_packets(struct.pack("<HH", 0, 99), None) == [(None, "unknown packet type 99")]


def test_camm_impossible_coordinates_are_invalid() -> None:
    _, out, _, _ = read_bmff(camm_movie([camm5(123.0, 500.0, 0.0)]))
    assert not locations(out) and only(out, "CAMM:GPS").kind is EvidenceKind.INVALID
