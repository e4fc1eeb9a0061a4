"""ISO-BMFF strip writer: every MP4/MOV/3GP/HEIC in the corpus and generated movies, round trip.

Each output is re-read by our audit AND by exiftool (``-ee``); audio/video packets (PyAV) and
decoded HEIC pixels (pillow-heif) must be identical; inputs must be unchanged.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from geoprivacy.attacks.metadata import MetadataAttacker
from geoprivacy.audit import AuditOptions, audit_file
from geoprivacy.defenses.strip import StripOptions, bmff_write, isobmff
from geoprivacy.defenses.strip import bmff_box as bb
from geoprivacy.defenses.strip import bmff_heif
from geoprivacy.errors import ParseError
from geoprivacy.media.source import Source
from tests.attacks.metadata.bmffbuild import box, full_box, sample_entry, track
from tests.attacks.metadata.test_dashcam import freegps_block, novatek_movie
from tests.corpus import entries

BMFF = {"HEIC", "MP4", "MOV", "3GP"}


def _is_bmff(entry: dict) -> bool:
    return entry["container"].split("/")[0].split(" ")[0] in BMFF


GOOD = [e for e in entries("photo", "video", "malformed") if _is_bmff(e)
        and (e["kind"] != "malformed" or e["path"].endswith("_named.jpg"))]
BAD = [e for e in entries("malformed") if _is_bmff(e) and e not in GOOD]
EXIFTOOL = shutil.which("exiftool")
LOCATION_KEY = ("GPSLatitude", "GPSLongitude", "GPSCoordinates", "GPSPosition",
                "LocationInformation", "LocationName", "GPSDataList")


# ------------------------------------------------------------------------------ helpers

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _strip(src: Path, tmp_path: Path, all_metadata: bool = False) -> tuple[Path, list[str]]:
    out = tmp_path / ("out-" + src.name)
    with open(out, "wb") as fh:
        removed = isobmff.strip_isobmff(str(src), fh, StripOptions(all_metadata=all_metadata))
    return out, removed


def _audit(path: Path):  # type: ignore[no-untyped-def]
    return audit_file(str(path), AuditOptions(attackers=[MetadataAttacker()]))


def _exiftool(*paths: Path) -> list[dict]:
    """Every tag of each file (embedded streams included, ``Group0:Group1:Tag`` keys), one run."""
    done = subprocess.run([EXIFTOOL, "-j", "-a", "-G0:1", "-n", "-ee", *map(str, paths)],
                          capture_output=True, text=True, check=False, timeout=120)
    return json.loads(done.stdout)


def _locations(tags: dict) -> list[str]:
    return [f"{k}={v}" for k, v in tags.items() if any(word in k for word in LOCATION_KEY)]


def _problems(tags: dict) -> set[str]:
    return {str(v) for k, v in tags.items() if k.endswith(("Warning", "Error"))
            and "ExtractEmbedded" not in str(v)}


def _group(tags: dict, *prefixes: str) -> dict:
    return {k: v for k, v in tags.items() if k.startswith(prefixes)}


def _assert_exiftool_clean(src: Path, out: Path) -> tuple[dict, dict]:
    """exiftool finds no location in ``out`` and no problem that ``src`` did not have."""
    before, after = _exiftool(src, out)
    assert not _locations(after)
    assert _problems(after) <= _problems(before)
    return before, after


Packet = tuple[bytes, int, int, int]  # bytes, pts, dts, duration


def _av_packets(path: Path) -> list[tuple[str, str, list[Packet], int]] | None:
    """Per audio/video stream, in order: type, codec, packets, stream duration."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError):  # type: ignore[attr-defined]
        return None
    with container:
        cover = av.stream.Disposition.attached_pic  # cover art is metadata (--all drops it)
        streams = [s for s in container.streams if s.type in ("audio", "video")
                   and not s.disposition & cover]
        if not streams:
            return None
        packets: dict[int, list[Packet]] = {s.index: [] for s in streams}
        for packet in container.demux(streams):
            if packet.size:
                packets[packet.stream.index].append(
                    (bytes(packet), packet.pts, packet.dts, packet.duration))
        return [(s.type, s.codec_context.name, packets[s.index], s.duration) for s in streams]


