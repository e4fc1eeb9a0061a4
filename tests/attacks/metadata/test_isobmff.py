"""ISO-BMFF walker, QuickTime/3GPP/HEIF location boxes: the corpus table, then generated files."""

from __future__ import annotations

import shutil
import struct
import time
from pathlib import Path

import pytest

from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.attacks.metadata.isobmff import MAX_DEPTH, Walker
from geoprivacy.attacks.metadata.quicktime import XMP_UUID, parse_iso6709
from geoprivacy.media.sniff import sniff
from geoprivacy.media.source import Source
from geoprivacy.types import EvidenceKind, Granularity
from tests.attacks.metadata.bmffbuild import box, ftyp, full_box, locations, movie_with_samples, \
    mvhd, only, read_bmff, sample_entry
from tests.attacks.metadata.tiffbuild import exif_with_gps, gps_entries
from tests.corpus import entries

BMFF_PREFIXES = ("HEIC", "MP4", "MOV", "3GP")
CORPUS = [e for e in entries("photo", "video", "malformed")
          if e["container"].startswith(BMFF_PREFIXES)]


def test_corpus_has_bmff_entries() -> None:
    assert len(CORPUS) >= 20, "the MANIFEST should list the ISO-BMFF corpus"


@pytest.mark.parametrize("entry", CORPUS, ids=[e["path"] for e in CORPUS])
def test_corpus_entry(entry: dict, shared_data: Path) -> None:
    path = shared_data / entry["path"]
    started = time.perf_counter()
    container, out, errors, read = read_bmff(path)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"{entry['path']} took {elapsed:.2f} s"
    assert read <= 512 * 1024, f"{entry['path']}: read {read} bytes, metadata only expected"
    expected = entry["expected_gps"]
    found = locations(out)
    if entry["kind"] == "malformed" and entry["path"].endswith("_truncated.mp4"):
        assert read < 64 * 1024      # a truncated 1 MB movie is not read wholesale
    if expected is None:
        assert not found, [e.to_dict() for e in found]
        if entry["kind"] == "malformed" and container in ("MP4", "MOV", "HEIF"):
            # Broken structure: an error line or a non-place evidence, never a location.
            assert errors or out.evidence or entry["bytes"] < 700, entry["path"]
    elif expected == [0.0, 0.0]:
        assert not found
        assert any(e.kind is EvidenceKind.PLACEHOLDER for e in out.evidence)
    else:
        assert any(abs(e.lat - expected[0]) <= 1e-5 and abs(e.lon - expected[1]) <= 1e-5
                   for e in found), ([e.to_dict() for e in found], expected)


def test_wrong_extension_is_sniffed_by_content(shared_data: Path) -> None:
    container, out, errors, _ = read_bmff(shared_data / "malformed/with-gps_mp4_named.jpg")
    assert container == "MP4"
    assert only(out, "QuickTime:©xyz").lat == pytest.approx(51.4169)
    container, out, errors, _ = read_bmff(shared_data / "malformed/issue_2427_poc.jpg")
    assert container in ("MP4", "MOV") and errors and not locations(out)


def test_heromode_reports_gpmf_track_and_rounded_xyz(shared_data: Path) -> None:
    _, out, errors, _ = read_bmff(shared_data / "videos/max-heromode.mp4")
    assert not errors
    gps5 = only(out, "GPMF:GPS5")
    assert gps5.kind is EvidenceKind.TRACK
    assert (gps5.lat, gps5.lon) == pytest.approx((33.12677, -117.3273436), abs=1e-7)
    summary = gps5.detail["track"]
    assert summary["count"] > 150 and summary["first"]["time_iso"].startswith("2019-11-18T23:45")
    xyz = only(out, "QuickTime:©xyz")
    assert xyz.kind is EvidenceKind.POSITION and xyz.detail["value"] == "+33.1268-117.3273/"


def test_mov_keys_location_and_altitude(shared_data: Path) -> None:
    _, out, _, _ = read_bmff(shared_data / "videos/with-gps.mov")
    ev = only(out, "QuickTime:keys:com.apple.quicktime.location.ISO6709")
    assert (ev.lat, ev.lon) == pytest.approx((32.0929, 34.862))
    assert ev.detail["alt"] == pytest.approx(28.516)


