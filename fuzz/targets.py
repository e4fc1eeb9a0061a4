"""Fuzz targets: every metadata parser and every strip writer, as ``f(data: bytes) -> None``.

A target returns normally when the input was read or refused with a one-line error
(``GeoprivacyError``: ParseError, BudgetExceeded). Any other exception is a finding: the
product's last-resort handlers would turn it into "malformed structure (...)", but it is a
parser bug all the same. Used by ``fuzz/run.py`` (atheris), ``benchmarks/fuzz.py`` and
``tests/test_fuzz.py`` (hypothesis, in-process).

Not a package: scripts put this folder on ``sys.path``.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GEOPRIVACY_SHARED_DATA", REPO.parent / "shared" / "data"))
MAX_SEED_BYTES = 512 * 1024      # big seeds make every execution slow; the structure is in the head
#: libFuzzer -max_len per target where the default (MAX_SEED_BYTES) wastes time: sidecars repeat
#: one record layout, so 16-32 KB of a long track exercises every branch a 500 KB one does.
MAX_LEN = {"parse_srt": 16 * 1024, "strip_srt": 16 * 1024, "parse_gpx": 32 * 1024,
           "parse_nmea": 32 * 1024, "parse_kml": 32 * 1024, "parse_takeout": 32 * 1024,
           "parse_xmp": 64 * 1024, "strip_xmp": 64 * 1024}

Target = Callable[[bytes], None]

# target name → containers (as geoprivacy.media.sniff names them) whose files seed it
PARSER_SEEDS: dict[str, tuple[str, ...]] = {
    "parse_jpeg": ("JPEG",),
    "parse_tiff": ("TIFF",),
    "parse_png": ("PNG",),
    "parse_webp": ("WebP",),
    "parse_isobmff": ("MP4", "MOV", "3GP", "HEIF", "AVIF"),
    "parse_avi": ("AVI",),
    "parse_srt": ("SRT",),
    "parse_gpx": ("GPX",),
    "parse_nmea": ("NMEA",),
    "parse_takeout": ("TakeoutJSON",),
    "parse_kml": ("KML",),
    "parse_xmp": ("XMP",),
}
WRITER_SEEDS: dict[str, tuple[str, ...]] = {
    "strip_jpeg": ("JPEG",),
    "strip_tiff": ("TIFF",),
    "strip_png": ("PNG",),
    "strip_webp": ("WebP",),
    "strip_isobmff": ("MP4", "MOV", "3GP", "HEIF", "AVIF"),
    "strip_srt": ("SRT",),
    "strip_xmp": ("XMP",),
}
SEEDS = {**PARSER_SEEDS, **WRITER_SEEDS}
_PARSER_CONTAINER = {"parse_jpeg": "JPEG", "parse_tiff": "TIFF", "parse_png": "PNG",
                     "parse_webp": "WebP", "parse_isobmff": "MP4", "parse_avi": "AVI",
                     "parse_srt": "SRT", "parse_gpx": "GPX", "parse_nmea": "NMEA",
                     "parse_takeout": "TakeoutJSON", "parse_kml": "KML", "parse_xmp": "XMP"}


def _parser_target(container: str) -> Target:
    from geoprivacy.attacks.metadata import parsers
    from geoprivacy.attacks.metadata.common import Collector, Options
    from geoprivacy.errors import GeoprivacyError
    from geoprivacy.media.source import Source

    parser = parsers()[container]

    def target(data: bytes) -> None:
        out = Collector(Options(detail=True))
        try:
            parser(Source.from_bytes(data), out)
        except GeoprivacyError:
            pass
        for e in out.evidence:
            check_evidence(e)
    return target


class BadEvidence(AssertionError):
    """A parser returned evidence no report should carry."""


def check_evidence(e: object) -> None:
    """Oracle beyond "no exception": places are real coordinates, reports are valid JSON."""
    import json
    import math

    from geoprivacy.types import EvidenceKind
    kind, lat, lon = getattr(e, "kind"), getattr(e, "lat"), getattr(e, "lon")
    if kind in (EvidenceKind.POSITION, EvidenceKind.TRACK):
        if not (isinstance(lat, float) and isinstance(lon, float) and math.isfinite(lat)
                and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise BadEvidence(f"{kind.value} with impossible coordinates {lat!r}, {lon!r}")
    # the raw values, not to_dict(): geoprivacy.types turns NaN/inf into null as a last resort,
    # but a parser that produces them has a bug worth finding
    bad = _non_finite({"lat": lat, "lon": lon, "radius_km": getattr(e, "radius_km"),
                       "confidence": getattr(e, "confidence"), "detail": getattr(e, "detail")})
    if bad:
        raise BadEvidence(f"evidence holds a non-finite number at {bad}")
    json.dumps(e.to_dict(), allow_nan=False)   # type: ignore[attr-defined]


def _non_finite(value: object, path: str = "", depth: int = 0) -> str | None:
    """The path of the first NaN/inf in ``value`` (dicts, lists, objects with to_dict)."""
    import math
    if depth > 32:
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or ".")
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = list(enumerate(value))
    elif hasattr(value, "to_dict"):
        return _non_finite(value.to_dict(), path, depth + 1)   # type: ignore[attr-defined]
    else:
        return None
    for key, item in items:
        found = _non_finite(item, f"{path}.{key}", depth + 1)
        if found:
            return found
    return None


def _writer_target(name: str) -> Target:
    from geoprivacy.defenses.strip import StripOptions
    from geoprivacy.defenses.strip.engine import writers
    from geoprivacy.defenses.strip.sidecars import WRITERS as SIDECAR_WRITERS
    from geoprivacy.errors import GeoprivacyError

    table = {**writers(), **SIDECAR_WRITERS}
    container = {"strip_jpeg": "JPEG", "strip_tiff": "TIFF", "strip_png": "PNG",
                 "strip_webp": "WebP", "strip_isobmff": "MP4", "strip_srt": "SRT",
                 "strip_xmp": "XMP"}[name]
    writer = table[container]
    # writers read a path: one scratch file, rewritten per input (tmpfs when there is one)
    scratch_dir = os.environ.get("GP_FUZZ_SCRATCH") or scratch_root()
    fd, scratch = tempfile.mkstemp(prefix="gp-fuzz-", dir=scratch_dir)
    os.close(fd)
    import atexit
    atexit.register(lambda: os.path.exists(scratch) and os.unlink(scratch))
    options = (StripOptions(all_metadata=False), StripOptions(all_metadata=True))

    def target(data: bytes) -> None:
        with open(scratch, "wb") as fh:
            fh.write(data)
        for opts in options[: 1 + (len(data) & 1)]:   # odd-length inputs also try --all
            try:
                writer(scratch, io.BytesIO(), opts)
            except GeoprivacyError:
                pass
    return target


def scratch_root() -> str | None:
    """tmpfs when there is one (writers read a path per input), else the temp folder."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def make(name: str) -> Target:
    """The target called ``name`` (see ``SEEDS``)."""
    if name in PARSER_SEEDS:
        return _parser_target(_PARSER_CONTAINER[name])
    if name in WRITER_SEEDS:
        return _writer_target(name)
    raise KeyError(f"unknown fuzz target {name!r}; known: {', '.join(sorted(SEEDS))}")


