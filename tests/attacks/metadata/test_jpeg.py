"""JPEG marker walk: every metadata segment kind, secondary images, and hostile structures."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings, strategies as st

from geoprivacy.attacks.metadata import jpeg
from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.errors import GeoprivacyError, ParseError
from geoprivacy.media.source import Source
from geoprivacy.types import EvidenceKind, Granularity
from tests.attacks.metadata.jpegbuild import (exif_app1, extended_xmp_app1s, iptc_record, irb,
                                              jpeg as build_jpeg, segment, xmp_app1)
from tests.attacks.metadata.xmpbuild import packet
from tests.attacks.metadata.tiffbuild import exif_with_gps, gps_entries

LAT = 52 + 30 / 60 + 12.34 / 3600
LON = 13 + 24 / 60 + 56.78 / 3600
GPS_TIFF = exif_with_gps(gps_entries())


def run(data: bytes) -> tuple[Collector, Source]:
    src = Source.from_bytes(data)
    out = Collector()
    jpeg.parse(src, out)
    return out, src


def located(out: Collector) -> list[tuple[str, float, float]]:
    return [(e.where, round(e.lat, 6), round(e.lon, 6)) for e in out.evidence
            if e.is_location and e.lat is not None]


def test_exif_gps_and_no_image_data_read() -> None:
    data = build_jpeg(segment(0xE0, b"JFIF\x00" + b"\x00" * 9), exif_app1(GPS_TIFF),
                      scan=b"\x00" * 1_000_000)
    out, src = run(data)
    assert located(out) == [("EXIF:GPSLatitude", round(LAT, 6), round(LON, 6))]
    assert src.bytes_read < 2000 and not out.warnings


def test_xmp_segment() -> None:
    out, _ = run(build_jpeg(xmp_app1(packet('exif:GPSLatitude="10,30.0S" exif:GPSLongitude="20,0.0W"'))))
    assert located(out) == [("XMP:exif:GPSLatitude", -10.5, -20.0)]


def test_extended_xmp_split_over_segments_in_any_order() -> None:
    ext = packet('photoshop:City="Lund" drone-dji:GpsLatitude="55.7" drone-dji:GpsLongitude="13.19"'
                 + " " * 200)
    chunks = extended_xmp_app1s(ext, parts=3)
    out, _ = run(build_jpeg(xmp_app1(packet()), chunks[2], chunks[0], chunks[1]))
    assert located(out)[-1] == ("XMP-Extended:drone-dji:GpsLatitude", 55.7, 13.19)
    assert ("XMP-Extended:photoshop:City", "Lund") in [(e.where, e.detail.get("name"))
                                                        for e in out.evidence]
    assert not out.warnings


def test_incomplete_extended_xmp_warns() -> None:
    chunks = extended_xmp_app1s(packet('photoshop:City="Lund"' + " " * 300), parts=3)
    out, _ = run(build_jpeg(chunks[0], chunks[2]))
    assert any("incomplete" in w for w in out.warnings)


def test_extended_xmp_with_a_hostile_declared_size() -> None:
    seg = segment(0xE1, b"http://ns.adobe.com/xmp/extension/\x00" + b"G" * 32
                  + struct.pack(">II", 0xFFFFFFFF, 0) + b"<x/>")
    out, _ = run(build_jpeg(seg))
    assert any("exceeds" in w for w in out.warnings)


def test_photoshop_irb_with_iptc_place_names() -> None:
    iim = (iptc_record(90, b"\x1b%G", record=1) + iptc_record(90, "Malmö".encode())
           + iptc_record(92, b"Stortorget") + iptc_record(95, b"Sk\xc3\xa5ne")
           + iptc_record(100, b"SWE") + iptc_record(101, b"Sweden"))
    app13 = segment(0xED, b"Photoshop 3.0\x00" + irb([(0x0404, iim)], name=b"x"))
    out, _ = run(build_jpeg(app13))
    got = {(e.where, e.detail["name"], e.granularity) for e in out.evidence}
    assert got == {("IPTC:City", "Malmö", Granularity.CITY),
                   ("IPTC:Sub-location", "Stortorget", Granularity.STREET),
                   ("IPTC:Province-State", "Skåne", Granularity.REGION),
                   ("IPTC:Country-PrimaryLocationCode", "SWE", Granularity.COUNTRY),
                   ("IPTC:Country-PrimaryLocationName", "Sweden", Granularity.COUNTRY)}


def _mpf_jpeg(second: bytes, extra_offset: int = 0) -> bytes:
    """A primary JPEG with an MPF index whose second entry points at ``second`` after EOI."""
    def mpf_segment(second_offset: int, first_size: int) -> bytes:
        entries = struct.pack("<IIIHH", 0x20030000, first_size, 0, 0, 0)
        entries += struct.pack("<IIIHH", 0x00020002, len(second), second_offset, 0, 0)
        ifd_at = 8
        value_at = ifd_at + 2 + 3 * 12 + 4
        tiff = b"II*\x00" + struct.pack("<I", ifd_at) + struct.pack("<H", 3)
        tiff += struct.pack("<HHI4s", 0xB000, 7, 4, b"0100")
        tiff += struct.pack("<HHII", 0xB001, 4, 1, 2)
        tiff += struct.pack("<HHII", 0xB002, 7, len(entries), value_at)
        tiff += struct.pack("<I", 0) + entries
        return segment(0xE2, b"MPF\x00" + tiff)

    probe = build_jpeg(mpf_segment(0, 0))
    base = 2 + 4 + 4  # SOI, APP2 marker+length, "MPF\0": offsets count from the TIFF header
    first = build_jpeg(mpf_segment(len(probe) - base + extra_offset, len(probe)))
    return first + second


def test_mpf_secondary_image_gps_is_reported_with_its_index() -> None:
    out, _ = run(_mpf_jpeg(build_jpeg(exif_app1(GPS_TIFF))))
    assert located(out) == [("MPF[1]:EXIF:GPSLatitude", round(LAT, 6), round(LON, 6))]


def test_mpf_offset_past_the_end_warns() -> None:
    out, _ = run(_mpf_jpeg(b"", extra_offset=10_000))
    assert any("past the end" in w for w in out.warnings) and not out.evidence


def _flir_segments(lat: float, lon: float, refs: bytes, parts: int = 2) -> list[bytes]:
    record = bytearray(0xB8)
    struct.pack_into("<I", record, 0, 1)
    record[8:12] = refs
    struct.pack_into("<ddf", record, 0x10, lat, lon, 139.3)
    record[0x58:0x5D] = b"WGS84"
    header = bytearray(64)
    header[:4] = b"FFF\x00"
    struct.pack_into(">III", header, 0x14, 100, 0x40, 1)
    directory = struct.pack(">HHIIII", 0x2B, 0, 100, 1, 0x60, len(record)) + b"\x00" * 12
    fff = bytes(header) + directory + bytes(record)
    step = -(-len(fff) // parts)
    return [segment(0xE1, b"FLIR\x00\x01" + bytes([i, parts - 1]) + fff[off:off + step])
            for i, off in enumerate(range(0, len(fff), step))]


def test_flir_gps_takes_the_sign_from_the_separate_references() -> None:
    segs = _flir_segments(34.0754, 118.2542, b"N\x00W\x00", parts=3)
    out, _ = run(build_jpeg(segs[1], segs[0], segs[2]))
    assert located(out) == [("FLIR:GPSLatitude", 34.0754, -118.2542)]
    out, _ = run(build_jpeg(*_flir_segments(34.0, 18.0, b"S\x00E\x00")))
    assert located(out) == [("FLIR:GPSLatitude", -34.0, 18.0)]


def test_flir_bad_references_are_invalid() -> None:
    out, _ = run(build_jpeg(*_flir_segments(34.0, 18.0, b"\x00\x00\x00\x00")))
    assert [e.kind for e in out.evidence] == [EvidenceKind.INVALID]


def test_not_a_jpeg_raises_a_parse_error() -> None:
    with pytest.raises(ParseError):
        run(b"\x00\x01garbage")


@pytest.mark.parametrize("data", [
    b"\xff\xd8",                                         # SOI only
    b"\xff\xd8\xff\xe1\x00",                             # cut in a segment header
    b"\xff\xd8\xff\xe1\x00\x01",                          # impossible length
    b"\xff\xd8\xff\xe1\xff\xffExif\x00\x00II*\x00",       # segment runs past the end
    b"\xff\xd8\x00\x00\x00",                              # no marker
    b"\xff\xd8" + b"\xff" * 5000,                          # endless fill bytes
])
def test_truncated_and_hostile_structures_warn(data: bytes) -> None:
    out, _ = run(data)
    assert out.warnings and not out.evidence


def test_truncated_inside_exif_still_never_raises() -> None:
    data = build_jpeg(exif_app1(GPS_TIFF))
    for cut in range(2, len(data), 7):
        run(data[:cut])


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10_000), st.binary(min_size=1, max_size=6))
def test_mutations_never_raise_anything_but_parse_errors(pos: int, junk: bytes) -> None:
    chunks = extended_xmp_app1s(packet('photoshop:City="Lund"'), parts=2)
    base = bytearray(_mpf_jpeg(build_jpeg(exif_app1(GPS_TIFF), *chunks,
                                          *_flir_segments(1.0, 2.0, b"N\x00E\x00"))))
    pos %= len(base)
    base[pos:pos + len(junk)] = junk
    try:
        run(bytes(base))
    except GeoprivacyError:
        pass


def _gpmf(key: bytes, typ: bytes, size: int, repeat: int, raw: bytes) -> bytes:
    return key + typ + bytes([size]) + struct.pack(">H", repeat) + raw + b"\x00" * (-len(raw) % 4)


def test_gopro_app6_gps5() -> None:
    pytest.importorskip("geoprivacy.attacks.metadata.gpmf")
    scal = _gpmf(b"SCAL", b"l", 4, 5, struct.pack(">5i", 10_000_000, 10_000_000, 1000, 1000, 100))
    gps = _gpmf(b"GPSF", b"L", 4, 1, struct.pack(">I", 3)) + scal + _gpmf(
        b"GPS5", b"l", 20, 1, struct.pack(">5i", 406584191, -739933542, 10000, 0, 0))
    strm = _gpmf(b"STRM", b"\x00", 1, len(gps), gps)
    devc = _gpmf(b"DEVC", b"\x00", 1, len(strm), strm)
    out, _ = run(build_jpeg(segment(0xE6, b"GoPro\x00" + devc)))
    assert located(out) == [("GoPro:GPS5", 40.658419, -73.993354)]


def test_pillow_written_mpo_secondary_image(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image
    exif = Image.Exif()
    exif[0x8825] = {1: "S", 2: (10.0, 30.0, 15.5), 3: "W", 4: (20.0, 15.0, 1.25)}
    path = tmp_path / "m.mpo"
    Image.new("RGB", (16, 16)).save(path, format="MPO", save_all=True,
                                     append_images=[Image.new("RGB", (16, 16), (9, 9, 9))],
                                     exif=exif)
    out, _ = run(path.read_bytes())
    lat, lon = -(10 + 30 / 60 + 15.5 / 3600), -(20 + 15 / 60 + 1.25 / 3600)
    assert located(out) == [("EXIF:GPSLatitude", round(lat, 6), round(lon, 6)),
                            ("MPF[1]:EXIF:GPSLatitude", round(lat, 6), round(lon, 6))]


def test_repeated_metadata_segments_are_bounded() -> None:
    out, _ = run(build_jpeg(*[exif_app1(GPS_TIFF)] * (jpeg.MAX_PARSED + 10)))
    assert len(located(out)) == jpeg.MAX_PARSED
    assert any("more than" in w for w in out.warnings)
