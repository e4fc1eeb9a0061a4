"""Round trip over every photo in the shared corpus: strip, then prove the output is clean.

Each property is asserted only where the input has it: pixels where Pillow decodes the input,
MakerNotes where exiftool reads some in the input.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geoprivacy.audit import identify
from geoprivacy.defenses.strip.engine import CLEAN, CLEANED, ERROR, StripSettings, audit, \
    strip_file, writers
from tests.corpus import SHARED_DATA, entries
from tests.defenses.strip.helpers import EXIFTOOL, exiftool_json, location_tags, sha256, \
    warnings


def _photo_entries() -> list[dict]:
    out = entries("photo")
    for e in entries("malformed"):
        path = SHARED_DATA / e["path"]
        if path.exists() and path.stat().st_size and identify(str(path)).kind == "photo":
            out.append(e)
    return out


PHOTOS = _photo_entries()
IDS = [e["path"] for e in PHOTOS]


@pytest.fixture(scope="module")
def stripped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """input path -> {result, output}, every photo stripped once into its own folder."""
    root = tmp_path_factory.mktemp("strip")
    table = writers()
    out = {}
    for i, e in enumerate(PHOTOS):
        src = SHARED_DATA / e["path"]
        settings = StripSettings(output_dir=str(root / str(i)))
        result = strip_file(str(src), settings, table)
        out[e["path"]] = {"result": result, "input": src,
                          "output": Path(result.output) if result.output else None}
    return out


@pytest.fixture(scope="module")
def exif_records(stripped: dict[str, dict]) -> dict[str, dict]:
    if EXIFTOOL is None:
        pytest.skip("exiftool is not installed")
    files = [v["input"] for v in stripped.values()]
    files += [v["output"] for v in stripped.values() if v["output"] and v["output"].exists()]
    return exiftool_json(files, "-G1", "-ee", "-warning", "-gps:all", "-location:all",
                         "-xmp:all", "-iptc:all", "-makernotes:all")


def test_corpus_has_photos() -> None:
    assert len(PHOTOS) >= 40


@pytest.mark.parametrize("entry", PHOTOS, ids=IDS)
def test_outcome_is_verified_or_a_one_line_error(entry: dict, stripped: dict) -> None:
    r = stripped[entry["path"]]["result"]
    if entry["kind"] == "photo":
        assert r.status in (CLEANED, CLEAN), r.errors
    assert r.status in (CLEANED, CLEAN, ERROR)
    if r.status == ERROR:
        assert r.errors and all("\n" not in e and "Traceback" not in e for e in r.errors)
        assert r.output is None
    else:
        assert r.verified and Path(r.output).exists()
    if entry.get("expected_gps") and r.status != ERROR:
        assert r.removed, "a photo with GPS must list what was removed"


@pytest.mark.parametrize("entry", PHOTOS, ids=IDS)
def test_our_audit_finds_nothing_in_output(entry: dict, stripped: dict) -> None:
    out = stripped[entry["path"]]["output"]
    if out is None:
        pytest.skip("no output (the input could not be cleaned)")
    after = audit(str(out))
    assert not after.evidence and not after.errors


@pytest.mark.parametrize("entry", PHOTOS, ids=IDS)
def test_exiftool_finds_no_location_in_output(entry: dict, stripped: dict,
                                              exif_records: dict) -> None:
    out = stripped[entry["path"]]["output"]
    if out is None:
        pytest.skip("no output (the input could not be cleaned)")
    assert location_tags(exif_records[str(out)]) == {}


@pytest.mark.parametrize("entry", PHOTOS, ids=IDS)
def test_no_new_exiftool_warnings_and_makernotes_kept(entry: dict, stripped: dict,
                                                      exif_records: dict) -> None:
    item = stripped[entry["path"]]
    if item["output"] is None:
        pytest.skip("no output")
    before, after = exif_records[str(item["input"])], exif_records[str(item["output"])]
    assert warnings(after) <= warnings(before)
    notes_before = {k for k in before if k.split(":")[0] not in
                    ("SourceFile", "ExifTool", "GPS", "XMP-exif", "IPTC", "Composite")
                    and not k.startswith("XMP") and "Warning" not in k
                    and not location_tags({k: before[k]})}
    if notes_before:
        notes_after = {k for k in after if k in notes_before}
        assert notes_after == notes_before


@pytest.mark.parametrize("entry", PHOTOS, ids=IDS)
def test_pixels_identical(entry: dict, stripped: dict) -> None:
    from PIL import Image

    item = stripped[entry["path"]]
    if item["output"] is None:
        pytest.skip("no output")
    try:
        with Image.open(item["input"]) as im:
            before = im.tobytes()
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for undecodable input
        pytest.skip(f"Pillow cannot decode the input: {type(exc).__name__}")
    with Image.open(item["output"]) as im:
        assert im.tobytes() == before


@pytest.mark.parametrize("entry", PHOTOS, ids=IDS)
def test_input_byte_identical(entry: dict, stripped: dict) -> None:
    assert sha256(stripped[entry["path"]]["input"]) == entry["sha256"]


@pytest.fixture(scope="module")
def stripped_all(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("strip-all")
    table = writers()
    out = {}
    for i, e in enumerate(PHOTOS):
        src = SHARED_DATA / e["path"]
        result = strip_file(str(src), StripSettings(output_dir=str(root / str(i)),
                                                    all_metadata=True), table)
        out[e["path"]] = {"result": result, "input": src,
                          "output": Path(result.output) if result.output else None}
    return out


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")
def test_all_mode_leaves_no_xmp_iptc_or_location(stripped_all: dict) -> None:
    from PIL import Image

    outputs = {k: v for k, v in stripped_all.items() if v["output"]}
    for path, v in stripped_all.items():
        entry_kind = next(e["kind"] for e in PHOTOS if e["path"] == path)
        if entry_kind == "photo":
            assert v["result"].status in (CLEANED, CLEAN), (path, v["result"].errors)
    records = exiftool_json([v["output"] for v in outputs.values()], "-G1", "-ee",
                            "-gps:all", "-location:all", "-xmp:all", "-iptc:all")
    for path, v in outputs.items():
        rec = records[str(v["output"])]
        assert location_tags(rec) == {}, path
        if v["result"].container != "TIFF":          # TIFF keeps its IFD0 image tags
            assert not [k for k in rec if k.startswith(("XMP", "IPTC"))], path
        assert not audit(str(v["output"])).evidence
        try:
            with Image.open(v["input"]) as im:
                before = im.tobytes()
        except Exception:  # noqa: BLE001 - undecodable input: nothing to compare
            continue
        with Image.open(v["output"]) as im:
            assert im.tobytes() == before, path