def corpus_by_container(root: Path = SHARED_DATA) -> dict[str, list[Path]]:
    """Every readable file under ``root`` grouped by its sniffed container (small files only)."""
    from geoprivacy.media.sniff import sniff
    from geoprivacy.media.source import Source

    groups: dict[str, list[Path]] = {}
    if not root.is_dir():
        return groups
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.stat().st_size > MAX_SEED_BYTES:
            continue
        try:
            with Source.from_path(path) as src:
                container = sniff(src).container
        except Exception:  # noqa: BLE001 - a seed we cannot sniff is simply not a seed
            continue
        groups.setdefault(container, []).append(path)
    return groups


def seed_files(name: str, groups: dict[str, list[Path]] | None = None) -> list[Path]:
    groups = corpus_by_container() if groups is None else groups
    return [p for c in SEEDS[name] for p in groups.get(c, [])]


def seed_corpus(name: str, groups: dict[str, list[Path]] | None = None) -> str:
    """A fresh temp folder holding copies of the target's seeds (never in the repo)."""
    folder = tempfile.mkdtemp(prefix=f"gp-fuzz-{name}-")
    for i, path in enumerate(seed_files(name, groups)):
        shutil.copyfile(path, os.path.join(folder, f"{i:04d}{path.suffix[:8]}"))
    for i, data in enumerate(builtin_seeds(name)):
        with open(os.path.join(folder, f"gen{i:02d}"), "wb") as fh:
            fh.write(data)
    return folder


