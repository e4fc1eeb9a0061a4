"""Table-driven over the shared MANIFEST: every photo and photo-like malformed file.

HEIF/AVIF/MP4/MOV containers are read by the ISO-BMFF parser and tested with it; this table keeps
the JPEG, TIFF/DNG, PNG and WebP files (detected by content, so a JPEG named .png is kept).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from geoprivacy.attacks.metadata import MetadataAttacker
from geoprivacy.audit import AuditOptions, audit_file, identify
from geoprivacy.types import EvidenceKind, FileResult
from tests.corpus import SHARED_DATA, entries

OURS = {"JPEG", "TIFF", "PNG", "WebP"}
TOLERANCE_DEG = 1e-5


def _container(entry: dict) -> str:
    path = SHARED_DATA / entry["path"]
    if not path.exists() or path.stat().st_size == 0:
        return "empty"
    return identify(str(path)).container


def _table(kinds: tuple[str, ...], prefixes: tuple[str, ...]) -> list:
    rows = []
    for entry in entries(*kinds):
        if not entry["path"].startswith(prefixes):
            continue
        container = _container(entry)
        if container in OURS or (container == "empty" and entry["kind"] == "malformed"):
            rows.append(pytest.param(entry, id=entry["path"]))
    return rows


PHOTOS = _table(("photo",), ("photos/", "retrieval/"))
MALFORMED = _table(("malformed",), ("malformed/",))


def audit(entry: dict) -> tuple[FileResult, float]:
    start = time.perf_counter()
    result = audit_file(str(SHARED_DATA / entry["path"]),
                        AuditOptions(attackers=[MetadataAttacker()]))
    return result, time.perf_counter() - start


def _matches(result: FileResult, expected: list[float]) -> bool:
    lat, lon = expected
    return any(e.is_location and e.lat is not None and abs(e.lat - lat) <= TOLERANCE_DEG
               and abs(e.lon - lon) <= TOLERANCE_DEG for e in result.evidence)


def _is_null_island(expected: list[float] | None) -> bool:
    return expected is not None and expected[0] == 0 and expected[1] == 0


def test_the_table_is_not_empty(shared_data: Path) -> None:
    assert len(PHOTOS) >= 30 and len(MALFORMED) >= 10


@pytest.mark.parametrize("entry", PHOTOS)
def test_photo(entry: dict, shared_data: Path) -> None:
    result, seconds = audit(entry)
    expected = entry["expected_gps"]
    assert seconds < 1.0
    if _is_null_island(expected):
        assert not result.has_location
        assert any(e.kind is EvidenceKind.PLACEHOLDER for e in result.evidence)
    elif expected is None:
        assert not result.has_location, [e.to_dict() for e in result.evidence]
    else:
        assert _matches(result, expected), [e.to_dict() for e in result.evidence]
    assert result.status == "ok", result.errors


@pytest.mark.parametrize("entry", MALFORMED)
def test_malformed(entry: dict, shared_data: Path) -> None:
    result, seconds = audit(entry)
    expected = entry["expected_gps"]
    assert seconds < 1.0
    if expected is None:
        assert not result.has_location, [e.to_dict() for e in result.evidence]
    else:  # the corpus says these still carry a readable location
        assert _matches(result, expected), (result.errors, [e.to_dict() for e in result.evidence])
    assert all("\n" not in e for e in result.errors)


def test_gps_only_in_xmp_is_reported_from_xmp(shared_data: Path) -> None:
    result, _ = audit({"path": "photos/adobe_coords.jpg"})
    assert [e.where for e in result.evidence if e.is_location] == ["XMP:exif:GPSLatitude"]


def test_flir_sign_comes_from_the_separate_reference(shared_data: Path) -> None:
    result, _ = audit({"path": "photos/FLIR_iPhone_device.jpg"})
    (ev,) = [e for e in result.evidence if e.is_location]
    assert ev.where == "FLIR:GPSLatitude" and ev.lon < 0


def test_piexif_garbage_is_invalid_not_a_place(shared_data: Path) -> None:
    result, _ = audit({"path": "malformed/Piexif_01.jpg"})
    assert [e.kind for e in result.evidence] == [EvidenceKind.INVALID]


@pytest.mark.parametrize("entry", [p for p in PHOTOS if p.values[0]["path"].startswith("photos/")])
def test_truncated_copies_give_errors_not_crashes(entry: dict, tmp_path: Path,
                                                  shared_data: Path) -> None:
    data = (SHARED_DATA / entry["path"]).read_bytes()[:300_000]
    for cut in sorted({5, 40, 200, 1000, len(data) // 3, len(data) // 2, len(data) - 1}):
        if not 0 < cut < len(data):
            continue
        path = tmp_path / f"cut{cut}"
        path.write_bytes(data[:cut])
        result, seconds = audit({"path": str(path)})
        assert seconds < 1.0
        assert result.status in ("ok", "error", "skipped")  # too short to sniff: skipped
        assert all(isinstance(e, str) and "\n" not in e for e in result.errors)
        if not result.has_location and result.errors and result.container != "unknown":
            assert result.status == "error"
