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


def build_attackers(names: str, detail: bool, index: str | None = None,
                    model_options: dict | None = None) -> list:  # type: ignore[type-arg]
    out = []
    for name in [n.strip() for n in names.split(",") if n.strip()]:
        attacker = instantiate(ATTACKERS, name)
        if hasattr(attacker, "configure"):
            attacker.configure(**(model_options or {}))  # loads now: missing weights fail early
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
              index: str | None = None, jobs: int = 1, timeout: float | None = None,
              max_memory: int | None = None, cues: str = "",
              model_options: dict | None = None) -> int:
    from geoprivacy.cli import emit, progress

    inputs = collect(paths, exclude)
    options = AuditOptions(attackers=build_attackers(attackers, detail, index, model_options),
                           explicit={p for p in paths})
    cue_providers = build_cue_providers(cues)
    if jobs > 1 or timeout is not None or max_memory is not None:
        from geoprivacy.audit_pool import audit_in_pool
        from geoprivacy.pool import default_budget
        pooled = audit_in_pool(inputs.files, attackers=attackers, detail=detail, index=index,
                               explicit=paths, jobs=jobs, model_options=model_options,
                               budget=default_budget(jobs, timeout, max_memory))
        results = [r for _, r in zip(progress(inputs.files, "auditing", quiet), pooled)]
        pooled.close()      # stops the workers now
    else:
        results = [audit_file(p, options) for p in progress(inputs.files, "auditing", quiet)]
    results = [with_context(r, cue_providers) for r in results]
    results.extend(input_error_results(inputs.errors))
    report = RunReport(command="audit", files=tuple(results),
                       attackers=tuple(a.name for a in options.attackers),
                       models=models_used(options.attackers, cue_providers))
    emit(report, fmt, output, redact=redact, quiet=quiet, verbose=verbose)
    return report.exit_code


def build_cue_providers(names: str) -> list:  # type: ignore[type-arg]
    """The cue providers named by ``--cues`` (heavy imports only when some are named)."""
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted:
        return []
    import geoprivacy.cues.providers  # noqa: F401  (registers the built-in providers)
    from geoprivacy.context import CUE_PROVIDERS
    return [instantiate(CUE_PROVIDERS, n) for n in wanted]


def with_context(result: FileResult, providers: list) -> FileResult:  # type: ignore[type-arg]
    """``result`` with the ensemble's answer (when 2+ attackers located it) and cue values."""
    import dataclasses

    from geoprivacy.attacks.ensemble import with_ensemble
    evidence = tuple(with_ensemble(result.evidence))
    context = dict(result.context)
    if providers and result.status == "ok" and result.kind in ("photo", "video"):
        from geoprivacy.audit import identify
        item = identify(result.path)
        for provider in providers:
            for cue, value in provider.provide(item, list(evidence)).items():
                context[cue] = value.to_dict()
    if evidence == result.evidence and context == result.context:
        return result
    return dataclasses.replace(result, evidence=evidence, context=context)


def models_used(attackers: list, providers: list) -> tuple:  # type: ignore[type-arg]
    """What the report records about every model that ran: files, hashes, versions."""
    out = []
    for a in attackers:
        info = getattr(a, "model_info", None)
        if isinstance(info, dict):
            out.append(info)
    for p in providers:
        info = getattr(p, "model", None)
        if isinstance(info, dict):
            out.append(info)
    return tuple(out)
