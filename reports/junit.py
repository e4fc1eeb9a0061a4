"""JUnit XML: one testcase per file, a failure per finding, an error when not checked.

CI systems (GitLab, Jenkins, GitHub test reporters) show these like unit-test results.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TextIO

from geoprivacy.report import RunReport
from geoprivacy.reports import WriteOptions
from geoprivacy.reports.table import describe


def write(stream: TextIO, report: RunReport, options: WriteOptions) -> None:
    summary = report.summary()
    files = [f for f in report.files if f.status != "skipped"]
    failures = sum(1 for f in files if any(x.suppressed is None for x in f.findings))
    errors = sum(1 for f in files if f.status == "error")
    skipped = len(report.files) - len(files)
    suites = ET.Element("testsuites", name="geoprivacy", tests=str(len(report.files)),
                        failures=str(failures), errors=str(errors))
    suite = ET.SubElement(suites, "testsuite", name=f"geoprivacy {report.command}",
                          tests=str(len(report.files)), failures=str(failures),
                          errors=str(errors), skipped=str(skipped))
    props = ET.SubElement(suite, "properties")
    policy = report.policy or {}
    for key, value in (("policy", policy.get("name")), ("audience", policy.get("audience")),
                       ("exit_code", summary["exit_code"])):
        if value is not None:
            ET.SubElement(props, "property", name=key, value=str(value))
    for f in report.files:
        case = ET.SubElement(suite, "testcase", classname=f"geoprivacy.{f.container}",
                             name=f.path)
        if f.status == "skipped":
            ET.SubElement(case, "skipped", message="; ".join(f.errors) or "not media")
            continue
        for finding in f.findings:
            if finding.suppressed is not None:
                continue
            node = ET.SubElement(case, "failure", type=finding.rule_id,
                                 message=f"{finding.severity}: reaches {finding.reached.value}, "
                                         f"allowed {finding.allowed.value}")
            node.text = (f"{finding.explanation}\n{describe(finding.evidence, options.redact)}\n"
                         f"fingerprint {finding.fingerprint}")
        if f.status == "error":
            node = ET.SubElement(case, "error", type="not_checked",
                                 message="could not be checked")
            node.text = "\n".join(f.errors)
    ET.indent(suites)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(suites, encoding="unicode"))
    stream.write("\n")
