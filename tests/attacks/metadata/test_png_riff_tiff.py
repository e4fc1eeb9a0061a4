"""PNG chunks, WebP (RIFF) chunks and TIFF files: metadata found, image data skipped, bounds kept."""

from __future__ import annotations

import binascii
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from geoprivacy.attacks.metadata import png, riff, tiff
from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.errors import GeoprivacyError, ParseError
from geoprivacy.media.source import Source
from tests.attacks.metadata.xmpbuild import packet
from tests.attacks.metadata.tiffbuild import (ASCII, LONG, UNDEF, Ptr, build, exif_with_gps,
                                              gps_entries)

LAT = round(52 + 30 / 60 + 12.34 / 3600, 6)
LON = round(13 + 24 / 60 + 56.78 / 3600, 6)
GPS_TIFF = exif_with_gps(gps_entries())
XMP = packet('exif:GPSLatitude="10,30.0S" exif:GPSLongitude="20,0.0W"')


def run(module, data: bytes) -> tuple[Collector, Source]:  # type: ignore[no-untyped-def]
    src = Source.from_bytes(data)
    out = Collector()
    module.parse(src, out)
    return out, src


def located(out: Collector) -> list[tuple[str, float, float]]:
    return [(e.where, round(e.lat, 6), round(e.lon, 6)) for e in out.evidence
            if e.is_location and e.lat is not None]


# --- PNG -----------------------------------------------------------------------------------

def chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def png_file(*chunks: bytes, idat: bytes = b"\x00" * 64, end: bool = True) -> bytes:
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    return (png.SIGNATURE + ihdr + b"".join(chunks) + chunk(b"IDAT", idat)
            + (chunk(b"IEND", b"") if end else b""))


def raw_profile(kind: bytes, blob: bytes) -> bytes:
    hexed = binascii.hexlify(blob)
    lines = b"\n".join(hexed[i:i + 72] for i in range(0, len(hexed), 72))
    return b"\n" + kind + b"\n" + str(len(blob)).rjust(8).encode() + b"\n" + lines + b"\n"


def test_png_exif_chunk_and_idat_not_read() -> None:
    out, src = run(png, png_file(chunk(b"eXIf", GPS_TIFF), idat=b"\x00" * 500_000))
    assert located(out) == [("EXIF:GPSLatitude", LAT, LON)]
    assert src.bytes_read < 2000 and not out.warnings


@pytest.mark.parametrize("compressed", [False, True])
def test_png_itxt_xmp(compressed: bool) -> None:
    text = zlib.compress(XMP) if compressed else XMP
    data = b"XML:com.adobe.xmp\x00" + bytes([int(compressed), 0]) + b"\x00\x00" + text
    out, _ = run(png, png_file(chunk(b"iTXt", data)))
    assert located(out) == [("XMP:exif:GPSLatitude", -10.5, -20.0)]


def test_png_raw_profiles_in_ztxt_and_text() -> None:
    ztxt = chunk(b"zTXt", b"Raw profile type exif\x00\x00"
                 + zlib.compress(raw_profile(b"exif", b"Exif\x00\x00" + GPS_TIFF)))
    iim = bytes([0x1C, 2, 90]) + struct.pack(">H", 4) + b"Lund"
    text = chunk(b"tEXt", b"Raw profile type iptc\x00" + raw_profile(b"iptc", iim))
    out, _ = run(png, png_file(ztxt, text))
    assert located(out) == [("EXIF:GPSLatitude", LAT, LON)]
    assert [(e.where, e.detail.get("name")) for e in out.evidence][1] == ("IPTC:City", "Lund")


def test_png_decompression_is_bounded() -> None:
    bomb = zlib.compress(b"<" + b" " * (png.MAX_INFLATED + 1_000_000), 9)
    out, _ = run(png, png_file(chunk(b"zTXt", b"XML:com.adobe.xmp\x00\x00" + bomb)))
    assert any("inflates past" in w for w in out.warnings)


@pytest.mark.parametrize("data,warning", [
    (png.SIGNATURE + chunk(b"IHDR", b"\x00" * 13), "without an IEND"),
    (png.SIGNATURE + struct.pack(">I", 0x7FFFFFFF) + b"tEXt" + b"abc", "runs past the end"),
    (png_file(chunk(b"zTXt", b"k\x00\x00not zlib")), "corrupt"),
    (png_file(chunk(b"tEXt", b"Raw profile type exif\x00garbage")), "not a raw profile"),
])
def test_png_damage_warns(data: bytes, warning: str) -> None:
    out, _ = run(png, data)
    assert any(warning in w for w in out.warnings), out.warnings


