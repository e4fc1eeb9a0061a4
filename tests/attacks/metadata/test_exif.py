"""EXIF/TIFF walker and GPS IFD decoding on blocks built in the test."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings, strategies as st

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.exif import parse_tiff_block
from geoprivacy.types import EvidenceKind, Granularity
from tests.attacks.metadata.tiffbuild import (ASCII, BYTE, DOUBLE, LONG, RAT, UNDEF, Ptr, build,
                                              exif_with_gps, gps_entries)

LAT = 52 + 30 / 60 + 12.34 / 3600
LON = 13 + 24 / 60 + 56.78 / 3600


def run(block: bytes, prefix: str = "EXIF") -> Collector:
    out = Collector()
    parse_tiff_block(block, out, prefix)
    return out


def kinds(out: Collector) -> list[tuple[str, str]]:
    return [(e.kind.value, e.where) for e in out.evidence]


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("lat_ref,lon_ref,sign", [
    (b"N\x00", b"E\x00", (1, 1)), (b"S\x00", b"W\x00", (-1, -1)), (b"n\x00", b"w\x00", (1, -1))])
def test_full_precision_position_with_refs(big: bool, lat_ref: bytes, lon_ref: bytes,
                                           sign: tuple[int, int]) -> None:
    out = run(exif_with_gps(gps_entries(lat_ref=lat_ref, lon_ref=lon_ref), big=big))
    (ev,) = out.evidence
    assert ev.kind is EvidenceKind.POSITION and ev.where == "EXIF:GPSLatitude"
    assert ev.lat == pytest.approx(sign[0] * LAT, abs=1e-9)
    assert ev.lon == pytest.approx(sign[1] * LON, abs=1e-9)
    assert ev.granularity is Granularity.EXACT and ev.radius_km is None
    assert not out.warnings


@pytest.mark.parametrize("lat,lon,level", [
    (((52, 1), (30, 1), (0, 1)), ((13, 1), (24, 1), (0, 1)), Granularity.CITY),      # minutes
    (((52, 1), (0, 1), (0, 1)), ((13, 1), (0, 1), (0, 1)), Granularity.REGION),      # degrees
    (((525, 10), (0, 1), (0, 1)), ((134, 10), (0, 1), (0, 1)), Granularity.CITY),    # 0.1°
    (((52503427, 1000000), (0, 1), (0, 1)), ((13415772, 1000000), (0, 1), (0, 1)),
     Granularity.EXACT),                                                             # 1e-6°
])
def test_coarsened_coordinates_get_a_radius(lat: tuple, lon: tuple, level: Granularity) -> None:
    (ev,) = run(exif_with_gps(gps_entries(lat=lat, lon=lon))).evidence
    assert ev.kind is EvidenceKind.POSITION
    assert ev.granularity is level
    assert (ev.radius_km is None) == (level is Granularity.EXACT)


@pytest.mark.parametrize("gps,kind,reason", [
    (gps_entries(lat=((0, 1), (0, 1), (0, 1)), lon=((0, 1), (0, 1), (0, 1))),
     EvidenceKind.PLACEHOLDER, "(0, 0)"),
    (gps_entries(lat=((0xFFFFFFFF, 1),)), EvidenceKind.INVALID, "0xFFFFFFFF"),
    (gps_entries(lat=((52, 0), (30, 1), (0, 1))), EvidenceKind.INVALID, "zero denominator"),
    (gps_entries(lat=[0xFFFFFFFF], lon=[5], typ=LONG), EvidenceKind.INVALID, "instead of RATIONAL"),
    (gps_entries(lat=((95, 1), (0, 1), (0, 1))), EvidenceKind.INVALID, "impossible"),
    (gps_entries(lon=((181, 1), (0, 1), (0, 1))), EvidenceKind.INVALID, "impossible"),
    (gps_entries(lat=((52, 1), (75, 1), (0, 1))), EvidenceKind.INVALID, "out of range"),
    (gps_entries(lat_ref=None, lon_ref=None), EvidenceKind.INVALID, "reference"),
    (gps_entries(lat_ref=b"\x00\x00"), EvidenceKind.INVALID, "empty"),
    (gps_entries(lat_ref=b"X\x00"), EvidenceKind.INVALID, "is not N or S"),
    (gps_entries(lat=((0, 0), (0, 0), (0, 0)), lon=((0, 0), (0, 0), (0, 0))),
     EvidenceKind.PLACEHOLDER, "empty"),
    (gps_entries(lat=[], lon=[]), EvidenceKind.PLACEHOLDER, "empty"),
    (gps_entries(lon=None), EvidenceKind.INVALID, "longitude missing"),
])
def test_placeholders_and_impossible_values_are_never_places(gps: list, kind: EvidenceKind,
                                                             reason: str) -> None:
    out = run(exif_with_gps(gps))
    assert [e.kind for e in out.evidence] == [kind]
    assert reason in out.evidence[0].detail["reason"]
    assert not any(e.is_location for e in out.evidence)


def test_unused_trailing_component_written_as_zero_over_zero() -> None:
    # Nikon D5000 writes 48/1 5332358/100000 0/0: degrees and decimal minutes, seconds unused
    gps = gps_entries(lat=((48, 1), (5332358, 100000), (0, 0)),
                      lon=((21, 1), (259507, 100000), (0, 0)))
    (ev,) = run(exif_with_gps(gps)).evidence
    assert ev.lat == pytest.approx(48 + 53.32358 / 60) and ev.lon == pytest.approx(21 + 2.59507 / 60)
    assert ev.granularity is Granularity.EXACT


def test_reference_letter_stored_as_byte() -> None:
    gps = [(1, BYTE, [ord("S")]), (2, RAT, [(10, 1), (0, 1), (0, 1)]), (3, BYTE, [ord("W")]),
           (4, RAT, [(20, 1), (0, 1), (0, 1)])]
    (ev,) = run(exif_with_gps(gps)).evidence
    assert (ev.lat, ev.lon) == (-10.0, -20.0)


def test_double_degrees_are_accepted() -> None:
    (ev,) = run(exif_with_gps(gps_entries(lat=[LAT], lon=[LON], typ=DOUBLE))).evidence
    assert (ev.lat, ev.lon) == pytest.approx((LAT, LON))


def test_empty_gps_ifd_and_empty_pointer_are_placeholders() -> None:
    out = run(build([[(0x8825, LONG, Ptr(1))], []]))
    assert kinds(out) == [("placeholder", "EXIF:GPSInfo")]
    out = run(build([[(0x8825, LONG, [])]]))
    assert kinds(out) == [("placeholder", "EXIF:GPSInfo")]


def test_gps_details_altitude_time_direction_method_area() -> None:
    gps = gps_entries() + [
        (5, BYTE, [1]), (6, RAT, [(1234, 10)]), (7, RAT, [(13, 1), (5, 1), (30, 1)]),
        (17, RAT, [(900, 10)]), (18, ASCII, b"WGS-84\x00"), (27, UNDEF, b"ASCII\x00\x00\x00GPS"),
        (28, UNDEF, b"ASCII\x00\x00\x00Lund Cathedral"), (29, ASCII, b"2020:01:02\x00")]
    (ev,) = run(exif_with_gps(sorted(gps))).evidence
    assert ev.detail == {"altitude_m": -123.4, "time_utc": "13:05:30.000", "date": "2020:01:02",
                         "image_direction_deg": 90.0, "map_datum": "WGS-84",
                         "processing_method": "GPS", "area_information": "Lund Cathedral"}


def test_gps_dest_is_its_own_evidence() -> None:
    gps = gps_entries() + [(19, ASCII, b"S\x00"), (20, RAT, [(10, 1), (0, 1), (0, 1)]),
                           (21, ASCII, b"E\x00"), (22, RAT, [(20, 1), (30, 1), (0, 1)])]
    out = run(exif_with_gps(gps))
    assert kinds(out) == [("position", "EXIF:GPSLatitude"), ("position", "EXIF:GPSDestLatitude")]
    assert (out.evidence[1].lat, out.evidence[1].lon) == (-10.0, 20.5)


def test_thumbnail_ifd_and_where_prefix() -> None:
    ifd0 = [(0x0110, ASCII, b"Cam\x00")]
    ifd1 = [(0x0103, 3, [6]), (0x8825, LONG, Ptr(2))]
    block = build([ifd0, ifd1, gps_entries()], chain={0: 1})
    assert kinds(run(block)) == [("position", "EXIF:IFD1:GPSLatitude")]
    assert kinds(run(block, "MPF[1]:EXIF")) == [("position", "MPF[1]:EXIF:IFD1:GPSLatitude")]


def test_gps_pointer_inside_exif_ifd_is_followed() -> None:
    block = build([[(0x8769, LONG, Ptr(1))], [(0x8825, LONG, Ptr(2))], gps_entries()])
    assert kinds(run(block)) == [("position", "EXIF:GPSLatitude")]


def test_loops_in_ifd_chains_end_with_a_warning() -> None:
    # IFD0 → IFD1 → IFD0 …, and the Exif IFD pointing at IFD0
    block = build([[(0x8769, LONG, Ptr(0)), (0x8825, LONG, Ptr(2))], [(0x0103, 3, [6])],
                   gps_entries()], chain={0: 1, 1: 0})
    start = time.perf_counter()
    out = run(block)
    assert time.perf_counter() - start < 1
    assert kinds(out) == [("position", "EXIF:GPSLatitude")]
    assert any("loop" in w for w in out.warnings)


def test_offsets_past_the_end_are_warnings_not_crashes() -> None:
    block = build([[(0x8769, LONG, [0x7FFFFFF0]), (0x8825, LONG, Ptr(1))],
                   [(2, RAT, [(1, 1)] * 3)]], raw_next={0: 0xFFFFFF00})
    # make the latitude value offset point past the end
    out = run(block[:-8])
    assert not any(e.is_location for e in out.evidence)
    assert out.warnings


def test_huge_entry_count_is_cut_short() -> None:
    block = bytearray(build([[(0x8825, LONG, Ptr(1))], gps_entries()]))
    block[8:10] = (65535).to_bytes(2, "little")
    out = run(bytes(block))
    assert any("cut short" in w for w in out.warnings)


@pytest.mark.parametrize("data", [b"", b"II*\x00", b"XX*\x00\x08\x00\x00\x00", b"MM\x00*\xff\xff\xff\xff"])
def test_broken_headers_warn(data: bytes) -> None:
    out = run(data)
    assert out.warnings and not out.evidence


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(tail: bytes) -> None:
    for head in (b"II*\x00\x08\x00\x00\x00", b"MM\x00*\x00\x00\x00\x08"):
        out = run(head + tail)
        assert all(not e.is_location or -90 <= e.lat <= 90 for e in out.evidence)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.binary(min_size=1, max_size=8))
def test_mutated_valid_block_never_raises(pos: int, junk: bytes) -> None:
    block = bytearray(build([[(0x8769, LONG, Ptr(1)), (0x8825, LONG, Ptr(2))],
                             [(0xA005, LONG, Ptr(0))], gps_entries()], chain={0: 1}))
    pos %= len(block)
    block[pos:pos + len(junk)] = junk
    run(bytes(block))