def _av_headers(path: Path, mask_times: bool = False) -> list[bytes]:
    """tkhd (matrix, duration), mdhd and edit list of every audio/video track, as raw bytes;
    ``mask_times`` blanks creation/modification times (``--all`` zeroes them)."""
    out = []
    with Source.from_path(path) as src:
        moov = next(b for b in bb.iter_file(src, 0, src.size, "file") if b.type == b"moov")
        data = src.read(moov.offset, moov.size)
    root = bb.parse_header(data[:16], 0, len(data), "moov")
    for trak in bb.iter_bytes(data, root.payload_start, root.end, "moov"):
        if trak.type != b"trak":
            continue
        mdia = bb.child(data, trak, b"mdia")
        if mdia is None or bb.handler_type(data, mdia) not in (b"vide", b"soun"):
            continue
        for found in (bb.child(data, trak, b"tkhd"), bb.child(data, mdia, b"mdhd"),
                      bb.path(data, trak, b"edts", b"elst")):
            raw = bytearray(data[found.offset:found.end] if found else b"")
            if mask_times and found and found.type != b"elst":
                span = 16 if raw[8] == 1 else 8
                raw[12:12 + span] = bytes(span)
            out.append(bytes(raw))
    return out


def _assert_streams_identical(src: Path, out: Path, all_metadata: bool = False) -> None:
    before = _av_packets(src)
    if before is None:  # no decodable audio/video stream in the input: nothing to compare
        return
    after = _av_packets(out)
    assert after is not None
    assert [(t, c, len(p)) for t, c, p, _ in after] == [(t, c, len(p)) for t, c, p, _ in before]
    for (_, _, pa, da), (_, _, pb, db) in zip(after, before):
        assert pa == pb and da == db
    assert _av_headers(out, all_metadata) == _av_headers(src, all_metadata)


def _heif_item_ranges(path: Path) -> list[tuple[int, int]]:
    """File ranges of the Exif and XMP items (the only bytes a HEIF strip may change)."""
    ranges = []
    with Source.from_path(path) as src:
        meta = next(b for b in bb.iter_file(src, 0, src.size, "file") if b.type == b"meta")
        data = src.read(meta.offset, meta.size)
        root = bb.parse_header(data[:16], 0, len(data), "meta")
        kids = {b.type: b for b in bb.iter_bytes(data, root.payload_start + 4, root.end, "meta")}
        locs = bmff_heif._iloc(data, kids[b"iloc"])
        idat = kids.get(b"idat")
        for item in bmff_heif._iinf(data, kids[b"iinf"]):
            if item.type == b"Exif" or item.type == b"mime":
                ranges += bmff_heif._extents(locs[item.item_id],
                                             meta.offset + idat.payload_start if idat else None,
                                             idat, src.size)
    return ranges


def _heif_pixels(path: Path) -> bytes | None:
    """Decoded primary image, or None without a decoder (pillow-heif) or decodable image."""
    try:
        import pillow_heif
    except ImportError:
        return None
    try:
        image = pillow_heif.open_heif(str(path), convert_hdr_to_8bit=False)
        return bytes(image.data)
    except (ValueError, RuntimeError, EOFError):  # no decodable image (QuickTime.heic)
        return None


# ------------------------------------------------------------------------------ corpus

def test_corpus_has_bmff_files() -> None:
    assert len(GOOD) >= 12 and len(BAD) >= 8


