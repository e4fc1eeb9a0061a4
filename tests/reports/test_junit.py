"""JUnit XML: one testcase per file, a failure per finding, an error when not checked."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.reports.gate_golden import FILES, check_golden


def test_golden_junit() -> None:
    root = ET.fromstring(check_golden("junit"))
    suite = root.find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == set(FILES)                     # one testcase per file
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("5", "2", "1")
    failure = cases["photos/GPS.jpg"].find("failure")
    assert failure is not None and failure.get("type") == "default-public"
    assert "reaches exact, allowed country" in failure.get("message", "")
    assert "<redacted>" in (failure.text or "") and "54.98" not in (failure.text or "")
    error = cases["malformed/issue_2339_poc.tiff"].find("error")
    assert error is not None and "IFD0" in (error.text or "")
    assert list(cases["photos/noexif.jpg"]) == []        # passed
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"policy": "geoprivacy-default", "audience": "public", "exit_code": "1"}
