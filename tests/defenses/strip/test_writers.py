"""Writers on files built in the test: each location block removed, everything else kept."""

from __future__ import annotations

import hashlib
import io
import re
import struct
from pathlib import Path

import pytest

from geoprivacy.defenses.strip import StripOptions, exif_edit
from geoprivacy.defenses.strip.engine import CLEANED, StripSettings, audit, strip_file
from geoprivacy.defenses.strip.iptc_edit import clean_iim
from geoprivacy.defenses.strip.jpeg import parse_segments
from geoprivacy.defenses.strip.xmp_edit import clean_xmp
from geoprivacy.errors import ParseError
from tests.defenses.strip import builders as b
from tests.defenses.strip.helpers import EXIFTOOL, exiftool_json, location_tags
from tests.defenses.strip.helpers import warnings as all_warnings

needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")


def strip(tmp_path: Path, name: str, data: bytes, *, all_metadata: bool = False) -> Path:
    src = tmp_path / name
    src.write_bytes(data)
    result = strip_file(str(src), StripSettings(output_dir=str(tmp_path / "out"),
                                                all_metadata=all_metadata))
    assert result.status == CLEANED and result.verified, result.errors
    out = Path(result.output)
    assert not audit(str(out)).evidence
    return out


def warnings(record: dict) -> set[str]:
    """exiftool warnings, less the one our synthetic MakerNote always causes."""
    return all_warnings(record) - {"[minor] Unrecognized MakerNotes"}


def exif_record(path: Path) -> dict:
    return exiftool_json([path], "-G1", "-ee", "-warning", "-Orientation", "-gps:all",
                         "-location:all", "-xmp:all", "-iptc:all")[str(path)]


def dirty_jpeg() -> bytes:
    iptc = b.iim(2, 0, b"\x00\x04") + b.iim(2, 5, b"Keep") + b.iim(2, 90, b"Lund") \
        + b.iim(2, 101, b"Sweden")
    return b.with_segments(b.plain_jpeg(), [
        b.exif_segment(b.make_exif(orientation=6)),
        b.segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + b.xmp_packet(b.GPS_XMP_BODY)),
        b.segment(0xED, b"Photoshop 3.0\x00" + b.irb(0x0404, iptc)),
    ])


@needs_exiftool
def test_jpeg_default_keeps_length_makernote_and_scan(tmp_path: Path) -> None:
    data = dirty_jpeg()
    out = strip(tmp_path, "a.jpg", data).read_bytes()
    assert len(out) == len(data)
    note = data.index(b.MAKERNOTE)
    assert out[note:note + len(b.MAKERNOTE)] == b.MAKERNOTE
    _, sos = parse_segments(data)
    assert out[sos:] == data[sos:]
    rec = exif_record(tmp_path / "out" / "a.jpg")
    assert location_tags(rec) == {} and not warnings(rec)
    assert rec["IFD0:Orientation"] == [6]
    assert rec["XMP-dc:Title"] == ["Keep this title"]
    assert rec["IPTC:ObjectName"] == ["Keep"]


