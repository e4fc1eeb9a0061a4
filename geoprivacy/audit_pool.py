"""``audit`` in worker processes under a per-file budget (--jobs, --timeout, --max-memory).

Workers build their own attackers from the command-line names (attacker objects hold closures
that do not pickle); each file is one task; a file over budget is reported as not checked
(status "error", so the run exits 3 unless a location was found elsewhere), never as clean.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from geoprivacy.audit import AuditOptions, audit_file
from geoprivacy.pool import Budget, pool_context, run_pool
from geoprivacy.types import FileResult

_OPTIONS: list[AuditOptions] = []


def _init(attackers: str, detail: bool, index: str | None, explicit: frozenset[str],
          model_options: dict[str, Any] | None = None) -> None:
    from geoprivacy.commands.audit import build_attackers
    kwargs: dict[str, Any] = {"index": index} if index else {}
    if model_options:
        kwargs["model_options"] = model_options
    _OPTIONS[:] = [AuditOptions(attackers=build_attackers(attackers, detail, **kwargs),
                                explicit=set(explicit))]


def _audit(path: str) -> FileResult:
    return audit_file(path, _OPTIONS[0])


def not_checked(path: str, reason: str) -> FileResult:
    return FileResult(path, "unknown", "unknown", "error", errors=(reason,))


def audit_in_pool(files: list[str], *, attackers: str, detail: bool, index: str | None,
                  explicit: Iterable[str], jobs: int, budget: Budget,
                  model_options: dict[str, Any] | None = None) -> Iterator[FileResult]:
    """Every file's result, in ``files`` order."""
    # the parent has built the attackers already (torch, onnxruntime): fork would hang
    return run_pool(_audit, files, jobs=jobs, budget=budget, on_fail=not_checked,
                    initializer=_init, initargs=(attackers, detail, index, frozenset(explicit),
                                                 model_options), context=pool_context())