@pytest.mark.parametrize("entry", GOOD, ids=[e["path"] for e in GOOD])
def test_corpus_round_trip(entry: dict, shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / entry["path"]
    before = _audit(src)
    out, removed = _strip(src, tmp_path)
    assert _sha256(src) == entry["sha256"]  # the input is untouched
    if before.evidence:
        assert removed, "the audit found something but nothing was removed"
    after = _audit(out)
    assert after.status == "ok" and not after.errors
    assert not after.evidence, [e.where for e in after.evidence]
    tags = _assert_exiftool_clean(src, out) if EXIFTOOL else None
    if entry["kind"] == "photo":
        _assert_heif_identical_but_items(src, out)
        if tags:  # Apple/Samsung MakerNotes still parse, unchanged
            assert _group(tags[1], "MakerNotes") == _group(tags[0], "MakerNotes")
    else:
        _assert_streams_identical(src, out)


def _assert_heif_identical_but_items(src: Path, out: Path) -> None:
    a, b = src.read_bytes(), out.read_bytes()
    assert len(a) == len(b)
    allowed = _heif_item_ranges(src)
    np = pytest.importorskip("numpy")
    changed = np.flatnonzero(np.frombuffer(a, np.uint8) != np.frombuffer(b, np.uint8))
    assert all(any(lo <= i < hi for lo, hi in allowed) for i in changed.tolist())
    assert _heif_pixels(out) == _heif_pixels(src)


def test_heic_with_gps_keeps_pixels_and_loses_gps(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "photos/exif-at-eof.heic"  # the Exif item sits after the mdat
    out, removed = _strip(src, tmp_path)
    assert removed == ["HEIF:EXIF:GPS IFD"]
    pytest.importorskip("pillow_heif")
    assert _heif_pixels(out) is not None and _heif_pixels(out) == _heif_pixels(src)
    if EXIFTOOL:
        _, tags = _assert_exiftool_clean(src, out)
        assert tags.get("EXIF:ExifIFD:DateTimeOriginal")   # capture time stays


@pytest.mark.parametrize("entry", BAD, ids=[e["path"] for e in BAD])
def test_malformed_corpus_is_one_line_error(entry: dict, shared_data: Path) -> None:
    out = io.BytesIO()
    with pytest.raises(ParseError) as err:
        isobmff.strip_isobmff(str(shared_data / entry["path"]), out, StripOptions())
    message = str(err.value)
    assert message and "\n" not in message and len(message) < 300
    assert out.getvalue() == b""  # nothing half-written


def test_all_metadata_keeps_packets(shared_data: Path, tmp_path: Path) -> None:
    for name in ("videos/QuickTime.mov", "videos/with-gps.mov", "videos/max-heromode.mp4"):
        src = shared_data / name
        out, removed = _strip(src, tmp_path, all_metadata=True)
        assert removed
        assert not _audit(out).evidence
        if EXIFTOOL:
            _, tags = _assert_exiftool_clean(src, out)
            assert not [k for k in tags if k.startswith("XMP") or any(
                f":{group}:" in k for group in ("UserData", "Keys", "ItemList"))], tags
        _assert_streams_identical(src, out, all_metadata=True)


def test_all_metadata_heic(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "photos/IMG_5195.HEIC"
    out, removed = _strip(src, tmp_path, all_metadata=True)
    assert "HEIF:EXIF" in removed and "HEIF:XMP" in removed
    assert _heif_pixels(out) == _heif_pixels(src)
    if EXIFTOOL:
        _, tags = _assert_exiftool_clean(src, out)
        assert not _group(tags, "XMP", "EXIF"), _group(tags, "XMP", "EXIF")


def test_moov_before_mdat_shift_keeps_packets(shared_data: Path, tmp_path: Path) -> None:
    """Without padding, mdat moves up and every chunk offset is rewritten."""
    src = shared_data / "videos/Issue_515_java.mp4"   # moov first, then mdat
    edits, removed = isobmff.plan(str(src), StripOptions(), compact=True)
    out = tmp_path / "compact.mp4"
    with open(out, "wb") as fh:
        bmff_write.write(str(src), fh, edits)
    assert removed == ["3GPP:loci"]
    assert out.stat().st_size == src.stat().st_size - 35   # the loci box is gone, no padding
    assert not _audit(out).evidence
    before, after = _av_packets(src), _av_packets(out)
    assert before and after == before


# ------------------------------------------------------------------------------ generated

def _tiny_av_movie() -> bytes:
    """A real 10-frame MPEG-4 video + AAC audio MP4 (moov after mdat), encoded by PyAV."""
    av = pytest.importorskip("av")
    np = pytest.importorskip("numpy")
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        video = c.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = c.add_stream("aac", rate=8000)
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8),
                                               format="rgb24")
            for p in video.encode(frame):
                c.mux(p)
        for p in video.encode():
            c.mux(p)
        for i in range(10):
            samples = av.AudioFrame.from_ndarray(
                np.sin(np.arange(1024, dtype=np.float32)[None, :] * (i + 1) / 50), format="fltp",
                layout="mono")
            samples.sample_rate, samples.pts = 8000, i * 1024
            for p in audio.encode(samples):
                c.mux(p)
        for p in audio.encode():
            c.mux(p)
    return buf.getvalue()


def _tkhd(track_id: int) -> bytes:
    return full_box(b"tkhd", struct.pack(">IIIII", 0, 0, track_id, 0, 0) + bytes(60))


def _with_id(trak: bytes, track_id: int, extra: bytes = b"") -> bytes:
    """bmffbuild's trak with a real track_ID (its tkhd is the first 92 payload bytes)."""
    return box(b"trak", _tkhd(track_id) + extra + trak[8 + 92:])


def camm6(lat: float, lon: float) -> bytes:
    return struct.pack("<HHdIddfffffff", 0, 6, 1.4e9, 3, lat, lon, 10.0, 3.5, 5.0, 0.1, 0.2,
                       0.0, 0.3)


def tx3g(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">H", len(raw)) + raw


def _item(kind: bytes, value: str) -> bytes:
    return box(kind, box(b"data", struct.pack(">II", 1, 0) + value.encode()))


def _keys_meta(pairs: list[tuple[str, str]], extra_items: bytes = b"") -> bytes:
    """A QuickTime ``meta`` (handler ``mdta``): ``keys`` and the ``ilst`` values by key index."""
    keys = full_box(b"keys", struct.pack(">I", len(pairs)) + b"".join(
        struct.pack(">I", 8 + len(k)) + b"mdta" + k.encode() for k, _ in pairs))
    items = b"".join(_item(struct.pack(">I", i), v) for i, (_, v) in enumerate(pairs, start=1))
    hdlr = full_box(b"hdlr", bytes(4) + b"mdta" + bytes(12) + b"\x00")
    return box(b"meta", hdlr + keys + box(b"ilst", items + extra_items))


XMP_GPS = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
           b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
           b'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
           b'exif:GPSLatitude="48,51.5N" exif:GPSLongitude="2,17.7E" xmp:CreatorTool="t"/>'
           b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def _gps_movie() -> tuple[bytes, dict[str, tuple[int, int]]]:
    """The tiny A/V movie plus a CAMM track, a GPS subtitle track, a plain chapter-text track,
    udta ©xyz and XMP, and Apple keys with a location; returns the file and sample ranges."""
    base = _tiny_av_movie()
    src = Source.from_bytes(base)
    top = list(bb.iter_file(src, 0, src.size, "file"))
    moov = next(b for b in top if b.type == b"moov")
    assert moov.end == len(base)   # PyAV writes moov last; new samples go in a second mdat
    data = base[moov.offset:]
    root = bb.parse_header(data[:16], 0, len(data), "moov")
    kids = list(bb.iter_bytes(data, root.payload_start, root.end, "moov"))
    groups = {"camm": [camm6(48.8584, 2.2945), camm6(48.8585, 2.2946)],
              "gps_text": [tx3g("[latitude: 22.5431] [longitude: 113.9542] [rel_alt: 5.2]")] * 2,
              "chapters": [tx3g("Chapter one"), tx3g("Chapter two")]}
    at = moov.offset + 8
    offsets: dict[str, list[int]] = {}
    ranges: dict[str, tuple[int, int]] = {}
    for name, samples in groups.items():
        offsets[name] = [at + sum(len(s) for s in samples[:i]) for i in range(len(samples))]
        ranges[name] = (at, at + sum(len(s) for s in samples))
        at = ranges[name][1]
    mdat = box(b"mdat", b"".join(b"".join(s) for s in groups.values()))
    sizes = {n: [len(s) for s in samples] for n, samples in groups.items()}
    camm = _with_id(track(b"meta", sample_entry(b"camm"), offsets["camm"], sizes["camm"]), 10,
                    box(b"tref", box(b"cdsc", struct.pack(">I", 1))))
    text = _with_id(track(b"sbtl", sample_entry(b"tx3g", bytes(30)), offsets["gps_text"],
                          sizes["gps_text"]), 11)
    chapters = _with_id(track(b"text", sample_entry(b"tx3g", bytes(30)), offsets["chapters"],
                              sizes["chapters"]), 12)
    udta = box(b"udta", box(b"\xa9xyz", struct.pack(">HH", 17, 0) + b"+48.8584+002.2945/")
               + box(b"XMP_", XMP_GPS))
    meta = _keys_meta([("com.apple.quicktime.location.ISO6709", "+48.8584+002.2945/"),
                       ("com.apple.quicktime.make", "Acme")])
    parts = []
    for kid in kids:
        raw = data[kid.offset:kid.end]
        if kid.type == b"trak" and not parts[1:]:  # the video track refers to the CAMM track
            tkhd = bb.child(data, kid, b"tkhd")
            assert tkhd is not None
            raw = box(b"trak", data[tkhd.offset:tkhd.end]
                      + box(b"tref", box(b"cdsc", struct.pack(">I", 10)))
                      + data[tkhd.end:kid.end])
        parts.append(raw)
    new_moov = box(b"moov", b"".join(parts) + camm + text + chapters + udta + meta)
    return base[:moov.offset] + mdat + new_moov, ranges


def test_generated_gps_tracks_go_and_packets_stay(tmp_path: Path) -> None:
    movie, ranges = _gps_movie()
    src = tmp_path / "gps.mp4"
    src.write_bytes(movie)
    before = _audit(src)
    assert {"CAMM:GPS", "QuickTime:©xyz"} <= {e.where for e in before.evidence}
    out, removed = _strip(src, tmp_path)
    assert {"CAMM:GPS", "QuickTime:©xyz", "Subtitle:DJI",
            "QuickTime:keys:com.apple.quicktime.location.ISO6709"} <= set(removed)
    assert "QuickTime:XMP_:exif:GPSLatitude" in removed   # named as the audit names it
    assert not _audit(out).evidence
    data = out.read_bytes()
    for name in ("camm", "gps_text"):   # location samples are zeros now, in place
        lo, hi = ranges[name]
        assert data[lo:hi] == bytes(hi - lo)
    lo, hi = ranges["chapters"]        # a text track without positions stays
    assert data[lo:hi] == movie[lo:hi]
    _assert_streams_identical(src, out)
    if EXIFTOOL:
        _, tags = _assert_exiftool_clean(src, out)
        assert tags.get("QuickTime:Keys:Make") == "Acme"  # the kept key, renumbered consistently
        assert tags.get("XMP:XMP-xmp:CreatorTool") == "t"
    with Source.from_path(out) as s:    # dropped tracks are gone, and the tref to them too
        moov = next(b for b in bb.iter_file(s, 0, s.size, "file") if b.type == b"moov")
        raw = s.read(moov.offset, moov.size)
    assert raw.count(b"trak") == 3 and b"camm" not in raw and b"tref" not in raw


def test_generated_novatek_blocks_are_zeroed(tmp_path: Path) -> None:
    blocks = [freegps_block(4852.5, b"N", 221.0, b"E"),
              freegps_block(4852.6, b"N", 221.1, b"E", when=(10, 30, 6, 21, 6, 14))]
    src = tmp_path / "novatek.mp4"
    src.write_bytes(novatek_movie(blocks))
    assert _audit(src).evidence
    out, removed = _strip(src, tmp_path)
    assert removed == ["Novatek:freeGPS"]
    assert not _audit(out).evidence
    data = out.read_bytes()
    assert b"freeGPS" not in data and data.count(b"free") == 2   # headers kept, payload zero
    if EXIFTOOL:
        _assert_exiftool_clean(src, out)


def test_hostile_mutations_give_parse_errors_only(tmp_path: Path) -> None:
    """Every byte of a movie's metadata overwritten in turn: clean output or ParseError."""
    movie, _ = _gps_movie()
    start = movie.rfind(b"moov") - 4
    path = tmp_path / "m.mp4"
    for pos in range(start, len(movie), 7):
        for value in (0x00, 0xFF):
            mutated = bytearray(movie)
            mutated[pos] = value
            path.write_bytes(bytes(mutated))
            try:
                isobmff.strip_isobmff(str(path), io.BytesIO(), StripOptions())
            except ParseError as err:
                assert "\n" not in str(err)


def test_truncations_give_parse_errors_only(tmp_path: Path) -> None:
    movie, _ = _gps_movie()
    path = tmp_path / "t.mp4"
    for cut in range(0, len(movie), max(1, len(movie) // 97)):
        path.write_bytes(movie[:cut])
        with pytest.raises(ParseError):
            isobmff.strip_isobmff(str(path), io.BytesIO(), StripOptions())


# ------------------------------------------------------------------------------ CLI

def test_cli_strips_videos_and_reports_malformed(shared_data: Path, tmp_path: Path) -> None:
    """``geoprivacy strip`` through the real entry point: verified outputs, then exit 3."""
    from click.testing import CliRunner

    from geoprivacy.cli import main

    names = ["videos/karma.mp4", "videos/with-gps.mov", "videos/70mai_NO20191130-120156-000121.MP4"]
    args = ["strip", "--format", "json", "-o", str(tmp_path / "out")]
    result = CliRunner().invoke(main, [*args, *(str(shared_data / n) for n in names)])
    assert result.exit_code == 0, result.output
    files = json.loads(result.output)["files"]
    assert [f["status"] for f in files] == ["cleaned"] * 3
    assert all(f["verified"] and f["method"] == "structural" for f in files)
    assert files[0]["removed"] == ["GPMF:GPRI", "GPMF:GLPI"]
    for name, record in zip(names, files):
        _assert_streams_identical(shared_data / name, Path(record["output"]))

    bad = shared_data / "malformed/sample-5s_truncated.mp4"
    result = CliRunner().invoke(main, [*args, str(bad)])
    assert result.exit_code == 3
    (record,) = json.loads(result.output)["files"]
    assert record["status"] == "error" and "truncated" in record["errors"][0]


def _fragmented_movie(extra_moov: bytes) -> bytes:
    """A fragmented MP4 (moov first, then moof/mdat pairs) from PyAV, ``extra_moov`` added."""
    av = pytest.importorskip("av")
    np = pytest.importorskip("numpy")
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4", options={"movflags": "frag_keyframe+empty_moov"}) as c:
        video = c.add_stream("mpeg4", rate=10, options={"g": "3"})
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8),
                                               format="rgb24")
            for p in video.encode(frame):
                c.mux(p)
        for p in video.encode():
            c.mux(p)
    data = buf.getvalue()
    src = Source.from_bytes(data)
    moov = next(b for b in bb.iter_file(src, 0, src.size, "file") if b.type == b"moov")
    assert any(b.type == b"moof" for b in bb.iter_file(src, 0, src.size, "file"))
    new_moov = box(b"moov", data[moov.payload_start:moov.end] + extra_moov)
    return data[:moov.offset] + new_moov + data[moov.end:]


XYZ = box(b"udta", box(b"\xa9xyz", struct.pack(">HH", 18, 0) + b"+48.8584+002.2945/"))


def test_fragmented_movie_location_goes_offsets_kept(tmp_path: Path) -> None:
    src = tmp_path / "frag.mp4"
    src.write_bytes(_fragmented_movie(XYZ))
    assert _audit(src).has_location
    out, removed = _strip(src, tmp_path)
    assert removed == ["QuickTime:©xyz"]
    assert out.stat().st_size == src.stat().st_size   # moov padded: moof offsets untouched
    assert not _audit(out).evidence
    _assert_streams_identical(src, out)


def test_fragmented_movie_with_gps_track_falls_back_to_remux(tmp_path: Path) -> None:
    """Fragments cannot lose a track structurally: packets are remuxed, and the output says so."""
    from geoprivacy.defenses.strip.bmff_remux import REMUX_MARKER
    from geoprivacy.defenses.strip.engine import REMUX_MARKER as ENGINE_MARKER
    from geoprivacy.defenses.strip.engine import StripSettings, strip_file

    assert REMUX_MARKER == ENGINE_MARKER
    camm = _with_id(track(b"meta", sample_entry(b"camm"), [0], [4]), 10)
    src = tmp_path / "frag-camm.mp4"
    src.write_bytes(_fragmented_movie(camm + XYZ))
    with pytest.raises(ParseError, match="fragmented"):
        isobmff.plan(str(src), StripOptions())
    out, removed = _strip(src, tmp_path)
    assert removed[0] == "CAMM:GPS" and removed[-1] == REMUX_MARKER
    assert not _audit(out).evidence
    before, after = _av_packets(src), _av_packets(out)
    assert before and after
    assert [pk for *_, pk, _ in after] == [pk for *_, pk, _ in before]  # bytes and times
    result = strip_file(str(src), StripSettings(output_dir=str(tmp_path / "engine")))
    assert result.method == "remux-fallback" and result.verified


XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")


def test_top_level_xmp_uuid_is_cleaned_in_place(tmp_path: Path) -> None:
    src = tmp_path / "xmp.mp4"   # a top-level box keeps its size (nothing else moves)
    src.write_bytes(_tiny_av_movie() + box(b"uuid", XMP_UUID + XMP_GPS))
    out, removed = _strip(src, tmp_path)
    assert removed == ["QuickTime:XMP:exif:GPSLatitude", "QuickTime:XMP:exif:GPSLongitude"]
    assert out.stat().st_size == src.stat().st_size
    assert not _audit(out).evidence
    _assert_streams_identical(src, out)
    if EXIFTOOL:
        _, tags = _assert_exiftool_clean(src, out)
        assert tags.get("XMP:XMP-xmp:CreatorTool") == "t"


@pytest.mark.parametrize("method", [0, 1])
def test_generated_heif_items_in_mdat_or_idat(method: int, tmp_path: Path) -> None:
    """Exif item after mdat (construction method 0) or in idat (1), plus an XMP item."""
    from tests.attacks.metadata.test_isobmff import XMP_PACKET, _exif_item, _heif

    src = tmp_path / "gen.heic"
    src.write_bytes(_heif(_exif_item(), method, XMP_PACKET))
    assert _audit(src).has_location
    out, removed = _strip(src, tmp_path)
    assert removed[0] == "HEIF:EXIF:GPS IFD" and "HEIF:XMP:exif:GPSLatitude" in removed
    assert not _audit(out).evidence
    a, b = src.read_bytes(), out.read_bytes()
    assert len(a) == len(b)
    allowed = _heif_item_ranges(src)
    assert all(any(lo <= i < hi for lo, hi in allowed) for i in range(len(a)) if a[i] != b[i])
    if EXIFTOOL:
        _assert_exiftool_clean(src, out)


def test_keys_renumbered_around_removed_location_keys(tmp_path: Path) -> None:
    from tests.attacks.metadata.bmffbuild import ftyp, mvhd

    pairs = [("com.apple.quicktime.make", "Acme"),
             ("com.apple.quicktime.location.ISO6709", "+48.8584+002.2945/"),
             ("com.apple.quicktime.location.name", "Tour Eiffel"),
             ("com.apple.quicktime.model", "Phone 9")]
    meta = _keys_meta(pairs, extra_items=_item(b"\xa9xyz", "+1.0+2.0/"))  # a named item too
    src = tmp_path / "keys.mov"
    src.write_bytes(ftyp(b"qt  ", (b"qt  ",)) + box(b"moov", mvhd() + meta))
    out, removed = _strip(src, tmp_path)
    assert removed == ["QuickTime:keys:com.apple.quicktime.location.ISO6709",
                       "QuickTime:keys:com.apple.quicktime.location.name", "QuickTime:©xyz"]
    assert not _audit(out).evidence
    if EXIFTOOL:
        _, tags = _assert_exiftool_clean(src, out)
        assert tags.get("QuickTime:Keys:Make") == "Acme"
        assert tags.get("QuickTime:Keys:Model") == "Phone 9"


class _Counter(io.RawIOBase):
    """A sink that only counts what is written, like a file that keeps nothing."""

    def __init__(self) -> None:
        self.n = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def,override]
        self.n += len(data)
        return len(data)


