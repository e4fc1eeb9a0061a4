"""Timed-metadata tracks we do not decode: "not checked", never "clean".

A camera may write positions in a track format we have no decoder for (Sony ``rtmd``, Canon
``CTMD``, a dashcam's own format); reporting such a file clean would break the audit's promise.
Formats known to hold no position (timecode, GoPro SOS, DJI debug, hint tracks) stay clean.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from geoprivacy.attacks.metadata import tracks_policy
from tests.attacks.metadata.bmffbuild import box, movie_with_samples, read_bmff, sample_entry, \
    track
from tests.geoprivacy.test_cli_audit import cli

SONY_KLV = bytes.fromhex("060e2b34025301010c02010101010000") + bytes(48)  # an rtmd-like sample
RTMD_REASON = "track 1: timed metadata 'rtmd' (handler 'meta') not decoded: may hold positions"


def mebx_entry(*keys: str) -> bytes:
    """An Apple ``mebx`` sample entry whose ``keys`` table declares ``keys`` (local ids 1..n)."""
    table = b"".join(box(struct.pack(">I", n), box(b"keyd", b"mdta" + key.encode()))
                     for n, key in enumerate(keys, start=1))
    return sample_entry(b"mebx", box(b"keys", table))


def _errors(handler: bytes, entry: bytes, samples: list[bytes] | None = None) -> list[str]:
    _, out, errors, _ = read_bmff(movie_with_samples(handler, entry, samples or [SONY_KLV] * 3))
    assert not out.evidence
    return errors


# --- through the audit ---------------------------------------------------------------------

def test_undecoded_track_gives_one_line_reason() -> None:
    assert _errors(b"meta", sample_entry(b"rtmd")) == [RTMD_REASON]


def test_undecoded_track_is_not_checked_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "sony.mp4"
    path.write_bytes(movie_with_samples(b"meta", sample_entry(b"rtmd"), [SONY_KLV] * 3))
    done = cli("audit", str(path))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "NOT CHECKED" in done.stdout and RTMD_REASON in done.stdout


def test_timecode_track_is_clean_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "timecode.mov"
    path.write_bytes(movie_with_samples(b"tmcd", sample_entry(b"tmcd", bytes(18)),
                                        [struct.pack(">I", 1234)]))
    done = cli("audit", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "clean" in done.stdout


@pytest.mark.parametrize(("handler", "fmt"), [
    (b"meta", b"CTMD"),    # Canon timed metadata
    (b"meta", b"mett"),    # generic text metadata (Parrot drones put GPS there)
    (b"data", b"RVMI"),    # exiftool reads GPS from 'gReV' samples
    (b"clcp", b"c608"),    # closed captions: text we do not read
    (b"tmcd", b"xyzw"),    # a timecode handler does not vouch for an unknown format
    (b"", b"rtmd"),        # no handler at all
])
def test_other_undecoded_formats_are_not_checked(handler: bytes, fmt: bytes) -> None:
    errors = _errors(handler, sample_entry(fmt))
    assert len(errors) == 1 and f"timed metadata '{fmt.decode()}'" in errors[0], errors


@pytest.mark.parametrize(("handler", "fmt"), [
    (b"tmcd", b"tmcd"),    # timecode
    (b"meta", b"tmcd"),    # timecode under a generic handler
    (b"meta", b"fdsc"),    # GoPro SOS track
    (b"meta", b"dbgi"),    # DJI debug track
    (b"meta", b"rtp "),    # RTP hint sample entry
    (b"hint", b"zzzz"),    # hint tracks: packetisation instructions
    (b"pict", b"av01"),    # AVIF image sequence
    (b"auxv", b"hvc1"),    # auxiliary (alpha/depth) video
    (b"vide", b"rtmd"),    # the handler says video: not a metadata track
    (b"soun", b"zzzz"),
])
def test_position_free_tracks_stay_clean(handler: bytes, fmt: bytes) -> None:
    assert _errors(handler, sample_entry(fmt)) == []


def test_each_undecoded_track_warns_once() -> None:
    second = track(b"meta", sample_entry(b"CTMD"), [0], [0])
    data = movie_with_samples(b"meta", sample_entry(b"rtmd"), [SONY_KLV] * 5, extra_moov=second)
    _, out, errors, _ = read_bmff(data)
    assert errors == [RTMD_REASON, "track 2: timed metadata 'CTMD' (handler 'meta') not "
                      "decoded: may hold positions"]
    assert not out.evidence


def test_decoded_track_beside_an_undecoded_one_still_decodes() -> None:
    """The warning adds to what is found; it never hides a decoded leak."""
    from tests.attacks.metadata.test_camm import camm5

    extra = track(b"meta", sample_entry(b"rtmd"), [0], [0])
    data = movie_with_samples(b"meta", sample_entry(b"camm"), [camm5(48.8584, 2.2945, 35.0)],
                              extra_moov=extra)
    _, out, errors, _ = read_bmff(data)
    assert [e.where for e in out.evidence if e.is_location] == ["CAMM:GPS"]
    assert errors == ["track 2: timed metadata 'rtmd' (handler 'meta') not decoded: may hold "
                      "positions"]


# --- Apple mebx: its key table says what its samples can hold -----------------------------

def test_mebx_without_location_keys_is_clean() -> None:
    entry = mebx_entry("com.apple.quicktime.video-orientation",
                       "com.apple.quicktime.detected-face.bounds")
    assert _errors(b"meta", entry) == []


@pytest.mark.parametrize("key", ["com.apple.quicktime.location.ISO6709",
                                 "com.example.camera.GPS"])
def test_mebx_with_a_location_key_is_not_checked(key: str) -> None:
    errors = _errors(b"meta", mebx_entry("com.apple.quicktime.video-orientation", key))
    assert errors == ["track 1: timed metadata 'mebx' (handler 'meta') not decoded: may hold "
                      "positions"]


@pytest.mark.parametrize("entry", [
    sample_entry(b"mebx"),                                         # no key table
    sample_entry(b"mebx", box(b"keys", box(struct.pack(">I", 1), box(b"dtyp", bytes(8))))),
    sample_entry(b"mebx", box(b"keys", struct.pack(">I", 99) + b"mdta")),   # damaged size
])
def test_mebx_with_an_unreadable_key_table_is_not_checked(entry: bytes) -> None:
    errors = _errors(b"meta", entry)
    assert len(errors) == 1 and "'mebx'" in errors[0], errors


# --- the shared predicate ------------------------------------------------------------------

def test_every_sample_entry_is_judged() -> None:
    assert tracks_policy.undecoded_format(b"meta", [b"tmcd", b"rtmd"], [b"", b""]) == b"rtmd"
    assert tracks_policy.undecoded_format(b"meta", [b"gpmd", b"fdsc"], [b"", b""]) is None
    assert tracks_policy.undecoded_format(b"sbtl", [b"zzzz"], [b""]) is None   # text, as today


def test_stsd_entries_follow_the_declared_count() -> None:
    entries = sample_entry(b"tmcd", bytes(4)) + sample_entry(b"rtmd")
    stsd = struct.pack(">II", 0, 2) + entries
    formats, payloads = tracks_policy.stsd_entries(stsd)
    assert formats == [b"tmcd", b"rtmd"] and payloads[0] == bytes(6) + b"\x00\x01" + bytes(4)
    assert tracks_policy.stsd_entries(struct.pack(">II", 0, 1) + entries)[0] == [b"tmcd"]
    assert tracks_policy.stsd_entries(b"\x00\x00")[0] == []