def test_heic_exif_item_at_end_of_file_and_truncated_copy(shared_data: Path) -> None:
    _, out, errors, read = read_bmff(shared_data / "photos/exif-at-eof.heic")
    assert not errors and locations(out)[0].where.startswith("HEIF:EXIF")
    assert read < 64 * 1024      # the item at the end is reached without reading the image
    _, out, errors, _ = read_bmff(shared_data / "malformed/exif-at-eof_truncated.heic")
    assert not locations(out)
    assert any("past the end" in e and "HEIF:EXIF" in e for e in errors)


@pytest.mark.parametrize("suffix,source", [
    (".LRV", "videos/karma.mp4"), (".LRF", "videos/with-gps.mov"), (".lrv", "videos/with-gps.mp4")])
def test_low_res_copies_are_sniffed_as_movies(tmp_path: Path, shared_data: Path, suffix: str,
                                             source: str) -> None:
    """GoPro .LRV and DJI .LRF proxies are MP4/MOV inside, whatever their extension."""
    copy = tmp_path / f"GL010001{suffix}"
    shutil.copyfile(shared_data / source, copy)
    container, out, errors, _ = read_bmff(copy)
    assert container in ("MP4", "MOV") and not errors
    assert locations(out)


def test_thm_thumbnail_is_sniffed_as_jpeg(tmp_path: Path, shared_data: Path) -> None:
    jpeg = next(e for e in entries("photo") if e["container"].startswith("JPEG"))
    copy = tmp_path / "GOPR0001.THM"
    shutil.copyfile(shared_data / jpeg["path"], copy)
    with Source.from_path(copy) as src:
        assert sniff(src).container == "JPEG"


# --- ISO 6709 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text,lat,lon,alt,step", [
    ("+33.1268-117.3273/", 33.1268, -117.3273, None, 1e-4),
    ("+32.0929+034.8620+028.516/", 32.0929, 34.862, 28.516, 1e-4),
    ("+52-001/", 52.0, -1.0, None, 1.0),
    ("+4012.5-07530.25/", 40.208333, -75.504167, None, 0.1 / 60),
    ("+401230.5-0753015/", 40.208472, -75.504167, None, 1 / 3600),
    ("-33.8688+151.2093CRSWGS_84/", -33.8688, 151.2093, None, 1e-4),
    ("+033.8688+0151.2093/", 33.8688, 151.2093, None, 1e-4),
])
def test_iso6709_forms(text: str, lat: float, lon: float, alt: float | None,
                       step: float) -> None:
    parsed = parse_iso6709(text)
    assert parsed is not None
    assert parsed[0] == pytest.approx(lat, abs=1e-6) and parsed[1] == pytest.approx(lon, abs=1e-6)
    assert parsed[2] == (pytest.approx(alt) if alt is not None else None)
    assert parsed[3] == pytest.approx(step)


def test_iso6709_rejects_text() -> None:
    assert parse_iso6709("hello") is None and parse_iso6709("") is None


def test_coarse_xyz_is_a_coarse_place() -> None:
    """A position rounded to whole degrees discloses a region, not a street."""
    xyz = box(b"\xa9xyz", struct.pack(">HH", 8, 0x15C7) + b"+52-001/")
    data = ftyp() + box(b"moov", mvhd() + box(b"udta", xyz))
    _, out, errors, _ = read_bmff(data)
    ev = only(out, "QuickTime:©xyz")
    assert not errors and ev.granularity in (Granularity.REGION, Granularity.COUNTRY)


# --- the walker on hostile structures ----------------------------------------------------------

def _xyz_movie(lat: str = "+48.8584+002.2945/") -> bytes:
    xyz = box(b"\xa9xyz", struct.pack(">HH", len(lat), 0x15C7) + lat.encode())
    return box(b"moov", mvhd() + box(b"udta", xyz))


def test_size_zero_box_runs_to_end_of_file() -> None:
    data = ftyp() + _xyz_movie() + struct.pack(">I", 0) + b"mdat" + bytes(100)
    _, out, errors, _ = read_bmff(data)
    assert not errors and only(out, "QuickTime:©xyz").lat == pytest.approx(48.8584)


