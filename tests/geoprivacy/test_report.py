"""The exit-code policy, in its one place, and the report's stable shape."""

from __future__ import annotations

import pytest

from geoprivacy.report import SCHEMA_VERSION, RunReport
from geoprivacy.types import Evidence, EvidenceKind, FileResult, Granularity

PLACE = Evidence("metadata", EvidenceKind.POSITION, "EXIF:GPSLatitude", 55.7, 13.19)
NULL_ISLAND = Evidence("metadata", EvidenceKind.PLACEHOLDER, "EXIF:GPSLatitude",
                       granularity=Granularity.NONE, detail={"reason": "(0, 0)"})


def result(status: str, *evidence: Evidence) -> FileResult:
    return FileResult("f.jpg", "photo", "JPEG", status, evidence=evidence)


@pytest.mark.parametrize("files, code", [
    ([result("ok", PLACE), result("error")], 1),          # found wins over not checked
    ([result("ok"), result("error")], 3),                 # could not check
    ([result("ok", NULL_ISLAND)], 0),                     # a placeholder is not a place
    ([result("skipped")], 2),                             # nothing checked
    ([], 2),
    ([result("ok"), result("skipped")], 0),
])
def test_audit_exit_codes(files: list[FileResult], code: int) -> None:
    assert RunReport(command="audit", files=tuple(files)).exit_code == code


def test_report_dict_is_a_fresh_copy_and_redacts() -> None:
    report = RunReport(command="audit", files=(result("ok", PLACE),))
    d = report.to_dict()
    assert d["schema_version"] == SCHEMA_VERSION
    assert d["files"][0]["evidence"][0]["lat"] == 55.7
    d["files"][0]["evidence"][0]["detail"]["x"] = 1
    assert PLACE.detail == {}
    red = report.to_dict(redact=True)
    assert red["files"][0]["evidence"][0]["lat"] == "redacted"
    assert red["summary"]["with_location"] == 1


def test_redact_hides_place_names() -> None:
    city = Evidence("metadata", EvidenceKind.PLACE_NAME, "IPTC:City",
                    granularity=Granularity.CITY, detail={"name": "Lund"})
    red = RunReport(command="audit", files=(result("ok", city),)).to_dict(redact=True)
    assert red["files"][0]["evidence"][0]["detail"]["name"] == "redacted"
    assert "Lund" not in str(red)
