"""Hostile inputs end to end: decompression bombs, nested and looping structures, offsets past
the end, 4 GB declared sizes, compressed-text bombs, devices, FIFOs, symlinks and hard links.

Each must give a one-line error or a normal result quickly — never a traceback, a hang, a huge
allocation, or a "clean" verdict for a file that was not fully read.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import time
import zlib
from pathlib import Path
from typing import Callable, Iterator

import pytest
from click.testing import CliRunner

from geoprivacy.audit import AuditOptions, audit_file
from geoprivacy.cli import main
from geoprivacy.errors import GeoprivacyError
from tests.attacks.metadata import tiffbuild as tb
from tests.attacks.metadata.bmffbuild import box, ftyp
from tests.defenses.strip.builders import exif_segment, plain_jpeg, with_segments


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Turn a hang into a test failure."""
    def fire(signum: int, frame: object) -> None:
        raise TimeoutError(f"took longer than {seconds} s")
    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _chunk(kind: bytes, body: bytes, length: int | None = None) -> bytes:
    n = len(body) if length is None else length
    return struct.pack(">I", n) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + _chunk(b"IEND", b""))


def jpeg_declaring(width: int, height: int) -> bytes:
    data = bytearray(plain_jpeg((16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


# ------------------------------------------------------------------------ decompression bombs

BOMBS = {"png-100000x100000": png_declaring(100_000, 100_000),
         "png-2^31x1": png_declaring(2 ** 31 - 1, 1),
         "jpeg-65500x65500": jpeg_declaring(65_500, 65_500)}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_pixel_decoders_refuse_huge_declared_dimensions(name: str, tmp_path: Path) -> None:
    photo_rgb = pytest.importorskip("geoprivacy.cues.frames").photo_rgb
    path = tmp_path / name
    path.write_bytes(BOMBS[name])
    with deadline(10):
        with pytest.raises(GeoprivacyError, match="cannot decode image|too large"):
            photo_rgb(str(path))


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_retrieval_load_image_refuses_huge_declared_dimensions(name: str, tmp_path: Path) -> None:
    encoders = pytest.importorskip("geoprivacy.attacks.retrieval.encoders")
    path = tmp_path / name
    path.write_bytes(BOMBS[name])
    with deadline(10):
        with pytest.raises(GeoprivacyError, match="cannot decode image"):
            encoders.load_image(path)


def test_protect_reports_a_bomb_as_not_processed(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(BOMBS["png-100000x100000"])
    with deadline(60):
        out = CliRunner().invoke(main, ["protect", str(path), "-o", str(tmp_path / "out.png"),
                                        "--method", "blur", "--no-foreground", "-q"])
    assert out.exit_code == 3, out.output
    assert "NOT PROCESSED" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "out.png").exists()


def test_audit_reads_a_bomb_s_metadata_without_decoding_it(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(BOMBS["png-100000x100000"])
    with deadline(5):
        result = audit_file(str(path), _metadata_options())
    assert result.status == "ok" and not result.evidence


def test_compressed_text_bomb_is_bounded(tmp_path: Path) -> None:
    """A PNG iTXt whose deflate stream expands to 4 GB: inflated up to a limit, no more."""
    comp = zlib.compressobj(9)
    mib = b" " * (1 << 20)
    head = comp.compress(b"<x:xmpmeta>" + mib) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(mib) + comp.flush(zlib.Z_FULL_FLUSH)   # same bytes every MiB
    blob = head + block * 4096 + comp.flush()
    itxt = b"XML:com.adobe.xmp\0\x01\x00\0\0" + blob
    data = png_declaring(8, 8)
    data = data[:33] + _chunk(b"iTXt", itxt) + data[33:]
    path = tmp_path / "ztxt-bomb.png"
    path.write_bytes(data)
    with deadline(20):
        result = audit_file(str(path), _metadata_options())
    assert result.status in ("ok", "error") and not result.has_location


# ------------------------------------------------------------------------ structure

def _nested_boxes(levels: int) -> bytes:
    inner = b""
    for i in range(levels):
        inner = box(b"udta", inner) if i % 2 else box(b"meta", b"\0\0\0\0" + inner)
    return ftyp() + box(b"moov", inner)


GPS = tb.gps_entries()


def _tiff_loop() -> bytes:
    return tb.build([[(0x0110, tb.ASCII, b"Cam\x00"), (0x8825, tb.LONG, tb.Ptr(1))], GPS],
                    chain={0: 0})


def _tiff_self_pointer() -> bytes:
    return tb.build([[(0x0110, tb.ASCII, b"Cam\x00"), (0x8769, tb.LONG, tb.Ptr(0)),
                      (0x8825, tb.LONG, tb.Ptr(1))], GPS + [(0x8825, tb.LONG, tb.Ptr(1))]])


def _tiff_long_chain() -> bytes:
    return tb.build([[(0x0110, tb.ASCII, b"Cam\x00")] for _ in range(3000)],
                    chain={i: i + 1 for i in range(2999)})


def _tiff_past_eof() -> bytes:
    return tb.build([[(0x0110, tb.ASCII, b"Cam\x00"), (0x8825, tb.LONG, [0xFFFFFFF0])]])


def _tiff_huge_count() -> bytes:
    data = bytearray(tb.exif_with_gps(GPS))
    data[8:10] = b"\xff\xff"                     # IFD0 claims 65535 entries
    return bytes(data)


def _riff_4g() -> bytes:
    body = b"WEBP" + b"VP8X" + struct.pack("<I", 0xFFFFFFF0) + bytes(10)
    return b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + body


def _png_4g_chunk() -> bytes:
    data = png_declaring(8, 8)
    return data[:33] + struct.pack(">I", 0xFFFFFFF0) + b"eXIf" + b"MM\0*" + data[33:]


def _jpeg_short_segment() -> bytes:
    return b"\xff\xd8\xff\xe1\x00\x01Exif\0\0" + b"\xff\xd9"


def _jpeg_many_segments() -> bytes:
    seg = b"\xff\xe1" + struct.pack(">H", 8) + b"Exif\0\0"
    return b"\xff\xd8" + seg * 100_000 + b"\xff\xd9"


STRUCTURES: dict[str, Callable[[], bytes]] = {
    "bmff-nested-20000.mp4": lambda: _nested_boxes(20_000),
    "bmff-size-4g.mp4": lambda: ftyp() + struct.pack(">I", 0xFFFFFFFF) + b"moov" + bytes(64),
    "bmff-largesize-1t.mp4": lambda: ftyp() + struct.pack(">I", 1) + b"moov"
    + struct.pack(">Q", 2 ** 40) + bytes(64),
    "bmff-largesize-tiny.mp4": lambda: ftyp() + struct.pack(">I", 1) + b"moov"
    + struct.pack(">Q", 3) + bytes(64),
    "tiff-ifd-loop.tif": _tiff_loop,
    "tiff-ifd-loop.jpg": lambda: with_segments(plain_jpeg(), [exif_segment(_tiff_loop())]),
    "tiff-self-pointer.tif": _tiff_self_pointer,
    "tiff-3000-ifds.tif": _tiff_long_chain,
    "tiff-gps-past-eof.tif": _tiff_past_eof,
    "tiff-gps-past-eof.jpg": lambda: with_segments(plain_jpeg(), [exif_segment(_tiff_past_eof())]),
    "tiff-65535-entries.tif": _tiff_huge_count,
    "riff-4g.webp": _riff_4g,
    "png-4g-chunk.png": _png_4g_chunk,
    "jpeg-short-segment.jpg": _jpeg_short_segment,
    "jpeg-100000-segments.jpg": _jpeg_many_segments,
}


def _metadata_options() -> AuditOptions:
    from geoprivacy.attacks.metadata import MetadataAttacker
    return AuditOptions(attackers=[MetadataAttacker()])


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_hostile_structure_audit_and_strip(name: str, tmp_path: Path) -> None:
    from geoprivacy.defenses.strip.engine import CLEAN, CLEANED, ERROR, StripSettings, audit, \
        strip_file
    path = tmp_path / name
    path.write_bytes(STRUCTURES[name]())
    with deadline(20):
        result = audit_file(str(path), _metadata_options())
        assert result.status in ("ok", "error")
        assert all("\n" not in e for e in result.errors)
        assert not any("malformed structure" in e for e in result.errors), result.errors
        stripped = strip_file(str(path), StripSettings(output_dir=str(tmp_path / "out")))
    assert stripped.status in (CLEAN, CLEANED, ERROR), stripped
    if stripped.status == ERROR:
        assert stripped.output is None and not (tmp_path / "out" / name).exists()
    else:                                      # anything written was fully read and is clean
        after = audit(str(stripped.output))
        assert not after.evidence and not after.errors


# ------------------------------------------------------------------------ file-system objects

@pytest.fixture()
def leaky(tmp_path: Path) -> Path:
    path = tmp_path / "leak.jpg"
    path.write_bytes(with_segments(plain_jpeg(), [exif_segment(tb.exif_with_gps(GPS))]))
    return path


def _audit_cli(*args: str) -> tuple[int, str]:
    with deadline(30):
        out = CliRunner().invoke(main, ["audit", *args])
    assert out.exception is None or isinstance(out.exception, SystemExit), out.output
    return out.exit_code, out.output


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_char_devices_and_symlinks_to_them_are_not_read(device: str, tmp_path: Path) -> None:
    if not os.path.exists(device):
        pytest.skip(f"{device} missing")
    link = tmp_path / "photo.jpg"
    link.symlink_to(device)
    for target in (device, str(link)):
        code, text = _audit_cli(target)
        assert code == 3 and "not a regular file" in text, text
    # inside a walked folder too
    code, text = _audit_cli(str(tmp_path))
    assert code == 3 and "not a regular file" in text


def test_fifo_symlink_and_fifo_in_a_folder_are_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)                      # opening it for reading would block forever
    (tmp_path / "link.jpg").symlink_to(fifo)
    code, text = _audit_cli(str(tmp_path))
    assert code == 3 and text.count("not a regular file") == 2


def test_symlinks_and_hard_links_to_files_are_audited(leaky: Path, tmp_path: Path) -> None:
    (tmp_path / "soft.jpg").symlink_to(leaky)
    os.link(leaky, tmp_path / "hard.jpg")
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "missing.jpg")
    code, text = _audit_cli(str(tmp_path))
    assert code == 1
    assert text.count("LEAKS") == 3 and "broken symlink" in text


def test_strip_refuses_devices_and_leaves_hard_link_siblings_alone(leaky: Path,
                                                                   tmp_path: Path) -> None:
    hard = tmp_path / "hard.jpg"
    os.link(leaky, hard)
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    before = leaky.read_bytes()
    with deadline(30):
        out = CliRunner().invoke(main, ["strip", str(hard), str(tmp_path / "zero.jpg"),
                                        "-o", str(tmp_path / "clean")])
    assert out.exit_code == 3, out.output
    assert "not a regular file" in out.output
    assert leaky.read_bytes() == before          # the other name of the input is untouched
    assert (tmp_path / "clean" / "hard.jpg").exists()


def test_char_device_through_the_pool_is_not_checked(tmp_path: Path) -> None:
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    code, text = _audit_cli(str(tmp_path / "zero.jpg"), "--jobs", "2", "--timeout", "5")
    assert code == 3 and "not a regular file" in text


def test_read_budget_stops_a_source_that_never_ends() -> None:
    """Even if a device slipped through, reads are bounded by size and budget."""
    from geoprivacy.media.source import Source
    started = time.monotonic()
    with open("/dev/zero", "rb") as fh:
        src = Source(fh, size=2 ** 40, name="/dev/zero", budget=1 << 20)
        with pytest.raises(GeoprivacyError):
            for offset in range(0, 2 ** 30, 1 << 16):
                src.read(offset, 1 << 16)
    assert time.monotonic() - started < 5


def test_a_photo_no_parser_reads_is_not_checked_even_in_a_folder(tmp_path: Path) -> None:
    """A BigTIFF with 16-byte offsets (no such BigTIFF exists, so nothing reads it) beside a
    clean photo: the run must not exit 0 as if everything were checked."""
    from tests.attacks.metadata.tiffbuild import bigtiff_with_gps
    (tmp_path / "big.tif").write_bytes(bigtiff_with_gps(offset_size=16))
    (tmp_path / "clean.jpg").write_bytes(plain_jpeg())
    code, text = _audit_cli(str(tmp_path))
    assert code == 3 and "NOT CHECKED [BigTIFF]" in text, text


def test_non_finite_numbers_never_reach_a_json_report() -> None:
    """Last resort behind the parsers: NaN/inf anywhere in evidence become null."""
    import json

    from geoprivacy.types import Evidence, EvidenceKind, FileResult
    from geoprivacy.tracks import Fix
    e = Evidence("metadata", EvidenceKind.TRACK, "X:track", 1.0, 2.0, radius_km=float("inf"),
                 detail={"alt": float("nan"), "first": Fix(1.0, 2.0, float("-inf")),
                         "list": [float("inf"), {"x": float("nan")}]})
    d = FileResult("a.jpg", "photo", "JPEG", "ok", evidence=(e,)).to_dict()
    text = json.dumps(d, allow_nan=False)
    ev = json.loads(text)["evidence"][0]
    assert ev["radius_km"] is None and ev["detail"]["alt"] is None
    assert ev["detail"]["first"]["alt"] is None and ev["detail"]["list"] == [None, {"x": None}]