def builtin_seeds(name: str) -> list[bytes]:
    """Small generated seeds for containers the shared corpus has none (or only big ones) of."""
    containers = SEEDS[name]
    out: list[bytes] = []
    if "PNG" in containers:
        out.append(_png_with_exif())
    if "NMEA" in containers:
        out.append(b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"
                   b"$GPGGA,123520,4807.040,N,01131.002,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"
                   b"$GPGLL,4807.041,N,01131.003,E,123521,A*2C\r\n")
    if "TakeoutJSON" in containers:
        out.append(b'{"title": "IMG_1.jpg", "photoTakenTime": {"timestamp": "1500000000"}, '
                   b'"geoData": {"latitude": 48.1173, "longitude": 11.5167, "altitude": 545.4, '
                   b'"latitudeSpan": 0.0, "longitudeSpan": 0.0}, "geoDataExif": {"latitude": '
                   b'48.1173, "longitude": 11.5167, "altitude": 0.0}}')
    if "KML" in containers:
        out.append(b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                   b'<Placemark><name>home</name><Point><coordinates>11.5167,48.1173,0'
                   b'</coordinates></Point></Placemark><Placemark><LineString><coordinates>'
                   b'11.5,48.1 11.6,48.2</coordinates></LineString></Placemark></Document></kml>')
    if "AVI" in containers:
        out.append(_avi_with_gps())
    if "TIFF" in containers:
        out.append(_geotiff())
        out.append(_bigtiff())
    if "MP4" in containers:
        out.append(_dji_movie())
    return out


def _dji_movie() -> bytes:
    """An MP4 with a DJI djmd GPS track (the tests' builder; the corpus has no DJI video)."""
    import sys
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.attacks.metadata.test_djmd import dji_movie, track_of
    return dji_movie(track_of("dvtm_ac203.proto", (3, 4, 2),
                              [(46.5197, 6.6323), (46.5198, 6.6325)], degrees=True))


def _bigtiff() -> bytes:
    """A BigTIFF with a GPS IFD (the tests' builder; the corpus has no BigTIFF)."""
    import sys
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.attacks.metadata.tiffbuild import bigtiff_with_gps
    return bigtiff_with_gps()


def _geotiff() -> bytes:
    """A small UTM-referenced GeoTIFF (tie point, pixel scale, GeoKey directory)."""
    from PIL import Image, TiffImagePlugin

    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    for tag, values in ((33550, (0.5, 0.5, 0.0)), (33922, (0, 0, 0, 420000.0, 5300000.0, 0))):
        ifd[tag], ifd.tagtype[tag] = values, 12
    ifd[34735], ifd.tagtype[34735] = (1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 32633), 3
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 60)).save(buf, "TIFF", tiffinfo=ifd)
    return buf.getvalue()


def _png_with_exif() -> bytes:
    from PIL import Image
    img = Image.new("RGB", (4, 4), (10, 20, 30))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 7.0, 2.28), 3: "E", 4: (11.0, 31.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, "PNG", exif=exif.tobytes())
    return buf.getvalue()


def _avi_with_gps() -> bytes:
    """A RIFF AVI skeleton with an EXIF-style GPS chunk (enough structure to walk)."""
    import struct

    def chunk(fourcc: bytes, body: bytes) -> bytes:
        return fourcc + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")

    def lst(kind: bytes, body: bytes) -> bytes:
        return chunk(b"LIST", kind + body)
    hdrl = lst(b"hdrl", chunk(b"avih", bytes(56)))
    info = lst(b"INFO", chunk(b"ICRD", b"2020-01-01\0") + chunk(b"IGPS", b"48.1173,11.5167\0"))
    movi = lst(b"movi", chunk(b"00dc", b"\0" * 8))
    return chunk(b"RIFF", b"AVI " + hdrl + info + movi)


def all_seeds(name: str, groups: dict[str, list[Path]] | None = None) -> list[bytes]:
    """Corpus seeds (as bytes) followed by the generated ones."""
    return [p.read_bytes() for p in seed_files(name, groups)] + builtin_seeds(name)
