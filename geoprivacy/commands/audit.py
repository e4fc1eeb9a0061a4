"""`geoprivacy audit`: collect inputs, run attackers, write the report, return the exit code."""

from __future__ import annotations

from geoprivacy.attacks import ATTACKERS
from geoprivacy.audit import AuditOptions, audit_file
from geoprivacy.errors import GeoprivacyError
from geoprivacy.inputs import collect
from geoprivacy.registry import instantiate
from geoprivacy.report import RunReport
from geoprivacy.types import FileResult


def input_error_results(errors: list[tuple[str, str]]) -> list[FileResult]:
    return [FileResult(path, "unknown", "unknown", "error", errors=(reason,))
            for path, reason in errors]


def build_attackers(names: str, detail: bool,
                    index: str | None = None) -> list:  # type: ignore[type-arg]
    out = []
    for name in [n.strip() for n in names.split(",") if n.strip()]:
        attacker = instantiate(ATTACKERS, name)
        if detail and hasattr(attacker, "options"):
            attacker.options.detail = True
        if hasattr(attacker, "use_index"):
            if index is None:
                raise GeoprivacyError(f"attacker {name!r} needs --index INDEX (a gallery made "
                                      f"by `geoprivacy index build`)")
            attacker.use_index(index)
        out.append(attacker)
    return out


def run_audit(paths: list[str], *, fmt: str, attackers: str, detail: bool, redact: bool,
              exclude: list[str], output: str | None, quiet: bool, verbose: bool,
              index: str | None = None) -> int:
    from geoprivacy.cli import emit, progress

    inputs = collect(paths, exclude)
    options = AuditOptions(attackers=build_attackers(attackers, detail, index),
                           explicit={p for p in paths})
    results = [audit_file(p, options) for p in progress(inputs.files, "auditing", quiet)]
    results.extend(input_error_results(inputs.errors))
    report = RunReport(command="audit", files=tuple(results),
                       attackers=tuple(a.name for a in options.attackers))
    emit(report, fmt, output, redact=redact, quiet=quiet, verbose=verbose)
    return report.exit_code
