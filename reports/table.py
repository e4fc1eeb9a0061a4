"""Human output: a rich table on a terminal, one plain line per fact when not a TTY (CI logs)."""

from __future__ import annotations

from typing import Any, TextIO

from geoprivacy.report import RunReport
from geoprivacy.reports import WriteOptions
from geoprivacy.types import Evidence, EvidenceKind, FileResult


def describe(ev: Evidence, redact: bool) -> str:
    """One evidence as a short phrase: what, where found, how precise."""
    if ev.kind is EvidenceKind.PLACE_NAME:
        name = "<redacted>" if redact else repr(ev.detail.get("name"))
        what = f"{ev.granularity.value} name {name}"
    elif ev.kind in (EvidenceKind.PLACEHOLDER, EvidenceKind.INVALID):
        what = f"{ev.kind.value}: {ev.detail.get('reason', '')}"
    else:
        coords = "<redacted>" if redact else f"{ev.lat:.6f}, {ev.lon:.6f}"
        what = f"{ev.granularity.value} {coords}"
        if ev.radius_km:
            what += f" (±{ev.radius_km:g} km)"
        if ev.kind is EvidenceKind.TRACK:
            t = ev.detail.get("track", {})
            what += f" track: {t.get('count')} fixes, {t.get('distance_km', 0):.2f} km"
            if t.get("stops"):
                what += f", {len(t['stops'])} stop(s)"
    return what


def _rows(f: FileResult, options: WriteOptions) -> list[tuple[str, str, str]]:
    rows = []
    for finding in f.findings:   # gate: the policy's judgement first
        state = f"suppressed ({finding.suppressed})" if finding.suppressed else finding.severity
        rows.append(("finding", finding.rule_id, f"{state}: {finding.explanation}"))
    for ev in f.evidence:
        if not options.verbose and not ev.is_location and f.has_location:
            continue
        if options.redact and any(x.evidence is ev for x in f.findings):
            continue   # the finding already says it all when coordinates are hidden
        rows.append((ev.kind.value, ev.where, describe(ev, options.redact)))
    if f.errors:  # one line per file, however many parts of it failed
        rows.append(("error" if f.status == "error" else "warning", "", "; ".join(f.errors)))
    return rows


def status_word(f: FileResult) -> str:
    if f.status == "error":
        return "NOT CHECKED"
    if f.status == "skipped":
        return "skipped"
    if any(getattr(x, "suppressed", None) is None for x in f.findings):
        return "FINDING"
    if f.findings:
        return "accepted"       # gate: every finding is baselined or suppressed
    if f.has_location:
        return "LEAKS"
    return "clean" if not f.evidence else "no place"


def write(stream: TextIO, report: RunReport, options: WriteOptions) -> None:
    if options.color:
        _write_rich(stream, report, options)
    else:
        _write_plain(stream, report, options)


def _write_plain(stream: TextIO, report: RunReport, options: WriteOptions) -> None:
    for f in report.files:
        if f.status == "skipped" and not options.verbose:
            continue
        if options.quiet and not (f.has_location or f.status == "error" or f.findings):
            continue
        rows = _rows(f, options)
        if not rows:
            stream.write(f"{f.path}: {status_word(f)} [{f.container}]\n")
        for kind, where, what in rows:
            loc = f" {where}" if where else ""
            stream.write(f"{f.path}: {status_word(f)} [{f.container}]{loc} {what}\n")
    _write_summary(stream, report.summary())


def _write_summary(stream: TextIO, s: dict[str, Any]) -> None:
    if s.get("findings") or s.get("suppressed"):
        stream.write(f"findings: {s['findings']} ({s.get('suppressed', 0)} suppressed)\n")
    stream.write(f"summary: {s['files']} files, {s['with_location']} leak a location, "
                 f"{s['error']} not checked, {s['skipped']} skipped; exit {s['exit_code']}\n")


def _write_rich(stream: TextIO, report: RunReport, options: WriteOptions) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=stream, force_terminal=True)
    table = Table(show_lines=False, header_style="bold")
    for col in ("file", "status", "found in", "what"):
        table.add_column(col, overflow="fold")
    styles = {"LEAKS": "bold red", "FINDING": "bold red", "NOT CHECKED": "yellow",
              "clean": "green", "no place": "green", "skipped": "dim", "accepted": "cyan"}
    for f in report.files:
        if f.status == "skipped" and not options.verbose:
            continue
        if options.quiet and not (f.has_location or f.status == "error" or f.findings):
            continue
        word = status_word(f)
        rows = _rows(f, options) or [("", "", "")]
        for i, (_, where, what) in enumerate(rows):
            table.add_row(f.path if i == 0 else "", f"[{styles[word]}]{word}[/]" if i == 0 else "",
                          where, what)
    console.print(table)
    s = report.summary()
    console.print(f"[bold]{s['files']}[/] files · [red]{s['with_location']}[/] leak a location · "
                  f"[yellow]{s['error']}[/] not checked · {s['skipped']} skipped · "
                  f"exit {s['exit_code']}")