def test_streaming_keeps_memory_bounded(tmp_path: Path) -> None:
    """A 256 MB mdat (sparse file) is copied in chunks: peak Python memory stays a few MB."""
    import tracemalloc

    movie, _ = _gps_movie()
    big = 256 * 1024 * 1024
    src = tmp_path / "big.mp4"
    with open(src, "wb") as fh:
        fh.write(movie + struct.pack(">I4s", 8 + big, b"mdat"))
        fh.truncate(len(movie) + 8 + big)   # a hole: zeros that cost no disk
    sink = _Counter()
    tracemalloc.start()
    try:
        removed = isobmff.strip_isobmff(str(src), sink, StripOptions())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "CAMM:GPS" in removed
    assert sink.n == src.stat().st_size       # moov padded in place: same size, same layout
    assert peak < 8 * 1024 * 1024, peak


def test_mebx_track_with_location_key_goes(tmp_path: Path) -> None:
    """An Apple timed-metadata track (``mebx``) whose keys name a location is dropped."""
    key = b"com.apple.quicktime.location.ISO6709"
    keyd = box(b"keyd", b"mdta" + key)
    entry = sample_entry(b"mebx", box(b"keys", box(struct.pack(">I", 1), keyd)))
    movie = _tiny_av_movie()
    moov_at = movie.rfind(b"moov") - 4
    moov = movie[moov_at:]
    sample = box(struct.pack(">I", 1), b"+48.8584+002.2945/")  # the value of key 1
    mdat = box(b"mdat", sample)
    mebx = _with_id(track(b"meta", entry, [moov_at + 8], [len(sample)]), 10)
    new_moov = box(b"moov", moov[8:] + mebx)
    src = tmp_path / "mebx.mov"
    src.write_bytes(movie[:moov_at] + mdat + new_moov)
    out, removed = _strip(src, tmp_path)
    assert removed == ["QuickTime:mebx:location"]
    data = out.read_bytes()
    assert b"+48.8584" not in data and b"mebx" not in data
    _assert_streams_identical(src, out)