def test_png_wrong_signature() -> None:
    with pytest.raises(ParseError):
        run(png, b"\x89PNX\r\n\x1a\n")


# --- WebP ----------------------------------------------------------------------------------

def riff_chunk(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def webp(*chunks: bytes, size_delta: int = 0) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) + size_delta) + body


@pytest.mark.parametrize("prefix", [b"", b"Exif\x00\x00"])
def test_webp_exif_chunk_with_or_without_the_improper_header(prefix: bytes) -> None:
    out, _ = run(riff, webp(riff_chunk(b"VP8X", b"\x08" + b"\x00" * 9),
                            riff_chunk(b"VP8 ", b"\x00" * 1001), riff_chunk(b"EXIF", prefix + GPS_TIFF)))
    assert located(out) == [("EXIF:GPSLatitude", LAT, LON)] and not out.warnings


def test_webp_xmp_after_an_odd_sized_chunk() -> None:
    out, src = run(riff, webp(riff_chunk(b"VP8L", b"\x00" * 200_001), riff_chunk(b"XMP ", XMP)))
    assert located(out) == [("XMP:exif:GPSLatitude", -10.5, -20.0)]
    assert src.bytes_read < len(XMP) + 1000


def test_webp_size_mismatch_and_chunk_past_end_warn() -> None:
    out, _ = run(riff, webp(riff_chunk(b"EXIF", GPS_TIFF), size_delta=1000))
    assert any("RIFF size" in w for w in out.warnings)
    assert located(out)
    data = webp(riff_chunk(b"EXIF", GPS_TIFF))
    out, _ = run(riff, data[:-20])
    assert out.warnings


def test_webp_wrong_form() -> None:
    with pytest.raises(ParseError):
        run(riff, b"RIFF\x04\x00\x00\x00AVI ")


# --- TIFF files ----------------------------------------------------------------------------

def test_tiff_file_gps_subifd_and_embedded_xmp(tmp_path: Path) -> None:
    ifd0 = [(0x0110, ASCII, b"Cam\x00"), (0x014A, LONG, Ptr(2)), (700, UNDEF, XMP),
            (0x8825, LONG, Ptr(1))]
    sub_gps = gps_entries(lat_ref=b"S\x00")
    block = build([ifd0, gps_entries(), [(0x8825, LONG, Ptr(3))], sub_gps])
    path = tmp_path / "x.tif"
    path.write_bytes(block + b"\x00" * 3_000_000)
    out = Collector()
    with Source.from_path(path) as src:
        tiff.parse(src, out)
        assert src.bytes_read < 5000
    assert sorted(located(out)) == sorted([("EXIF:GPSLatitude", LAT, LON),
                                           ("EXIF:SubIFD1:GPSLatitude", -LAT, LON),
                                           ("XMP:exif:GPSLatitude", -10.5, -20.0)])


def test_tiff_loop_and_bad_header() -> None:
    out, _ = run(tiff, build([[(0x8825, LONG, Ptr(1))], gps_entries()], chain={0: 0}))
    assert located(out) and any("loop" in w for w in out.warnings)
    with pytest.raises(GeoprivacyError):
        run(tiff, b"II*\x00")


def _samples() -> dict[str, bytes]:
    ztxt = chunk(b"zTXt", b"Raw profile type exif\x00\x00"
                 + zlib.compress(raw_profile(b"exif", b"Exif\x00\x00" + GPS_TIFF)))
    return {
        "png": png_file(chunk(b"eXIf", GPS_TIFF), ztxt,
                        chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP)),
        "riff": webp(riff_chunk(b"VP8 ", b"\x00" * 11), riff_chunk(b"EXIF", GPS_TIFF),
                     riff_chunk(b"XMP ", XMP)),
        "tiff": build([[(0x014A, LONG, Ptr(2)), (700, UNDEF, XMP), (0x8825, LONG, Ptr(1))],
                       gps_entries(), [(0x8825, LONG, Ptr(1))]], chain={0: 2}),
    }


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["png", "riff", "tiff"]), st.integers(0, 5000),
       st.binary(min_size=1, max_size=8))
def test_mutations_raise_only_parse_errors(kind: str, pos: int, junk: bytes) -> None:
    module = {"png": png, "riff": riff, "tiff": tiff}[kind]
    data = bytearray(_samples()[kind])
    pos %= len(data)
    data[pos:pos + len(junk)] = junk
    try:
        run(module, bytes(data))
    except GeoprivacyError:
        pass
