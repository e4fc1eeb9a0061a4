"""The plain table (CI logs) for gate: findings first, coordinates redacted, a summary."""

from __future__ import annotations

from tests.reports.gate_golden import check_golden


def test_golden_table() -> None:
    text = check_golden("table")
    lines = text.splitlines()
    assert lines[0].startswith("photos/GPS.jpg: FINDING [JPEG] default-public high:")
    assert "54.98" not in text and "-1.91" not in text
    assert "malformed/issue_2339_poc.tiff: NOT CHECKED" in text
    assert lines[-2] == "findings: 2 (0 suppressed)"
    assert lines[-1].endswith("exit 1")