@needs_exiftool
def test_jpeg_extended_xmp_cleaned_and_guid_renewed(tmp_path: Path) -> None:
    extended = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
                b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
                b'rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
                b'xmlns:dc="http://purl.org/dc/elements/1.1/" exif:GPSLatitude="55,42.0N" '
                b'exif:GPSLongitude="13,11.4E"><dc:description><rdf:Alt><rdf:li '
                b'xml:lang="x-default">Extended stays</rdf:li></rdf:Alt></dc:description>'
                b'</rdf:Description></rdf:RDF></x:xmpmeta>')
    guid = hashlib.md5(extended).hexdigest().upper()
    main = b.xmp_packet('<dc:title><rdf:Alt><rdf:li xml:lang="x-default">t</rdf:li></rdf:Alt>'
                        '</dc:title>', extended_guid=guid)
    data = b.with_segments(b.plain_jpeg(), [
        b.segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + main),
        *b.extended_xmp_segments(extended, guid, 150)])
    assert location_tags(exif_record(_write(tmp_path / "in.jpg", data)))   # exiftool sees GPS
    out = strip(tmp_path, "a.jpg", data)
    blob = out.read_bytes()
    new_guid = re.search(rb'HasExtendedXMP="([0-9A-F]{32})"', blob).group(1).decode()
    assert new_guid != guid
    parts = re.findall(rb"http://ns.adobe.com/xmp/extension/\x00([0-9A-F]{32})(.{8})", blob,
                       re.S)
    assert parts and all(g.decode() == new_guid for g, _ in parts)
    rec = exif_record(out)
    assert location_tags(rec) == {} and not warnings(rec)
    assert rec["XMP-dc:Description"] == ["Extended stays"]     # exiftool accepted the GUID


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@needs_exiftool
def test_jpeg_mpf_secondary_image_cleaned_in_place(tmp_path: Path) -> None:
    secondary = b.with_segments(b.plain_jpeg((16, 12), (10, 200, 10)),
                                [b.exif_segment(b.make_exif(lat=40.1, lon=3.7))])
    data = b.mpf_file(b.plain_jpeg(), secondary)
    assert location_tags(exif_record(_write(tmp_path / "in.jpg", data)))
    src = tmp_path / "a.jpg"
    src.write_bytes(data)
    result = strip_file(str(src), StripSettings(output_dir=str(tmp_path / "out")))
    assert result.status == CLEANED and any(r.startswith("MPF image 2:") for r in result.removed)
    out = Path(result.output).read_bytes()
    start = len(data) - len(secondary)
    assert len(out) == len(data) and out[start:start + 2] == b"\xff\xd8"
    inner = out[start:]
    segs, _ = parse_segments(inner)
    exif = next(s for s in segs if inner[s.payload:s.payload + 4] == b"Exif")
    layout = exif_edit.walk(inner, exif.payload + 6, exif.end)
    assert "GPS" not in [role for role, _ in layout.ifds]
    assert location_tags(exif_record(Path(result.output))) == {}


@needs_exiftool
def test_jpeg_all_keeps_orientation_icc_and_pixels(tmp_path: Path) -> None:
    from PIL import Image, ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = b.with_segments(b.plain_jpeg(icc_profile=icc), [
        b.exif_segment(b.make_exif(orientation=6)),
        b.segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + b.xmp_packet(b.GPS_XMP_BODY)),
        b.segment(0xFE, b"a comment")]) + b"trailing bytes after EOI"
    out = strip(tmp_path, "a.jpg", data, all_metadata=True)
    rec = exif_record(out)
    assert rec.get("IFD0:Orientation") == [6]
    assert not [k for k in rec if k.startswith("XMP")] and location_tags(rec) == {}
    with Image.open(out) as im, Image.open(io.BytesIO(data)) as ref:
        assert im.info.get("icc_profile") == icc
        assert im.tobytes() == ref.tobytes()
    blob = out.read_bytes()
    assert b.MAKERNOTE not in blob and b"a comment" not in blob and not blob.endswith(b"EOI")


def _png(tmp_path: Path) -> bytes:
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", b.xmp_packet(b.GPS_XMP_BODY).decode(), zip=True)
    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(buf, "PNG", pnginfo=info,
                                               exif=b"Exif\x00\x00" + b.make_exif(orientation=3))
    return buf.getvalue()


@needs_exiftool
@pytest.mark.parametrize("all_metadata", [False, True])
def test_png_chunks_rewritten(tmp_path: Path, all_metadata: bool) -> None:
    from PIL import Image

    data = _png(tmp_path)
    out = strip(tmp_path, "a.png", data, all_metadata=all_metadata)
    with Image.open(out) as im:
        im.verify()                                   # CRCs are right
    with Image.open(out) as im, Image.open(io.BytesIO(data)) as ref:
        assert im.tobytes() == ref.tobytes()
    rec = exif_record(out)
    assert location_tags(rec) == {} and not warnings(rec)
    assert rec.get("IFD0:Orientation") == [3]
    assert ("XMP-dc:Title" in rec) is (not all_metadata)


