"""`gate`: attackers + cues + policy over a dataset → a RunReport whose exit code a CI job uses.

Stages: expand inputs (folders, globs, zip files, WebDataset tar shards) → per file, in a
process pool when ``jobs > 1``: content hashes, cached or fresh attacker results, cue-provider
answers for the cues the policy needs → in the parent: context, policy judgement, baseline and
suppressions. The report's file order is the input order whatever ``jobs`` is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from geoprivacy import __version__
from geoprivacy.baseline import Suppression, apply
from geoprivacy.context import CUE_PROVIDERS, DERIVED, METADATA_CUES, ContextFile, Context, \
    CueValue, derive, metadata_cues, not_checked, stated
from geoprivacy.errors import GeoprivacyError
from geoprivacy.policy import DEFAULT_AUDIENCE, Policy
from geoprivacy.report import RunReport
from geoprivacy.risk import Finding, judge, reached_level
from geoprivacy.types import Evidence, FileResult, MediaItem


@dataclass
class GateOptions:
    """Everything that decides a gate run's result."""

    policy: Policy
    audience: str = DEFAULT_AUDIENCE
    context: dict[str, CueValue] = field(default_factory=dict)     # --context, every file
    context_file: ContextFile | None = None
    baseline: frozenset[str] = frozenset()
    suppressions: tuple[Suppression, ...] = ()
    jobs: int = 1
    cache: bool = True
    cache_path: Path | None = None
    exclude: list[str] = field(default_factory=list)
    engine: str = "local"                 # where the per-file work runs (geoprivacy.engines)
    ray_address: str | None = None        # engine "ray": join this cluster (else start one)
    timeout: float | None = None          # per-file seconds in a worker (--jobs > 1)
    max_memory: int | None = None         # per-file MB in a worker (--jobs > 1)
    index: str | None = None              # gallery of the retrieval attacker (--index)


@dataclass(frozen=True)
class Task:
    logical: str          # what the report calls the file (archive.zip!/a.jpg for members)
    real: str             # where its bytes are
    explicit: bool
    ask: tuple[str, ...]  # cues the policy needs that the user did not state
    stated: tuple[tuple[str, CueValue], ...] = ()   # what the user stated for this file


@dataclass
class Audited:
    """What a worker learned about one file (before the policy)."""

    result: FileResult
    sha256: str
    cues: dict[str, CueValue]
    cache_put: tuple[str, dict[str, Any]] | None = None
    memo: tuple[str, Any] | None = None


# --- Worker side -------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(attacker_names: tuple[str, ...], cache_path: str | None,
                 policy: Policy | None = None, audience: str | None = None,
                 index: str | None = None) -> None:
    """Build attackers once per process (a gallery attacker with ``index``); open the cache
    read-only.

    With a policy (set here, or inherited from the parent by a forked pool), cue providers
    run only for cues that could change the file's judgement; without one, for every cue
    in ``Task.ask``."""
    from geoprivacy.attacks import ATTACKERS
    from geoprivacy.cache import ResultCache, hash_file
    from geoprivacy.registry import instantiate

    attackers = [instantiate(ATTACKERS, n) for n in attacker_names]
    versions = {"tool": __version__, "attackers": sorted(
        f"{a.name}@{getattr(a, 'version', __version__)}" for a in attackers)}
    if index is not None and any(hasattr(a, "use_index") for a in attackers):
        attackers = [_with_index(a, index) for a in attackers]
        versions["index"] = hash_file(index).sha256   # a new gallery is a new result
    _WORKER["attackers"] = attackers
    _WORKER["versions"] = versions
    _WORKER["cache"] = ResultCache(Path(cache_path), readonly=True) if cache_path else None
    _WORKER["providers"] = {}
    if policy is not None:
        _WORKER["policy"], _WORKER["audience"] = policy, audience or DEFAULT_AUDIENCE


def _with_index(attacker: Any, index: str) -> Any:
    """The attacker with its gallery loaded, or, when the gallery or its encoder cannot load,
    one that reports why on every file (the file is "not checked", never clean)."""
    if not hasattr(attacker, "use_index"):
        return attacker
    try:
        attacker.use_index(index)
        return attacker
    except GeoprivacyError as exc:
        return _Unavailable(attacker, str(exc))


