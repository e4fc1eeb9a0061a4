"""`geoprivacy gate`: judge a dataset against a contextual-integrity policy for CI."""

from __future__ import annotations

import sys
from typing import Any, Iterable, Iterator

from geoprivacy.baseline import load_baseline, load_suppressions, write_baseline
from geoprivacy.context import load_context_file, parse_assignments
from geoprivacy.gate import GateOptions, all_findings, gate
from geoprivacy.policy import load_policy


def _progress(quiet: bool) -> Any:
    """A rich progress bar over results on a terminal; nothing in CI logs."""
    if quiet or not sys.stderr.isatty():
        return None

    def wrap(items: Iterable[Any], total: int) -> Iterator[Any]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
            TimeRemainingColumn
        with Progress(TextColumn("gating"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), transient=True) as bar:
            task = bar.add_task("gating", total=total)
            for item in items:
                yield item
                bar.advance(task)
    return wrap


def run_gate(paths: list[str], *, policy: str | None, audience: str, fmt: str,
             output: str | None, show_coordinates: bool, baseline: str | None,
             write_baseline_to: str | None, suppressions: str | None, jobs: int, cache: bool,
             context: list[str], context_file: str | None, exclude: list[str],
             thumbnails: bool, quiet: bool, verbose: bool, manifests: list[str] | None = None,
             engine: str = "local", ray_address: str | None = None,
             timeout: float | None = None, max_memory: int | None = None,
             index: str | None = None) -> int:
    from geoprivacy.cli import emit
    from geoprivacy.engines.sources import read_manifest

    for manifest in manifests or ():
        paths = paths + read_manifest(manifest)

    stated = parse_assignments(context)
    if "audience" in stated:
        audience = stated.pop("audience").value or audience
    options = GateOptions(
        policy=load_policy(policy), audience=audience, context=stated,
        context_file=load_context_file(context_file) if context_file else None,
        baseline=load_baseline(baseline) if baseline else frozenset(),
        suppressions=load_suppressions(suppressions) if suppressions else (),
        jobs=max(1, jobs), cache=cache, exclude=exclude, engine=engine, ray_address=ray_address,
        timeout=timeout, max_memory=max_memory, index=index)
    report = gate(paths, options, progress=_progress(quiet))
    if write_baseline_to:
        # every finding, including those already accepted: a rewrite never drops them
        n = write_baseline(write_baseline_to, all_findings(report, include_suppressed=True))
        print(f"geoprivacy: wrote {n} finding fingerprint(s) to {write_baseline_to}",
              file=sys.stderr)
    emit(report, fmt, output, redact=not show_coordinates, quiet=quiet, verbose=verbose,
         thumbnails=thumbnails)
    return report.exit_code