def test_largesize_box_is_skipped_by_its_64_bit_size() -> None:
    mdat = struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 16 + 50) + bytes(50)
    data = ftyp() + mdat + _xyz_movie()
    _, out, errors, _ = read_bmff(data)
    assert not errors and only(out, "QuickTime:©xyz").lon == pytest.approx(2.2945)


def test_size_past_end_of_file_is_a_warning_not_a_crash() -> None:
    data = ftyp() + _xyz_movie() + struct.pack(">I", 10_000_000) + b"mdat" + bytes(10)
    _, out, errors, read = read_bmff(data)
    assert locations(out) and any("past the end" in e for e in errors)
    assert read < 10_000


def test_impossible_size_stops_the_walk() -> None:
    data = ftyp() + struct.pack(">I", 3) + b"junk" + _xyz_movie()
    _, out, errors, _ = read_bmff(data)
    assert any("impossible size" in e for e in errors)


def test_deep_nesting_is_bounded() -> None:
    inner = _xyz_movie()
    for _ in range(200):
        inner = box(b"udta", inner)
    data = ftyp() + box(b"moov", mvhd() + inner)
    _, out, errors, _ = read_bmff(data)   # no RecursionError, no hang
    assert not locations(out)
    walker = Walker(Source.from_bytes(data), Collector())
    assert list(walker.children(0, len(data), MAX_DEPTH + 1, "udta")) == []
    assert any("nested deeper" in w for w in walker.out.warnings)


def test_box_count_is_bounded() -> None:
    data = ftyp() + box(b"moov", mvhd() + box(b"free") * 60_000)
    _, out, errors, _ = read_bmff(data)
    assert any("more than" in e and "boxes" in e for e in errors)


def test_tiny_files_give_one_error() -> None:
    for data in (b"\x00", b"\x00\x00\x00\x10ftypisom"):
        _, out, errors, _ = read_bmff(data)
        assert errors and not locations(out)


def test_mdat_is_never_read(tmp_path: Path) -> None:
    path = tmp_path / "movie.mp4"
    path.write_bytes(ftyp() + box(b"mdat", b"\xaa" * 3_000_000) + _xyz_movie())
    _, out, errors, read = read_bmff(path)
    assert locations(out) and not errors and read < 10_000


def _sparse_movie(path: Path, media_bytes: int) -> None:
    """A movie whose mdat is declared (64-bit size) but never written: a sparse file."""
    with path.open("wb") as f:
        f.write(ftyp())
        f.write(struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 16 + media_bytes))
        f.seek(media_bytes, 1)
        f.write(_xyz_movie())


def test_cost_grows_with_metadata_not_file_size(tmp_path: Path) -> None:
    small, big = tmp_path / "small.mp4", tmp_path / "big.mp4"
    _sparse_movie(small, 5 * 1024 * 1024)
    _sparse_movie(big, 500 * 1024 * 1024)
    assert big.stat().st_size > 500 * 1024 * 1024
    _, out_small, errors_small, read_small = read_bmff(small)
    _, out_big, errors_big, read_big = read_bmff(big)
    assert not errors_small and not errors_big
    assert locations(out_small) and locations(out_big)
    assert read_small == read_big < 16 * 1024


# --- 3GPP loci, keys place names, XMP ----------------------------------------------------------

def test_loci_generated_from_3gpp_spec() -> None:
    """3GPP TS 26.244 LocationInformationBox: name, role, 16.16 lon/lat/alt, body, notes."""
    body = (struct.pack(">H", 0x15C7) + b"Office\x00" + b"\x00"
            + struct.pack(">iii", int(-0.1278 * 65536), int(51.5074 * 65536), 35 * 65536)
            + b"earth\x00" + b"\x00")
    data = ftyp(b"3gp6", (b"3gp6",)) + box(b"moov", mvhd() + box(b"udta", full_box(b"loci", body)))
    container, out, errors, _ = read_bmff(data)
    assert container == "3GP" and not errors
    ev = only(out, "3GPP:loci")
    assert (ev.lat, ev.lon) == pytest.approx((51.5074, -0.1278), abs=1e-4)
    assert only(out, "3GPP:loci:name").detail["name"] == "Office"