class _Unavailable:
    """Stands in for an attacker that could not load: supports what it would, fails each."""

    def __init__(self, attacker: Any, why: str) -> None:
        self.name, self._attacker, self._why = attacker.name, attacker, why
        self.reads_pixels = getattr(attacker, "reads_pixels", False)

    def supports(self, container: str) -> bool:
        return bool(self._attacker.supports(container))

    def attack(self, item: MediaItem) -> Any:
        raise GeoprivacyError(self._why)


def _provider_index() -> dict[str, tuple[Any, str | None]]:
    """cue → (provider object or None, why not), from every registered provider's ``cues``.

    Built once per process; importing ``geoprivacy.cues.providers`` registers the built-in
    detectors when that package is there. A provider registered under a cue's own name wins.
    """
    index: dict[str, tuple[Any, str | None]] = _WORKER.setdefault("providers", {})
    if index:
        return index
    import importlib
    try:
        importlib.import_module("geoprivacy.cues.providers")
    except ImportError:
        pass
    for plugin in CUE_PROVIDERS:
        extra = f" (pip install 'geoprivacy[{plugin.extra}]')" if plugin.extra else ""
        try:
            if not plugin.available():
                index.setdefault(plugin.name, (None, f"cue provider {plugin.name!r} is not "
                                                     f"installed{extra}"))
                continue
            obj = plugin.load()
        except (GeoprivacyError, ImportError, OSError, RuntimeError) as exc:
            index.setdefault(plugin.name, (None, f"cue provider {plugin.name!r} could not "
                                                 f"load: {exc}"))
            continue
        for cue in getattr(obj, "cues", None) or (plugin.name,):
            if cue == plugin.name or index.get(cue, (None,))[0] is None:
                index[cue] = (obj, None)
    index.setdefault("", (None, None))     # marks the index as built
    return index


def _provider(cue: str) -> tuple[Any, str | None]:
    """(provider or None, why not) for a cue."""
    found = _provider_index().get(cue)
    if found is None:
        return None, (f"no cue provider answers {cue!r}; state it with --context {cue}=... "
                      "or a context file")
    return found


