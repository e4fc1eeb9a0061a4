"""Sidecars of the shared corpus, table-driven over the MANIFEST (sidecars/ and broken SRTs)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from geoprivacy.attacks.metadata import sidecars
from geoprivacy.attacks.metadata.common import Collector
from geoprivacy.errors import GeoprivacyError
from geoprivacy.media.source import Source
from tests.attacks.metadata.sidecar_helpers import locations, read_sidecar
from tests.corpus import entries

SIDECARS = entries("sidecar")
BROKEN_SIDECARS = [e for e in entries("malformed")
                   if e["container"] in sidecars.PARSERS]


def _id(entry: dict) -> str:
    return entry["path"]


def test_the_corpus_has_sidecars_and_broken_srts() -> None:
    assert len(SIDECARS) >= 10
    assert {e["path"] for e in BROKEN_SIDECARS} >= {"malformed/broken_empty.SRT",
                                                    "malformed/broken_incomplete.SRT"}


@pytest.mark.parametrize("entry", SIDECARS + BROKEN_SIDECARS, ids=_id)
def test_sniffed_by_content(entry: dict, shared_data: Path) -> None:
    container, _, _ = read_sidecar(shared_data / entry["path"])
    assert container == ("empty" if entry["bytes"] == 0 else entry["container"])


@pytest.mark.parametrize("entry", SIDECARS + BROKEN_SIDECARS, ids=_id)
def test_first_fix_matches_manifest(entry: dict, shared_data: Path) -> None:
    container, out, errors = read_sidecar(shared_data / entry["path"])
    found = locations(out)
    expected = entry["expected_gps"]
    if expected is None:
        assert found == [], f"{entry['path']}: no place expected, got {found}"
        return
    with_coordinates = [e for e in found if e.lat is not None]
    assert with_coordinates, f"{entry['path']}: no coordinates found ({errors})"
    first = with_coordinates[0]
    assert first.lat == pytest.approx(expected[0], abs=1e-5)
    assert first.lon == pytest.approx(expected[1], abs=1e-5)
    if container == "GPX":
        # The MANIFEST lists the first point in FILE order; the time-ordered start is separate.
        assert first.detail["first_in_file"]["lat"] == pytest.approx(expected[0], abs=1e-5)
        assert "first_by_time" in first.detail


@pytest.mark.parametrize("entry", SIDECARS, ids=_id)
def test_wrong_extension_gives_same_result(entry: dict, shared_data: Path,
                                           tmp_path: Path) -> None:
    renamed = tmp_path / "holiday.jpg"
    shutil.copyfile(shared_data / entry["path"], renamed)
    original = read_sidecar(shared_data / entry["path"])
    copy = read_sidecar(renamed)
    assert copy[0] == original[0]
    assert [e.to_dict() for e in copy[1].evidence] == [e.to_dict() for e in original[1].evidence]


def test_every_sniffed_sidecar_container_has_a_parser() -> None:
    assert set(sidecars.PARSERS) == {"SRT", "GPX", "NMEA", "TakeoutJSON", "XMP", "KML"}


GENERATED = {
    "SRT": "1\n00:00:00,000 --> 00:00:01,000\n[latitude: 45.4642] [longitude: 9.19]\n\n",
    "NMEA": "$GPRMC,123519,A,4807.038,N,01131.000,E,,,230394,,\n",
    "GPX": '<gpx version="1.1"><wpt lat="45.4642" lon="9.19"/></gpx>\n',
    "KML": "<kml><Placemark><Point><coordinates>9.19,45.4642</coordinates></Point></Placemark>"
           "</kml>\n",
    "TakeoutJSON": '{\n  "geoData": {"latitude": 45.4642, "longitude": 9.19}\n}\n',
}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("container", sorted(GENERATED))
def test_bom_and_utf16_sidecars_are_sniffed_and_read(container: str, encoding: str) -> None:
    found, out, errors = read_sidecar(GENERATED[container].encode(encoding))
    assert found == container
    assert locations(out), errors


def test_audit_cli_reports_sidecar_tracks_and_home_point(shared_data: Path,
                                                         tmp_path: Path) -> None:
    """Through the real entry point: a DJI SRT named .jpg, --detail puts every fix in the JSON."""
    renamed = tmp_path / "DJI_0001.jpg"
    shutil.copyfile(shared_data / "sidecars/p4_rtk.SRT", renamed)
    done = subprocess.run(
        [sys.executable, "-c", "from geoprivacy.cli import run; run()", "audit", "--format",
         "json", "--detail", str(renamed)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    (result,) = json.loads(done.stdout)["files"]
    assert result["container"] == "SRT" and result["status"] == "ok"
    wheres = {e["where"]: e for e in result["evidence"]}
    assert set(wheres) == {"SRT:GPS", "SRT:HOME"}
    assert len(wheres["SRT:GPS"]["detail"]["track"]["fixes"]) == 55


def test_mutated_sidecars_never_crash(shared_data: Path) -> None:
    """Seeded mutations of corpus and generated sidecars: a location, nothing, or one
    ParseError — never another exception (the dispatcher would report it as a bug)."""
    rng = random.Random(20261125)
    seeds = [(shared_data / e["path"]).read_bytes() for e in SIDECARS + BROKEN_SIDECARS
             if e["container"] != "XMP"] + [t.encode() for t in GENERATED.values()]
    tokens = [b"-->", b"GPS (", b"HOME(", b"$GPRMC,", b"<", b"</trk>", b"\x00", b"[latitude: ",
              b"99999999", b"\xff\xfe", b"&amp;", b'"geoData":', b"]]>", b"{", b","]
    own = {k: v for k, v in sidecars.PARSERS.items() if k != "XMP"}  # XMP: its own tests
    for _ in range(400):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 12)):
            op = rng.random()
            if op < 0.4 and data:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif op < 0.6 and data:
                start = rng.randrange(len(data))
                del data[start:start + rng.randrange(1, 64)]
            elif op < 0.85:
                pos = rng.randrange(len(data) + 1)
                data[pos:pos] = rng.choice(tokens)
            else:
                data = data[:rng.randrange(len(data) + 1)]
        for parse in own.values():
            try:
                parse(Source.from_bytes(bytes(data)), Collector())
            except GeoprivacyError:
                pass


@pytest.mark.parametrize(("sidecar", "media"), [
    ("DJI_0001.SRT", "DJI_0001.MP4"),
    ("IMG_0001.JPG.xmp", "IMG_0001.JPG"),
    ("IMG_0002.xmp", "IMG_0002.dng"),
    ("PXL_0003.jpg.supplemental-metadata.json", "PXL_0003.jpg"),
])
def test_sidecar_evidence_names_the_media_beside_it(sidecar: str, media: str,
                                                    tmp_path: Path) -> None:
    content = {
        ".SRT": GENERATED["SRT"],
        ".xmp": '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
                '02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/"'
                ' exif:GPSLatitude="45,27.852N" exif:GPSLongitude="9,11.4E"/></rdf:RDF>'
                "</x:xmpmeta>",
        ".json": GENERATED["TakeoutJSON"],
    }[Path(sidecar).suffix]
    (tmp_path / sidecar).write_text(content)
    _, out, errors = read_sidecar(tmp_path / sidecar)
    assert locations(out), errors
    assert all("sidecar_of" not in e.detail for e in out.evidence)   # nothing beside it yet
    (tmp_path / media).write_bytes(b"\xff\xd8\xff\xd9")
    _, out, _ = read_sidecar(tmp_path / sidecar)
    assert [e.detail["sidecar_of"] for e in out.evidence] == [media] * len(out.evidence)


def test_only_the_first_bytes_of_a_huge_sidecar_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from geoprivacy.attacks.metadata import textio

    monkeypatch.setattr(textio, "MAX_SIDECAR_BYTES", len(GENERATED["SRT"]))
    data = (GENERATED["SRT"] + "2\n00:00:01,000 --> 00:00:02,000\n"
            "[latitude: 50.0] [longitude: 10.0]\n\n").encode()
    src = Source.from_bytes(data)
    out = Collector()
    sidecars.PARSERS["SRT"](src, out)
    assert src.bytes_read == len(GENERATED["SRT"])
    assert out.evidence[0].detail["track"]["count"] == 1
    assert any("only the first" in w and "size limit" in w for w in out.warnings)