@needs_exiftool
@pytest.mark.parametrize("all_metadata", [False, True])
def test_webp_chunks_sizes_and_flags(tmp_path: Path, all_metadata: bool) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (9, 8, 7)).save(buf, "WEBP", lossless=True,
                                               exif=b.make_exif(), xmp=b.xmp_packet(b.GPS_XMP_BODY))
    data = buf.getvalue()
    out = strip(tmp_path, "a.webp", data, all_metadata=all_metadata).read_bytes()
    assert struct.unpack("<I", out[4:8])[0] == len(out) - 8
    flags = out[20] if out[12:16] == b"VP8X" else 0
    assert bool(flags & 0x08) is (b"EXIF" in out) and bool(flags & 0x04) is (b"XMP " in out)
    with Image.open(io.BytesIO(out)) as im, Image.open(io.BytesIO(data)) as ref:
        assert im.tobytes() == ref.tobytes()
    rec = exif_record(_write(tmp_path / "check.webp", out))
    assert location_tags(rec) == {} and not warnings(rec)


@needs_exiftool
def test_tiff_gps_ifd_neutralised_in_place(tmp_path: Path) -> None:
    data = b.make_exif()
    out = strip(tmp_path, "a.tif", data).read_bytes()
    assert len(out) == len(data) and out.endswith(b.MAKERNOTE)
    assert 55 not in [struct.unpack(">I", out[i:i + 4])[0] for i in range(122, 170, 8)]
    assert location_tags(exif_record(tmp_path / "out" / "a.tif")) == {}


def test_xmp_matches_namespaces_not_prefixes() -> None:
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
           b'02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:e="http://ns.adobe.com/'
           b'exif/1.0/" e:GPSLatitude="1,2N" e:ExposureTime="1/8"><e:GPSLongitude>3,4E'
           b'</e:GPSLongitude></rdf:Description></rdf:RDF></x:xmpmeta>')
    cleaned, removed = clean_xmp(xmp, same_size=True)
    assert len(cleaned) == len(xmp)
    assert removed == ["XMP:e:GPSLatitude", "XMP:e:GPSLongitude"]
    assert b"GPS" not in cleaned and b'e:ExposureTime="1/8"' in cleaned


def test_xmp_with_doctype_is_refused() -> None:
    with pytest.raises(ParseError):
        clean_xmp(b'<!DOCTYPE x [<!ENTITY a "b">]><x:xmpmeta xmlns:x="adobe:ns:meta/"/>')


def test_iim_place_datasets_removed_at_same_length() -> None:
    data = b.iim(2, 5, b"Keep") + b.iim(2, 90, b"Lund") + b.iim(2, 120, b"caption")
    cleaned, removed = clean_iim(data)
    assert removed == ["IPTC:City"] and len(cleaned) == len(data)
    assert cleaned.startswith(b.iim(2, 5, b"Keep") + b.iim(2, 120, b"caption"))
    assert cleaned.endswith(bytes(len(b.iim(2, 90, b"Lund"))))


def test_writer_contract_options_type() -> None:
    assert StripOptions().all_metadata is False and StripOptions(True).all_metadata


def _klv(key: bytes, typ: int, size: int, repeat: int, data: bytes) -> bytes:
    return key + bytes([typ, size]) + struct.pack(">H", repeat) + data + bytes(-len(data) % 4)