def _ask_providers(item: MediaItem, evidence: list[Evidence], ask: Iterable[str],
                   known: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Cue values (as dicts, with the provider version) for cues not answered yet."""
    out: dict[str, dict[str, Any]] = {}
    for cue in ask:
        if cue in out:
            continue           # answered by a provider asked for another cue
        provider, why = _provider(cue)
        version = getattr(provider, "version", None) if provider else None
        if cue in known and known[cue].get("provider_version") == version and provider:
            continue
        if provider is None:
            out[cue] = {**not_checked(why or "", "").to_dict(), "provider_version": None}
            continue
        try:
            values = provider.provide(item, evidence)
        except (GeoprivacyError, OSError, ValueError, RuntimeError, MemoryError) as exc:
            values = {cue: not_checked(f"{getattr(provider, 'name', cue)} failed: {exc}",
                                       getattr(provider, "name", cue))}
        for name, value in values.items():
            out[name] = {**value.to_dict(), "provider_version": version}
        out.setdefault(cue, {**not_checked(f"{cue!r} not answered by its provider").to_dict(),
                             "provider_version": version})
    return out


def _work(task: Task) -> Audited:
    """One file: hashes, cached or fresh attacker results, provider cues."""
    from geoprivacy.audit import AuditOptions, audit_file
    from geoprivacy.cache import hash_file, result_key

    cache = _WORKER.get("cache")
    try:
        hashes, memo_key = cache.hashes(task.real) if cache else (hash_file(task.real), None)
    except OSError as exc:
        return Audited(FileResult(task.logical, "unknown", "unknown", "error",
                                  errors=(f"cannot read file: {exc.strerror or exc}",)), "", {})
    key = result_key(hashes.fast, {**_WORKER["versions"], "explicit": task.explicit})
    entry = cache.get(key) if cache else None
    fresh = entry is None
    if entry is None:
        options = AuditOptions(attackers=_WORKER["attackers"],
                               explicit={task.real} if task.explicit else set())
        res = audit_file(task.real, options)
        entry = {"kind": res.kind, "container": res.container, "status": res.status,
                 "evidence": [e.to_dict() for e in res.evidence], "errors": list(res.errors),
                 "cues": {}}
    evidence = [_evidence(e) for e in entry["evidence"]]
    located = any(e.is_location for e in evidence)
    new_cues = {}
    if located and entry["status"] != "skipped" and task.ask:
        item = MediaItem(task.real, entry["kind"], entry["container"], "", 0, hashes.sha256)
        new_cues = _resolve_cues(item, evidence, task, entry["cues"])
    if new_cues:
        entry = {**entry, "cues": {**entry["cues"], **new_cues}}
    result = FileResult(task.logical, entry["kind"], entry["container"], entry["status"],
                        evidence=tuple(evidence), errors=tuple(entry["errors"]))
    cues = {k: CueValue.from_dict(v) for k, v in entry["cues"].items()}
    put = (key, entry) if (fresh or new_cues) and cache is not None else None
    memo = (memo_key, hashes) if memo_key and cache is not None else None
    return Audited(result, hashes.sha256, cues, put, memo)


def _resolve_cues(item: MediaItem, evidence: list[Evidence], task: Task,
                  known: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Ask providers only for unknown cues that could change this file's judgement, again
    after each answer (a face found may make the scene irrelevant); bounded by the cue count.
    Cached answers are reused as they are."""
    policy: Policy | None = _WORKER.get("policy")
    if policy is None:
        return _ask_providers(item, evidence, task.ask, known)
    audience = _WORKER.get("audience", DEFAULT_AUDIENCE)
    reached = [reached_level(e) for e in evidence if e.is_location]
    stated_cues = dict(task.stated)
    new: dict[str, dict[str, Any]] = {}
    asked: set[str] = set()
    unanswerable = frozenset(c for c in task.ask if _provider(c)[0] is None and not any(
        _provider(d)[0] is not None for d in DERIVED.get(c, ())))
    for _ in range(len(policy.needed_cues()) + 2):
        answers = {k: CueValue.from_dict(v) for k, v in {**known, **new}.items()}
        context = assemble(audience, evidence, answers, stated_cues)
        wanted = set()
        for cue in policy.cues_that_matter(context, audience, reached, unanswerable):
            wanted |= {cue, *DERIVED.get(cue, ())}
        wanted -= asked | set(stated_cues) | set(METADATA_CUES) | {"audience"}
        wanted = {c for c in wanted if not context.get(c).known}
        if not wanted:
            break
        asked |= wanted
        new.update(_ask_providers(item, evidence, sorted(wanted), {**known, **new}))
    # say why the cues that mattered but nothing could answer stay unknown
    answers = {k: CueValue.from_dict(v) for k, v in {**known, **new}.items()}
    context = assemble(audience, evidence, answers, stated_cues)
    for cue in policy.cues_that_matter(context, audience, reached) & unanswerable:
        new[cue] = {**not_checked(_provider(cue)[1] or "", "").to_dict(),
                    "provider_version": None}
    return new


def assemble(audience: str, evidence: Iterable[Evidence], provided: dict[str, CueValue],
             stated_cues: dict[str, CueValue]) -> Context:
    """A file's context: audience, metadata cues, provider answers, then what the user stated
    (which wins), then VLM-GeoPrivacy answers derived from detectors."""
    base = Context({"audience": stated("audience", audience, "--audience")})
    return derive(base.merged(metadata_cues(evidence)).merged(provided).merged(stated_cues))


def _evidence(d: dict[str, Any]) -> Evidence:
    from geoprivacy.types import EvidenceKind, Granularity
    return Evidence(**{**d, "kind": EvidenceKind(d["kind"]),
                       "granularity": Granularity(d["granularity"])})


# --- Parent side -------------------------------------------------------------------------------

def _attackers(policy: Policy, index: str | None = None) -> tuple[tuple[str, ...], list[str]]:
    """(attackers that load, one line per attacker the policy needs that cannot run).

    Nothing heavy loads here (workers fork from this process): a gallery attacker is only
    checked for its ``--index`` file; the gallery and its encoder load in the workers."""
    from geoprivacy.attacks import ATTACKERS
    from geoprivacy.registry import instantiate

    ok, problems = [], []
    for name in policy.attackers:
        try:
            attacker = instantiate(ATTACKERS, name)
        except GeoprivacyError as exc:
            problems.append(f"attacker {name!r} needed by the policy could not run: {exc}")
            continue
        if hasattr(attacker, "use_index"):
            if index is None:
                problems.append(f"attacker {name!r} needed by the policy needs a gallery: pass "
                                "--index INDEX (build one with `geoprivacy index build`)")
                continue
            from geoprivacy.attacks.retrieval.index import read_header
            try:
                read_header(index)
            except GeoprivacyError as exc:
                problems.append(f"attacker {name!r} needed by the policy could not run: {exc}")
                continue
        ok.append(name)
    return tuple(ok), problems


def _stated_for(path: str, options: GateOptions) -> dict[str, CueValue]:
    cues = dict(options.context_file.for_path(path)) if options.context_file else {}
    cues.update(options.context)
    return cues


def gate(paths: list[str], options: GateOptions, progress: Any = None) -> RunReport:
    """Run the whole gate; ``progress`` wraps an iterable for a progress bar."""
    from geoprivacy.cache import ResultCache
    from geoprivacy.datasets import expand
    from geoprivacy.engines import runner
    from geoprivacy.engines.sources import is_url, list_urls
    from geoprivacy.inputs import collect

    inputs = collect([p for p in paths if not is_url(p)], options.exclude)
    urls, url_errors = list_urls([p for p in paths if is_url(p)], options.exclude)
    inputs.errors.extend(url_errors)
    expanded = expand(inputs.files)
    expanded.items.extend((u, u) for u in urls)      # fsspec URLs: read by the worker
    try:
        cache = None
        if options.cache:
            options.cache_path = options.cache_path or ResultCache.default_path()
            cache = ResultCache(options.cache_path)   # creates the tables before workers read
        attackers, attacker_problems = _attackers(options.policy, options.index)
        needed = [c for c in options.policy.needed_cues() if c not in METADATA_CUES]
        explicit = {os.path.abspath(p) for p in paths}
        tasks = []
        for logical, real in expanded.items:
            stated_cues = _stated_for(logical, options)
            ask = tuple(c for c in needed if not stated_cues.get(c, not_checked("")).known)
            tasks.append(Task(logical, real, os.path.abspath(real) in explicit, ask,
                              tuple(sorted(stated_cues.items()))))
        # workers forked from here (and this process) see the policy: providers run only
        # when their answer could change a judgement
        _WORKER["policy"], _WORKER["audience"] = options.policy, options.audience
        audited = runner(options.engine)(tasks, attackers, options)
        if progress is not None:
            audited = progress(audited, len(tasks))
        results = []
        for task, a in zip(tasks, audited):
            results.append(_judge(a, task, options, attacker_problems))
            if cache is not None:
                if a.cache_put:
                    cache.put(*a.cache_put)
                if a.memo:
                    cache.remember(*a.memo)
        if cache is not None:
            cache.commit()
            cache.close()
    finally:
        expanded.cleanup()
        _WORKER.pop("policy", None)      # a later run in this process must not inherit it
    errors = inputs.errors + expanded.errors
    results.extend(FileResult(p, "unknown", "unknown", "error", errors=(r,)) for p, r in errors)
    return RunReport(command="gate", files=tuple(results), attackers=attackers,
                     policy={**options.policy.to_dict(), "audience": options.audience})


def _judge(a: Audited, task: Task, options: GateOptions, attacker_problems: list[str]
           ) -> FileResult:
    res = a.result
    if res.status == "skipped":
        if not attacker_problems:
            return res
        # The attacker that could have read this container did not run: unknown, not skipped.
        return FileResult(res.path, res.kind, res.container, "error",
                          errors=tuple(attacker_problems))
    context = assemble(options.audience, res.evidence, a.cues, _stated_for(task.logical, options))
    j = judge(res.path, a.sha256, res.evidence, context, options.policy, options.audience)
    findings = apply(j.findings, options.baseline, options.suppressions)
    active = any(f.suppressed is None for f in findings)
    errors = list(res.errors) + list(attacker_problems) + [f"policy: {u}" for u in j.undetermined]
    status = res.status
    if not active and (errors or status == "error"):
        status = "error"
    elif active:
        status = "ok"
    ctx = context.to_dict() if (findings or j.undetermined) else {}
    return FileResult(res.path, res.kind, res.container, status, evidence=res.evidence,
                      errors=tuple(errors), findings=findings, context=ctx)


def all_findings(report: RunReport, *, include_suppressed: bool = False) -> list[Finding]:
    return [f for r in report.files for f in r.findings
            if include_suppressed or getattr(f, "suppressed", None) is None]