def test_loci_on_the_moon_is_not_a_place() -> None:
    body = (struct.pack(">H", 0) + b"\x00\x00" + struct.pack(">iii", 65536, 65536 * 2, 0)
            + b"moon\x00\x00")
    data = ftyp() + box(b"moov", mvhd() + box(b"udta", full_box(b"loci", body)))
    _, out, _, _ = read_bmff(data)
    assert not locations(out) and only(out, "3GPP:loci").kind is EvidenceKind.INVALID


def _keys_meta(pairs: list[tuple[str, str]]) -> bytes:
    keys = full_box(b"keys", struct.pack(">I", len(pairs)) + b"".join(
        struct.pack(">I", 8 + len(k)) + b"mdta" + k.encode() for k, _ in pairs))
    items = b"".join(box(struct.pack(">I", i + 1), box(b"data", struct.pack(">II", 1, 0)
                                                         + v.encode()))
                     for i, (_, v) in enumerate(pairs))
    hdlr = full_box(b"hdlr", bytes(4) + b"mdta" + bytes(12) + b"\x00")
    return box(b"meta", hdlr + keys + box(b"ilst", items))


def test_keys_location_name_is_a_place_name() -> None:
    meta = _keys_meta([("com.apple.quicktime.make", "Apple"),
                       ("com.apple.quicktime.location.ISO6709", "+35.6586+139.7454+000.000/"),
                       ("com.apple.quicktime.location.name", "Tokyo Tower")])
    data = ftyp(b"qt  ", (b"qt  ",)) + box(b"moov", mvhd() + meta)
    container, out, errors, _ = read_bmff(data)
    assert container == "MOV" and not errors
    assert only(out, "QuickTime:keys:com.apple.quicktime.location.ISO6709").lat == \
        pytest.approx(35.6586)
    assert only(out, "QuickTime:keys:com.apple.quicktime.location.name").detail["name"] == \
        "Tokyo Tower"


XMP_PACKET = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
              b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
              b'exif:GPSLatitude="41,24.5N" exif:GPSLongitude="2,10.25E"/>'
              b'</rdf:RDF></x:xmpmeta>')


def test_xmp_uuid_box_is_read() -> None:
    data = ftyp() + box(b"uuid", XMP_UUID + XMP_PACKET) + _xyz_movie()
    _, out, errors, _ = read_bmff(data)
    xmp = [e for e in locations(out) if e.where.startswith("QuickTime:XMP")]
    assert xmp and xmp[0].lat == pytest.approx(41 + 24.5 / 60, abs=1e-6)


def test_xmp_atom_in_udta_is_read() -> None:
    data = ftyp() + box(b"moov", mvhd() + box(b"udta", box(b"XMP_", XMP_PACKET)))
    _, out, _, _ = read_bmff(data)
    assert any(e.where.startswith("QuickTime:XMP_") for e in locations(out))


# --- HEIF items --------------------------------------------------------------------------------

def _heif(exif_payload: bytes, method: int, xmp: bytes | None = None) -> bytes:
    """A HEIF with an Exif item (and optionally an XMP item) placed per construction method."""
    infe = [full_box(b"infe", struct.pack(">HH", 1, 0) + b"hvc1" + b"\x00", version=2),
            full_box(b"infe", struct.pack(">HH", 2, 0) + b"Exif" + b"\x00", version=2)]
    if xmp is not None:
        infe.append(full_box(b"infe", struct.pack(">HH", 3, 0) + b"mime" + b"\x00"
                             + b"application/rdf+xml\x00", version=2))
    iinf = full_box(b"iinf", struct.pack(">H", len(infe)) + b"".join(infe))
    head = ftyp(b"heic", (b"mif1", b"heic"))

    def build(exif_offset: int, xmp_offset: int) -> bytes:
        rows = [(1, 0, 0, 0), (2, method, exif_offset, len(exif_payload))]
        if xmp is not None:
            rows.append((3, 0, xmp_offset, len(xmp)))
        body = bytes([0x44, 0x00]) + struct.pack(">H", len(rows)) + b"".join(
            struct.pack(">HHHHII", item, m, 0, 1, off, length) for item, m, off, length in rows)
        iloc = full_box(b"iloc", body, version=1)
        idat = box(b"idat", exif_payload) if method == 1 else b""
        hdlr = full_box(b"hdlr", bytes(4) + b"pict" + bytes(12) + b"\x00")
        return box(b"meta", bytes(4) + hdlr + iinf + iloc + idat)

    meta = build(0, 0)
    mdat = box(b"mdat", b"\x00" * 64)
    tail_start = len(head) + len(meta) + len(mdat) + 8    # inside a second mdat at the end
    exif_at = 0 if method == 1 else tail_start
    xmp_at = tail_start + (0 if method == 1 else len(exif_payload))
    meta = build(exif_at, xmp_at)
    tail = (b"" if method == 1 else exif_payload) + (xmp or b"")
    return head + meta + mdat + box(b"mdat", tail)