def test_jpeg_gopro_gpmf_gps_emptied(tmp_path: Path) -> None:
    rows = struct.pack(">5i", 557000000, 131900000, 10000, 0, 0) * 2
    inner = (_klv(b"GPSF", ord("L"), 4, 1, struct.pack(">I", 3))
             + _klv(b"SCAL", ord("l"), 4, 5, struct.pack(">5i", 10000000, 10000000, 1000, 1, 1))
             + _klv(b"GPS5", ord("l"), 20, 2, rows))
    strm = _klv(b"STRM", 0, 4, len(inner) // 4, inner)
    devc = _klv(b"DEVC", 0, 4, len(strm) // 4, strm)
    data = b.with_segments(b.plain_jpeg(), [b.segment(0xE6, b"GoPro\x00" + devc)])
    src = _write(tmp_path / "gopro.jpg", data)
    found = [e.where for e in audit(str(src)).evidence]
    out = strip(tmp_path, "a.jpg", data).read_bytes()
    assert len(out) == len(data) and b"GPS5" not in out and b"SCAL" in out
    assert "GoPro:GPS5" in found                 # the attacker saw it before


def test_container_without_writer_is_copied_and_verified(tmp_path: Path) -> None:
    from tests.corpus import SHARED_DATA

    avi = SHARED_DATA / "videos" / "vtest.avi"
    result = strip_file(str(avi), StripSettings(output_dir=str(tmp_path)))
    if result.container != "AVI" or "no strip writer" in " ".join(result.errors):
        pytest.skip("no AVI reader in the metadata attacker")
    assert result.status == "clean" and result.verified
    assert (tmp_path / "vtest.avi").read_bytes() == avi.read_bytes()


def test_geotiff_georeferencing_removed_pixels_kept(tmp_path: Path) -> None:
    from PIL import Image, TiffImagePlugin

    src = tmp_path / "ortho.tif"
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    for tag, values in ((33550, (0.5, 0.5, 0.0)), (33922, (0, 0, 0, 420000.0, 5300000.0, 0))):
        ifd[tag], ifd.tagtype[tag] = values, 12
    ifd[34735], ifd.tagtype[34735] = (1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 32633), 3
    Image.new("RGB", (32, 24), (90, 120, 60)).save(src, tiffinfo=ifd)
    assert any(e.kind.is_location for e in audit(str(src)).evidence)
    out = strip(tmp_path, "ortho.tif", src.read_bytes())
    assert not any(e.kind.is_location for e in audit(str(out)).evidence)
    with Image.open(src) as a, Image.open(out) as b_:
        assert a.tobytes() == b_.tobytes()
        assert not {33550, 33922, 34735} & set(b_.tag_v2)


@pytest.mark.parametrize("all_metadata", [False, True])
def test_bigtiff_gps_and_geotiff_removed_pixels_kept(tmp_path: Path, all_metadata: bool) -> None:
    tifffile = pytest.importorskip("tifffile")
    import numpy as np

    from tests.attacks.metadata.tiffbuild import bigtiff_with_gps

    gps = strip(tmp_path, "gps.tif", bigtiff_with_gps(), all_metadata=all_metadata)
    assert len(gps.read_bytes()) == len(bigtiff_with_gps())
    pixels = np.arange(16 * 16 * 3, dtype=np.uint8).reshape(16, 16, 3)
    src = tmp_path / "ortho.tif"
    tifffile.imwrite(src, pixels, bigtiff=True, extratags=[
        (33922, "d", 6, (0, 0, 0, 13.93, 47.84, 0), True),
        (34735, "H", 12, (1, 1, 0, 2, 1024, 0, 1, 2, 2048, 0, 1, 4326), True)])
    assert any(e.kind.is_location for e in audit(str(src)).evidence)
    out = strip(tmp_path, "ortho.tif", src.read_bytes(), all_metadata=all_metadata)
    assert (tifffile.imread(out) == pixels).all()
    with tifffile.TiffFile(out) as t:
        assert t.is_bigtiff and not {33922, 34735} & {tag.code for tag in t.pages[0].tags}
