"""Strip drops the timed-metadata tracks the audit cannot decode, and keeps everything else.

The audit reports a track in an undecoded format (Sony ``rtmd``, Canon ``CTMD``, ...) as "not
checked"; strip must drop it like a GPS track so that its output re-audits clean. Tracks known
to hold no position (timecode, GoPro SOS, ...) and every audio/video byte stay as they were.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from geoprivacy.defenses.strip import StripOptions, isobmff
from geoprivacy.defenses.strip import bmff_box as bb
from geoprivacy.defenses.strip import bmff_tracks
from geoprivacy.media.source import Source
from tests.attacks.metadata.bmffbuild import box, ftyp, full_box, mvhd, read_bmff, sample_entry, \
    track
from tests.attacks.metadata.test_unknown_tracks import SONY_KLV, mebx_entry
from tests.defenses.strip.test_isobmff_strip import _assert_streams_identical, _tiny_av_movie, \
    _with_id
from tests.geoprivacy.test_cli_audit import cli

Spec = tuple[bytes, bytes, list[bytes]]   # handler, sample entry, samples


def _movie(*tracks: Spec) -> bytes:
    """ftyp, one mdat with every track's samples, a moov with one trak (track_ID 1, 2, ...)
    per spec; samples of the first track are distinct so a wrong zeroing shows."""
    head = ftyp()
    at = len(head) + 8
    traks, payload = [], b""
    for n, (handler, entry, samples) in enumerate(tracks, start=1):
        offsets = [at + len(payload) + sum(map(len, samples[:i])) for i in range(len(samples))]
        payload += b"".join(samples)
        traks.append(_with_id(track(handler, entry, offsets, [len(s) for s in samples]), n))
    return head + box(b"mdat", payload) + box(b"moov", mvhd() + b"".join(traks))


def _pcm() -> Spec:
    return b"soun", sample_entry(b"sowt", bytes(20)), [bytes([i]) * 64 for i in range(1, 6)]


def _strip(src: Path, tmp_path: Path, all_metadata: bool = False) -> tuple[bytes, list[str]]:
    out = tmp_path / ("out-" + src.name)
    with open(out, "wb") as fh:
        removed = isobmff.strip_isobmff(str(src), fh, StripOptions(all_metadata=all_metadata))
    return out.read_bytes(), removed


def _tracks(data: bytes) -> list[bmff_tracks.Track]:
    """The tracks of a movie as strip reads them (chunk ranges are absolute file offsets)."""
    src = Source.from_bytes(data)
    moov = next(b for b in bb.iter_file(src, 0, src.size, "file") if b.type == b"moov")
    raw = src.read(moov.offset, moov.size)
    root = bb.parse_header(raw[:16], 0, len(raw), "moov")
    traks = [b for b in bb.iter_bytes(raw, root.payload_start, root.end, "moov")
             if b.type == b"trak"]
    return [bmff_tracks.read_track(raw, b, i) for i, b in enumerate(traks, start=1)]


def _chunk_bytes(data: bytes, track: bmff_tracks.Track) -> list[bytes]:
    return [data[offset:offset + length] for offset, length in track.chunks]


# ------------------------------------------------------------------------------ tests

def test_undecoded_track_goes_and_the_rest_stays(tmp_path: Path) -> None:
    src = tmp_path / "sony.mp4"
    src.write_bytes(_movie(_pcm(), (b"meta", sample_entry(b"rtmd"), [SONY_KLV] * 3)))
    before = src.read_bytes()
    data, removed = _strip(src, tmp_path)
    assert removed == ["QuickTime:track 2 (rtmd, not decoded)"]
    kept = _tracks(data)
    assert [(t.handler, t.fmt) for t in kept] == [(b"soun", b"sowt")]
    assert _chunk_bytes(data, kept[0]) == _chunk_bytes(before, _tracks(before)[0])
    assert SONY_KLV[:16] not in data and b"rtmd" not in data   # samples zeroed, trak gone
    assert src.read_bytes() == before


def test_cli_strip_exits_0_and_output_audits_clean(tmp_path: Path) -> None:
    src = tmp_path / "canon.mp4"
    src.write_bytes(_movie(_pcm(), (b"meta", sample_entry(b"CTMD"), [SONY_KLV] * 2)))
    assert cli("audit", str(src)).returncode == 3
    out_dir = tmp_path / "out"
    done = cli("strip", str(src), "-o", str(out_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "QuickTime:track 2 (CTMD, not decoded)" in done.stdout
    cleaned = out_dir / "canon.mp4"
    assert b"CTMD" not in cleaned.read_bytes()
    audit = cli("audit", str(cleaned))
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_real_audio_video_packets_stay_identical(tmp_path: Path) -> None:
    """A PyAV-encoded movie plus an rtmd track that refers to its video track (``tref``)."""
    movie = _tiny_av_movie()
    moov_at = movie.rfind(b"moov") - 4
    samples = [SONY_KLV] * 3
    offsets = [moov_at + 8 + len(SONY_KLV) * i for i in range(3)]
    rtmd = _with_id(track(b"meta", sample_entry(b"rtmd"), offsets, [len(s) for s in samples]),
                    10, box(b"tref", box(b"cdsc", struct.pack(">I", 1))))
    src = tmp_path / "av.mp4"
    src.write_bytes(movie[:moov_at] + box(b"mdat", b"".join(samples))
                    + box(b"moov", movie[moov_at + 8:] + rtmd))
    data, removed = _strip(src, tmp_path)
    assert removed == ["QuickTime:track 3 (rtmd, not decoded)"]
    out = tmp_path / "out-av.mp4"
    assert [t.handler for t in _tracks(data)] == [b"vide", b"soun"]
    _assert_streams_identical(src, out)
    assert cli("audit", str(out)).returncode == 0


@pytest.mark.parametrize("spec", [
    (b"tmcd", sample_entry(b"tmcd", bytes(18)), [struct.pack(">I", 1234)]),
    (b"meta", sample_entry(b"fdsc"), [b"GPRO" + bytes(60)]),
    (b"meta", mebx_entry("com.apple.quicktime.video-orientation"), [box(b"\x00\x00\x00\x01",
                                                                        b"\x00\x06")]),
], ids=["tmcd", "fdsc", "mebx-orientation"])
def test_position_free_tracks_are_kept_byte_for_byte(spec: Spec, tmp_path: Path) -> None:
    src = tmp_path / "keep.mov"
    src.write_bytes(_movie(_pcm(), spec))
    before = src.read_bytes()
    data, removed = _strip(src, tmp_path)
    assert removed == []
    assert data == before


def test_mebx_without_a_readable_key_table_goes(tmp_path: Path) -> None:
    src = tmp_path / "mebx.mov"
    src.write_bytes(_movie(_pcm(), (b"meta", sample_entry(b"mebx"), [b"\x00" * 8])))
    data, removed = _strip(src, tmp_path)
    assert removed == ["QuickTime:track 2 (mebx, not decoded)"]
    assert [t.fmt for t in _tracks(data)] == [b"sowt"]


def test_all_metadata_names_the_undecoded_track_too(tmp_path: Path) -> None:
    src = tmp_path / "all.mp4"
    src.write_bytes(_movie(_pcm(), (b"tmcd", sample_entry(b"tmcd", bytes(18)), [bytes(4)]),
                           (b"meta", sample_entry(b"rtmd"), [SONY_KLV])))
    data, removed = _strip(src, tmp_path, all_metadata=True)
    assert "QuickTime:track 2 (tmcd)" in removed
    assert "QuickTime:track 3 (rtmd, not decoded)" in removed
    assert [t.fmt for t in _tracks(data)] == [b"sowt"]


def test_second_sample_entry_is_judged_too(tmp_path: Path) -> None:
    """A track whose stsd holds a timecode entry and then an undecoded one still goes."""
    entries = sample_entry(b"tmcd", bytes(18)) + sample_entry(b"rtmd")
    movie = _movie(_pcm(), (b"meta", sample_entry(b"tmcd", bytes(18)), [SONY_KLV]))
    stsd = full_box(b"stsd", struct.pack(">I", 1) + sample_entry(b"tmcd", bytes(18)))
    two = full_box(b"stsd", struct.pack(">I", 2) + entries)
    assert movie.count(stsd) == 1
    grown = movie.replace(stsd, two)
    # the boxes above the stsd grow by the second entry
    extra = len(two) - len(stsd)
    stsd_at = grown.index(two)
    fixed = bytearray(grown)
    for kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):
        at = grown.rfind(kind, 0, stsd_at) - 4
        struct.pack_into(">I", fixed, at, struct.unpack_from(">I", grown, at)[0] + extra)
    src = tmp_path / "two.mov"
    src.write_bytes(bytes(fixed))
    assert read_bmff(src)[2] == ["track 2: timed metadata 'rtmd' (handler 'meta') not decoded: "
                                 "may hold positions"]
    data, removed = _strip(src, tmp_path)
    assert removed == ["QuickTime:track 2 (rtmd, not decoded)"]
    assert [t.fmt for t in _tracks(data)] == [b"sowt"]
