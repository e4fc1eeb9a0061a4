"""XMP packets: coordinate forms, DJI fields, place names, structures, hostile XML."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings, strategies as st

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.xmp import parse_coordinate, parse_xmp
from geoprivacy.types import EvidenceKind, Granularity
from tests.attacks.metadata.xmpbuild import packet

def run(data: bytes, prefix: str = "XMP") -> Collector:
    out = Collector()
    parse_xmp(data, out, prefix)
    return out


def positions(out: Collector) -> list[tuple[str, float, float]]:
    return [(e.where, round(e.lat, 7), round(e.lon, 7)) for e in out.evidence
            if e.kind is EvidenceKind.POSITION]


@pytest.mark.parametrize("text,letters,expected", [
    ("53,7.9535400N", "NS", 53 + 7.95354 / 60),
    ("48,9.003180N", "NS", 48 + 9.00318 / 60),
    ("0,4.216010S", "NS", -(4.21601 / 60)),
    ("12,30,36W", "EW", -(12.51)),
    ("-20.44058452", "NS", -20.44058452),
    ("+57.31885385", "EW", 57.31885385),
    ("52.5N", "NS", 52.5),
    ("52.5 S", "NS", -52.5),
])
def test_coordinate_forms(text: str, letters: str, expected: float) -> None:
    value, _, err = parse_coordinate(text, letters)
    assert err is None and value == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("text,reason", [
    ("", "empty"), ("abc", "not a coordinate"), ("52,75.0N", "out of range"),
    ("52,1.0E", "hemisphere"), ("1e400", "not a coordinate")])
def test_bad_coordinate_strings(text: str, reason: str) -> None:
    value, _, err = parse_coordinate(text, "NS")
    assert value is None and err is not None and reason in err


def test_attribute_form() -> None:
    out = run(packet('exif:GPSLatitude="53,7.9535400N" exif:GPSLongitude="8,43.1517600E" '
                     'exif:GPSAltitude="324145/1000" exif:GPSAltitudeRef="1"'))
    assert positions(out) == [("XMP:exif:GPSLatitude", 53.132559, 8.719196)]
    assert out.evidence[0].detail["altitude_m"] == -324.145


def test_element_text_form_and_prefix() -> None:
    body = ("<exif:GPSLatitude>48,9.003180N</exif:GPSLatitude>"
            "<exif:GPSLongitude>11,34.56936E</exif:GPSLongitude>")
    out = run(packet(body=body), "MPF[1]:XMP")
    assert positions(out) == [("MPF[1]:XMP:exif:GPSLatitude", 48.150053, 11.576156)]


def test_dji_fields_including_the_longtitude_typo() -> None:
    out = run(packet('drone-dji:GpsLatitude="-20.44058452" drone-dji:GpsLongtitude="+57.31885385" '
                     'drone-dji:AbsoluteAltitude="+117.10"'))
    assert positions(out) == [("XMP:drone-dji:GpsLatitude", -20.4405845, 57.3188539)]
    assert out.evidence[0].detail["altitude_m"] == 117.1


def test_dest_coordinates_are_separate() -> None:
    out = run(packet('exif:GPSLatitude="1,30N" exif:GPSLongitude="2,0E" '
                     'exif:GPSDestLatitude="3,0.5S" exif:GPSDestLongitude="4,0.5W"'))
    assert [w for w, _, _ in positions(out)] == ["XMP:exif:GPSLatitude", "XMP:exif:GPSDestLatitude"]


def test_coarse_coordinates_get_city_or_region() -> None:
    out = run(packet('exif:GPSLatitude="52,30N" exif:GPSLongitude="13,24E"'))
    assert out.evidence[0].granularity is Granularity.CITY
    out = run(packet('drone-dji:GpsLatitude="52" drone-dji:GpsLongitude="13"'))
    assert out.evidence[0].granularity is Granularity.REGION


def test_empty_and_invalid_are_not_places() -> None:
    out = run(packet('exif:GPSLatitude="" exif:GPSLongitude=""'))
    assert [e.kind for e in out.evidence] == [EvidenceKind.PLACEHOLDER]
    out = run(packet('exif:GPSLatitude="0,0.0N" exif:GPSLongitude="0,0.0E"'))
    assert [e.kind for e in out.evidence] == [EvidenceKind.PLACEHOLDER]
    out = run(packet('exif:GPSLatitude="95,0.0N" exif:GPSLongitude="10,0.0E"'))
    assert [e.kind for e in out.evidence] == [EvidenceKind.INVALID]
    out = run(packet('exif:GPSLatitude="52,0.0N"'))
    assert [e.kind for e in out.evidence] == [EvidenceKind.INVALID]


def test_place_names_with_their_levels() -> None:
    out = run(packet('photoshop:City="München" photoshop:State="Bayern" photoshop:Country="Germany" '
                     'Iptc4xmpCore:Location="Marienplatz 1" Iptc4xmpCore:CountryCode="DE"'))
    got = {(e.where, e.detail["name"], e.granularity) for e in out.evidence}
    assert got == {("XMP:photoshop:City", "München", Granularity.CITY),
                   ("XMP:photoshop:State", "Bayern", Granularity.REGION),
                   ("XMP:photoshop:Country", "Germany", Granularity.COUNTRY),
                   ("XMP:Iptc4xmpCore:Location", "Marienplatz 1", Granularity.STREET),
                   ("XMP:Iptc4xmpCore:CountryCode", "DE", Granularity.COUNTRY)}


def test_iptc_extension_location_structures() -> None:
    body = ("<Iptc4xmpExt:LocationCreated><rdf:Bag><rdf:li rdf:parseType=\"Resource\">"
            "<Iptc4xmpExt:City>Lund</Iptc4xmpExt:City>"
            "<Iptc4xmpExt:Sublocation>Stortorget</Iptc4xmpExt:Sublocation>"
            "<exif:GPSLatitude>55,42.1N</exif:GPSLatitude>"
            "<exif:GPSLongitude>13,11.5E</exif:GPSLongitude>"
            "</rdf:li></rdf:Bag></Iptc4xmpExt:LocationCreated>"
            "<Iptc4xmpExt:LocationShown><rdf:Bag>"
            "<rdf:li Iptc4xmpExt:CountryName=\"Sweden\" Iptc4xmpExt:ProvinceState=\"Skåne\"/>"
            "</rdf:Bag></Iptc4xmpExt:LocationShown>")
    out = run(packet(body=body))
    got = {(e.where, e.detail.get("name"), e.granularity) for e in out.evidence}
    assert ("XMP:Iptc4xmpExt:LocationCreated:Iptc4xmpExt:City", "Lund", Granularity.CITY) in got
    assert ("XMP:Iptc4xmpExt:LocationCreated:Iptc4xmpExt:Sublocation", "Stortorget",
            Granularity.STREET) in got
    assert ("XMP:Iptc4xmpExt:LocationShown:Iptc4xmpExt:CountryName", "Sweden",
            Granularity.COUNTRY) in got
    assert ("XMP:Iptc4xmpExt:LocationShown:Iptc4xmpExt:ProvinceState", "Skåne",
            Granularity.REGION) in got
    assert positions(out) == [("XMP:Iptc4xmpExt:LocationCreated:exif:GPSLatitude",
                               round(55 + 42.1 / 60, 7), round(13 + 11.5 / 60, 7))]


def test_language_alternative_place_name() -> None:
    body = ('<photoshop:City><rdf:Alt><rdf:li xml:lang="x-default">Lund</rdf:li>'
            '<rdf:li xml:lang="sv">Lund</rdf:li></rdf:Alt></photoshop:City>')
    out = run(packet(body=body))
    assert [(e.where, e.detail["name"]) for e in out.evidence] == [("XMP:photoshop:City", "Lund")]


def test_entities_are_refused_and_never_expanded() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaaaaaaaaaaaa">'
            + "".join(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10 if i else "&a;" * 10}">'
                      for i in range(9))
            + ']>')
    data = bomb.encode() + packet('photoshop:City="&a8;" exif:GPSLatitude="10,0.0N" '
                                  'exif:GPSLongitude="20,0.0E"')
    start = time.perf_counter()
    out = run(data)
    assert time.perf_counter() - start < 1
    assert any("DOCTYPE" in w for w in out.warnings)
    assert positions(out) == [("XMP:exif:GPSLatitude", 10.0, 20.0)]
    assert all(len(e.detail.get("name", "")) < 100 for e in out.evidence)


def test_broken_xml_falls_back_to_patterns() -> None:
    data = packet('exif:GPSLatitude="53,7.9535400N" exif:GPSLongitude="8,43.1517600E"')[:-60]
    out = run(data)
    assert positions(out) == [("XMP:exif:GPSLatitude", 53.132559, 8.719196)]
    assert any("broken XML" in w for w in out.warnings)


@pytest.mark.parametrize("data", [b"", b"\x00" * 100, b"<", b"<x:xmpmeta", b"\xff\xfe<\x00",
                                  b"<a>" * 5000])
def test_garbage_never_raises(data: bytes) -> None:
    run(data)


def test_deep_nesting_is_bounded() -> None:
    body = "<exif:A><rdf:Description>" * 300 + "</rdf:Description></exif:A>" * 300
    start = time.perf_counter()
    run(packet(body=body))
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize("data", [b'<?xml version="1.0" encoding="foo"?><a/>',
                                  b'<?xml version="1.0" encoding="utf-32"?><a/>'])
def test_unknown_or_wrong_encodings_warn(data: bytes) -> None:
    assert run(data).warnings


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2000), st.binary(min_size=1, max_size=8))
def test_mutated_packets_never_raise(pos: int, junk: bytes) -> None:
    data = bytearray(packet('exif:GPSLatitude="53,7.9535400N" exif:GPSLongitude="8,43.15176E"',
                            '<Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li Iptc4xmpExt:City="Lund"/>'
                            '</rdf:Bag></Iptc4xmpExt:LocationShown>'))
    pos %= len(data)
    data[pos:pos + len(junk)] = junk
    run(bytes(data))
