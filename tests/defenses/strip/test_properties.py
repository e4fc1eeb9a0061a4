"""Properties of strip on generated, valid files: it never leaves a location audit found, and it
never changes decoded pixels (JPEG, via Pillow) or packets (MP4/MOV, via PyAV).

Hypothesis varies the GPS values, their precision and encoding (DMS or decimal rationals, both
byte orders, with or without altitude and an XMP copy) in a base JPEG, and the ISO 6709
``©xyz``/``loci`` string of a small movie.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from geoprivacy.defenses.strip.engine import StripSettings, audit, strip_file
from tests.attacks.metadata import tiffbuild as tb
from tests.defenses.strip.builders import GPS_XMP_BODY, exif_segment, segment, with_segments, \
    xmp_packet

DENOMS = st.sampled_from([1, 10, 100, 1000, 10000, 1000000])


def _base_jpeg() -> bytes:
    from PIL import Image
    img = Image.new("RGB", (48, 32))
    img.putdata([((x * 5) % 256, (y * 7) % 256, (x * y) % 256) for y in range(32)
                 for x in range(48)])
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


BASE_JPEG = _base_jpeg()


@st.composite
def angle(draw: st.DrawFn, limit: float) -> tuple[float, list[tuple[int, int]]]:
    """An angle and its EXIF rationals, as DMS or as decimal degrees in one rational."""
    value = draw(st.floats(0.0, limit, allow_nan=False))
    den = draw(DENOMS)
    if draw(st.booleans()):
        deg = int(value)
        minutes = (value - deg) * 60
        if draw(st.booleans()):
            m = int(minutes)
            return value, [(deg, 1), (m, 1), (round((minutes - m) * 60 * den), den)]
        return value, [(deg, 1), (round(minutes * den), den), (0, 1)]
    return value, [(round(value * den), den), (0, 1), (0, 1)]


@st.composite
def gps_exif(draw: st.DrawFn) -> bytes:
    _, lat = draw(angle(90.0))
    _, lon = draw(angle(180.0))
    entries = tb.gps_entries(lat=lat, lon=lon,
                             lat_ref=draw(st.sampled_from([b"N\x00", b"S\x00"])),
                             lon_ref=draw(st.sampled_from([b"E\x00", b"W\x00"])))
    if draw(st.booleans()):
        entries.append((5, tb.BYTE, [draw(st.integers(0, 1))]))
        entries.append((6, tb.RAT, [(draw(st.integers(0, 10 ** 6)), draw(DENOMS))]))
    return tb.exif_with_gps(entries, big=draw(st.booleans()))


def _pixels(path: Path) -> bytes:
    from PIL import Image
    with Image.open(path) as img:
        return img.convert("RGB").tobytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exif=gps_exif(), with_xmp=st.booleans(), all_metadata=st.booleans())
def test_jpeg_strip_leaves_no_location_and_same_pixels(exif: bytes, with_xmp: bool,
                                                       all_metadata: bool) -> None:
    segments = [exif_segment(exif)]
    if with_xmp:
        segments.append(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00"
                                + xmp_packet(GPS_XMP_BODY)))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jpg"
        src.write_bytes(with_segments(BASE_JPEG, segments))
        before = audit(str(src))
        assume(before.has_location)        # e.g. 0/0 rationals are placeholders, not places
        result = strip_file(str(src), StripSettings(output_dir=str(Path(tmp) / "out"),
                                                    all_metadata=all_metadata))
        assert result.status == "cleaned", result.errors
        out = Path(result.output or "")
        after = audit(str(out))
        assert not after.has_location and not after.evidence, after.evidence
        assert _pixels(out) == _pixels(src)


# ------------------------------------------------------------------------------ movies

@pytest.fixture(scope="module")
def base_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.media_factory import make_clip
    return make_clip(tmp_path_factory.mktemp("clip") / "base.mp4", frames=6, size=(64, 48))


@st.composite
def iso6709(draw: st.DrawFn) -> str:
    lat = draw(st.floats(-90, 90, allow_nan=False))
    lon = draw(st.floats(-180, 180, allow_nan=False))
    digits = draw(st.integers(0, 6))
    text = f"{lat:+0{3 + digits + (1 if digits else 0)}.{digits}f}" \
           f"{lon:+0{4 + digits + (1 if digits else 0)}.{digits}f}"
    if draw(st.booleans()):
        text += f"{draw(st.floats(-400, 9000, allow_nan=False)):+.1f}"
    return text + "/"


def _with_location(clip: Path, dst: Path, location: str, fmt: str) -> None:
    import av
    with av.open(str(clip)) as src, av.open(str(dst), "w", format=fmt) as out:
        out.metadata["location"] = location
        stream = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is None:
                continue
            packet.stream = stream
            out.mux(packet)


def _packets(path: Path) -> list[tuple[int | None, int | None, bytes]]:
    import av
    with av.open(str(path)) as src:
        return [(p.pts, p.dts, bytes(p)) for p in src.demux(src.streams.video[0])
                if p.size]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(location=iso6709(), fmt=st.sampled_from(["mov", "mp4"]))
def test_movie_strip_leaves_no_location_and_same_packets(base_clip: Path, location: str,
                                                         fmt: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"in.{fmt}"
        _with_location(base_clip, src, location, fmt)
        before = audit(str(src))
        assume(before.has_location)        # 0,0 and out-of-range strings are not places
        result = strip_file(str(src), StripSettings(output_dir=str(Path(tmp) / "out")))
        assert result.status == "cleaned", result.errors
        out = Path(result.output or "")
        after = audit(str(out))
        assert not after.has_location and not after.evidence, after.evidence
        assert _packets(out) == _packets(src)
