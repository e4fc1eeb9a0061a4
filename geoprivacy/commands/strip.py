"""`geoprivacy strip`: collect inputs, clean each file, verify it, print what went, exit code."""

from __future__ import annotations

import io
import json
import os
import sys
from typing import IO

from geoprivacy.defenses.strip.engine import FAILED, SKIPPED, StripReport, StripResult, \
    StripSettings, strip_paths
from geoprivacy.inputs import collect


def input_errors(errors: list[tuple[str, str]]) -> list[StripResult]:
    return [StripResult(path, "unknown", "unknown", "error", errors=(reason,))
            for path, reason in errors]


def write_table(fh: IO[str], report: StripReport, *, quiet: bool, verbose: bool) -> None:
    """One line per file (plus indented detail), then a summary line."""
    for r in report.results:
        if r.status == SKIPPED and not verbose:
            continue
        if quiet and r.status not in FAILED:
            continue
        target = f" -> {r.output}" if r.output and r.output != r.input else ""
        method = f" [{r.method}]" if r.method and r.method != "structural" else ""
        fh.write(f"{r.status:12} {r.input}{target}{method}\n")
        if r.removed:
            fh.write(f"{'':12}   removed: {', '.join(r.removed)}\n")
        if verbose and r.found:
            fh.write(f"{'':12}   audit found: {', '.join(r.found)}\n")
        for e in r.errors:
            fh.write(f"{'':12}   error: {e}\n")
        for n in r.notes:
            fh.write(f"{'':12}   note: {n}\n")
    s = report.summary()
    counts = ", ".join(f"{s[k]} {k}" for k in ("cleaned", "clean", "would-clean", "deleted",
                                                 "leak", "error", "skipped") if s.get(k))
    prefix = "dry run: nothing written; " if report.dry_run else ""
    fh.write(f"{prefix}{s['files']} files: {counts or 'nothing to do'}; exit {s['exit_code']}\n")


def run_strip(paths: list[str], settings: StripSettings, *, fmt: str, exclude: list[str],
              report_path: str | None, quiet: bool, verbose: bool, journal: str | None = None,
              resume: bool = False) -> int:
    from geoprivacy.cli import progress
    from geoprivacy.fsutil import atomic_write

    inputs = collect(paths, exclude)
    if settings.output_dir:                 # never re-read our own outputs as inputs
        out_root = os.path.abspath(settings.output_dir).rstrip(os.sep) + os.sep
        inputs.files = [f for f in inputs.files if not os.path.abspath(f).startswith(out_root)]
    roots = tuple(p for p in paths if os.path.isdir(p))
    settings.roots = roots
    settings.explicit = frozenset(paths)
    settings.audit_input = settings.audit_input or verbose
    if journal or resume:
        from geoprivacy.journal import default_path, strip_with_journal
        results = strip_with_journal(inputs.files, settings, journal or default_path(settings),
                                     resume=resume,
                                     progress=lambda items: progress(items, "stripping", quiet))
    else:
        results = strip_paths(inputs.files, settings,
                              lambda items: progress(items, "stripping", quiet))
    results.extend(input_errors(inputs.errors))
    report = StripReport(tuple(results), dry_run=settings.dry_run,
                         all_metadata=settings.all_metadata, sidecars=settings.sidecars)
    buf = io.StringIO()
    if fmt == "json":
        json.dump(report.to_dict(), buf, indent=2, ensure_ascii=False)
        buf.write("\n")
    else:
        write_table(buf, report, quiet=quiet, verbose=verbose)
    if report_path:
        with atomic_write(report_path) as fh:
            fh.write(buf.getvalue())
    else:
        sys.stdout.write(buf.getvalue())
        sys.stdout.flush()
    return report.exit_code
