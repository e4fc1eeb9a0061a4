"""The documented JSON report schema validates what audit and gate write."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from geoprivacy.report import RunReport
from geoprivacy.types import Evidence, EvidenceKind, FileResult
from tests.reports.gate_golden import check_golden, run


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    text = resources.files("geoprivacy").joinpath("schemas/report.schema.json").read_text()
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_golden_gate_json_matches_the_schema(validator: jsonschema.Draft202012Validator) -> None:
    doc = json.loads(check_golden("json"))
    validator.validate(doc)
    assert doc["command"] == "gate" and doc["policy"]["audience"] == "public"
    files = {f["path"]: f for f in doc["files"]}
    finding = files["photos/GPS.jpg"]["findings"][0]
    assert finding["evidence"]["lat"] == "redacted" and finding["reached"] == "exact"
    assert files["photos/GPS.jpg"]["context"]["audience"]["value"] == "public"
    assert doc["summary"]["findings"] == 2 and doc["summary"]["exit_code"] == 1


def test_unredacted_and_audit_reports_match(validator: jsonschema.Draft202012Validator) -> None:
    validator.validate(json.loads(run("json", "--show-coordinates")[1]))
    ev = Evidence("metadata", EvidenceKind.POSITION, "EXIF:GPSLatitude", 55.7, 13.19)
    audit = RunReport("audit", (FileResult("a.jpg", "photo", "JPEG", "ok", evidence=(ev,)),))
    validator.validate(audit.to_dict())
    validator.validate(audit.to_dict(redact=True))


def test_schema_rejects_what_it_documents_as_wrong(
        validator: jsonschema.Draft202012Validator) -> None:
    doc = json.loads(run("json")[1])
    doc["files"][0]["status"] = "maybe"
    assert not validator.is_valid(doc)
    doc = json.loads(run("json")[1])
    del doc["summary"]["exit_code"]
    assert not validator.is_valid(doc)