def _exif_item() -> bytes:
    tiff = exif_with_gps(gps_entries())
    return struct.pack(">I", 6) + b"Exif\x00\x00" + tiff


@pytest.mark.parametrize("method", [0, 1])
def test_heif_exif_item_generated_from_spec(method: int) -> None:
    """ISO/IEC 23008-12 items: Exif in the file after mdat (method 0) or in idat (method 1)."""
    container, out, errors, _ = read_bmff(_heif(_exif_item(), method))
    assert container == "HEIF" and not errors
    found = locations(out)
    assert found and found[0].where.startswith("HEIF:EXIF")
    assert found[0].lat == pytest.approx(52 + 30 / 60 + 12.34 / 3600, abs=1e-6)


def test_heif_xmp_item_generated_from_spec() -> None:
    container, out, errors, _ = read_bmff(_heif(_exif_item(), 0, XMP_PACKET))
    assert not errors
    assert any(e.where.startswith("HEIF:XMP") for e in locations(out))


def test_heif_item_past_end_of_file_is_an_error() -> None:
    data = _heif(_exif_item(), 0)
    _, out, errors, _ = read_bmff(data[:-20])
    assert not locations(out) and any("past the end" in e for e in errors)


def test_text_track_without_gps_reports_nothing() -> None:
    sample = struct.pack(">H", 5) + b"hello"
    data = movie_with_samples(b"sbtl", sample_entry(b"tx3g", bytes(30)), [sample])
    _, out, errors, _ = read_bmff(data)
    assert not errors and not out.evidence


def test_mutated_movies_never_raise(shared_data: Path) -> None:
    """Seeded byte mutations of real movies: only one-line errors, never an exception or a hang."""
    import random

    from geoprivacy.attacks.metadata import isobmff
    from geoprivacy.errors import GeoprivacyError

    rng = random.Random(20261125)
    seeds = [(shared_data / p).read_bytes() for p in
             ("videos/70mai_NO20191130-120156-000121.MP4", "videos/QuickTime.mov",
              "photos/QuickTime.heic")]
    seeds.append(_heif(_exif_item(), 0, XMP_PACKET))
    started = time.perf_counter()
    for _ in range(400):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(data))
            data[at:at + 4] = rng.choice([b"\x00\x00\x00\x00", b"\xff\xff\xff\xff",
                                          b"\x00\x00\x00\x01", bytes([rng.randrange(256)])])
        try:
            isobmff.parse(Source.from_bytes(bytes(data)), Collector())
        except GeoprivacyError:
            pass
    assert time.perf_counter() - started < 10


def test_renamed_proxy_goes_through_the_metadata_attacker(tmp_path: Path, shared_data: Path) -> None:
    """Dispatch is by sniffed container: a GoPro .LRV proxy reaches the ISO-BMFF parser."""
    from geoprivacy.attacks.metadata import MetadataAttacker
    from geoprivacy.types import MediaItem

    copy = tmp_path / "GL010001.LRV"
    shutil.copyfile(shared_data / "videos/max-heromode.mp4", copy)
    with Source.from_path(copy) as src:
        sniffed = sniff(src)
    item = MediaItem(str(copy), sniffed.kind, sniffed.container, sniffed.mime, copy.stat().st_size)
    outcome = MetadataAttacker().attack(item)
    assert not outcome.errors
    assert {e.where for e in outcome.evidence} >= {"GPMF:GPS5", "QuickTime:©xyz"}
