"""IPTC IIM records and Photoshop image-resource blocks."""

from __future__ import annotations

import struct

import pytest

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.iptc import parse_iptc, parse_photoshop_irb
from geoprivacy.types import EvidenceKind, Granularity
from tests.attacks.metadata.jpegbuild import iptc_record, irb
from tests.attacks.metadata.xmpbuild import packet
from tests.attacks.metadata.tiffbuild import exif_with_gps, gps_entries


def names(out: Collector) -> list[tuple[str, str, Granularity]]:
    return [(e.where, e.detail["name"], e.granularity) for e in out.evidence
            if e.kind is EvidenceKind.PLACE_NAME]


def test_latin1_without_a_charset_record() -> None:
    out = Collector()
    parse_iptc(iptc_record(90, "Malmö".encode("latin-1")) + iptc_record(5, b"title"), out)
    assert names(out) == [("IPTC:City", "Malmö", Granularity.CITY)]


def test_extended_length_record() -> None:
    value = b"Sub" * 20
    rec = bytes([0x1C, 2, 92]) + struct.pack(">H", 0x8004) + struct.pack(">I", len(value)) + value
    out = Collector()
    parse_iptc(rec, out)
    assert names(out) == [("IPTC:Sub-location", value.decode(), Granularity.STREET)]


@pytest.mark.parametrize("data,warning", [
    (iptc_record(90, b"Lund") + b"\x55garbage", "bad record marker"),
    (bytes([0x1C, 2, 90]) + struct.pack(">H", 0x8009) + b"x" * 20, "bad extended size"),
    (bytes([0x1C, 2, 90]) + struct.pack(">H", 500) + b"Lund", "runs past the end"),
])
def test_damaged_iim_warns(data: bytes, warning: str) -> None:
    out = Collector()
    parse_iptc(data, out)
    assert any(warning in w for w in out.warnings)


def test_trailing_padding_is_not_damage() -> None:
    out = Collector()
    parse_iptc(iptc_record(101, b"Sweden") + b"\x00" * 7, out)
    assert names(out) == [("IPTC:Country-PrimaryLocationName", "Sweden", Granularity.COUNTRY)]
    assert not out.warnings


def test_irb_carries_iptc_xmp_and_exif() -> None:
    block = irb([(0x03ED, b"\x00" * 15), (0x0404, iptc_record(90, b"Lund")),
                 (0x0424, packet('photoshop:Country="Sweden"')),
                 (0x0422, exif_with_gps(gps_entries()))], name=b"ab")
    out = Collector()
    parse_photoshop_irb(b"Photoshop 3.0\x00" + block, out, "MPF[1]:Photoshop")
    assert names(out) == [("MPF[1]:IPTC:City", "Lund", Granularity.CITY),
                          ("MPF[1]:XMP:photoshop:Country", "Sweden", Granularity.COUNTRY)]
    assert [e.where for e in out.evidence if e.kind is EvidenceKind.POSITION] == \
        ["MPF[1]:EXIF:GPSLatitude"]


@pytest.mark.parametrize("data", [b"8BIM\x04\x04", b"8BIM\x04\x04\x00\x00\xff\xff\xff\xff",
                                  b"XXXXjunkjunkjunk", b"8BIM\x04\x04\xff" + b"\x00" * 300])
def test_damaged_irb_never_raises(data: bytes) -> None:
    out = Collector()
    parse_photoshop_irb(data, out)
    assert not out.evidence
