"""SARIF 2.1.0: what code-scanning dashboards (GitHub, Azure DevOps, GitLab) read.

One rule per policy rule (and per audience default), one result per finding, artifact URIs
relative to the working directory (``uriBaseId`` SRCROOT), fingerprints that survive reruns,
baselined/suppressed findings as SARIF suppressions, and files that could not be checked as
tool execution notifications (so the run is not mistaken for a clean one).
"""

from __future__ import annotations

import json
import os
from typing import Any, TextIO
from urllib.parse import quote

from geoprivacy.report import RunReport, redact_evidence
from geoprivacy.reports import WriteOptions

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"low": "note", "medium": "warning", "high": "error", "critical": "error"}


def artifact_uri(path: str) -> str:
    """A relative, percent-encoded URI for a path (archive members keep their ``!/`` path)."""
    real, sep, member = path.partition("!/")
    rel = os.path.relpath(real) if os.path.isabs(real) else os.path.normpath(real)
    rel = rel.replace(os.sep, "/")
    uri = quote(rel, safe="/-._~")
    return uri + (sep + quote(member, safe="/-._~") if sep else "")


def _rules(report: RunReport) -> list[dict[str, Any]]:
    policy = report.policy or {}
    rules = []
    for r in policy.get("rules", []):
        when = ", ".join(f"{k}={'|'.join(v)}" for k, v in r.get("when", {}).items())
        rules.append(_rule(r["id"], r["description"], f"When {when or 'always'}: disclose at "
                           f"most {r['allow']}.", r["allow"]))
    for audience, level in sorted(policy.get("defaults", {}).items()):
        rules.append(_rule(f"default-{audience}", f"Default for the {audience} audience",
                           f"When no rule matches and the audience is {audience}: disclose at "
                           f"most {level}.", level))
    return rules


def _rule(rule_id: str, short: str, full: str, allow: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": "".join(p.capitalize() for p in rule_id.replace("-", "_").split("_")),
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": f"{full} Remove or coarsen the location (geoprivacy strip / protect), "
                         "or record an accepted exception in a suppressions file with a reason.",
                 "markdown": f"{full}\n\nFix: `geoprivacy strip FILE` removes metadata "
                             "locations; accepted exceptions go in a suppressions file."},
        "defaultConfiguration": {"level": "error"},
        "properties": {"allow": allow, "tags": ["privacy", "geolocation"]},
    }


def sarif_dict(report: RunReport, options: WriteOptions) -> dict[str, Any]:
    rules = _rules(report)
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    notifications = []
    for f in report.files:
        uri = artifact_uri(f.path)
        for finding in f.findings:
            d = finding.to_dict()
            if options.redact:
                redact_evidence(d["evidence"])
            result: dict[str, Any] = {
                "ruleId": finding.rule_id,
                "level": LEVEL.get(finding.severity, "warning"),
                "message": {"text": finding.explanation},
                "locations": [{"physicalLocation": {"artifactLocation": {
                    "uri": uri, "uriBaseId": "SRCROOT"}},
                    "logicalLocations": [{"name": finding.evidence.where, "kind": "member"}]}],
                "partialFingerprints": {"geoprivacyFinding/v1": finding.fingerprint},
                "properties": {"severity": finding.severity, "allowed": d["allowed"],
                               "reached": d["reached"], "cues": d["cues"],
                               "evidence": d["evidence"]},
            }
            if finding.rule_id in index:
                result["ruleIndex"] = index[finding.rule_id]
            if finding.suppressed is not None:
                result["suppressions"] = [{"kind": "external", "status": "accepted",
                                           "justification": finding.suppressed}]
                if finding.suppressed == "in baseline":
                    result["baselineState"] = "unchanged"
            results.append(result)
        if f.status == "error":
            notifications.append({
                "level": "error",
                "message": {"text": f"{f.path}: not checked: " + "; ".join(f.errors)},
                "locations": [{"physicalLocation": {"artifactLocation": {
                    "uri": uri, "uriBaseId": "SRCROOT"}}}]})
    summary = report.summary()
    run = {
        "tool": {"driver": {"name": "geoprivacy", "version": report.tool.get("version", ""),
                            "semanticVersion": report.tool.get("version", ""),
                            "rules": rules}},
        "originalUriBaseIds": {"SRCROOT": {"uri": _cwd_uri()}},
        "invocations": [{"executionSuccessful": summary["error"] == 0,
                         "exitCode": summary["exit_code"],
                         "toolExecutionNotifications": notifications}],
        "results": results,
        "properties": {"summary": summary,
                       "policy": {k: (report.policy or {}).get(k)
                                  for k in ("name", "sha256", "audience")}},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _cwd_uri() -> str:
    cwd = os.getcwd().replace(os.sep, "/")
    return "file://" + quote(cwd if cwd.startswith("/") else "/" + cwd, safe="/-._~:") + "/"


def write(stream: TextIO, report: RunReport, options: WriteOptions) -> None:
    json.dump(sarif_dict(report, options), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
