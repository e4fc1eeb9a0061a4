"""The local engine: the gate's per-file work in this process or a process pool, plus URL items
(fetched through fsspec into a private temporary file first)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Iterator

from geoprivacy.engines.sources import fetch, is_url
from geoprivacy.gate import Audited, GateOptions, Task, _init_worker, _work
from geoprivacy.types import FileResult


def work_any(task: Task, data: bytes | None = None) -> Audited:
    """``_work`` for a local path, or for a URL after fetching it; ``data``: the file's bytes,
    read by the driver (process-local URLs, archive members sent to another node). The stat
    memo is not kept for temporary copies."""
    if data is None and not is_url(task.real):
        return _work(task)
    try:
        local = fetch(task.real, data)
    except OSError as exc:
        return Audited(FileResult(task.logical, "unknown", "unknown", "error",
                                  errors=(f"cannot read file: {exc.strerror or exc}",)), "", {})
    try:
        return replace(_work(replace(task, real=local)), memo=None)
    finally:
        os.unlink(local)


def run_local(tasks: list[Task], attackers: tuple[str, ...], options: GateOptions
              ) -> Iterator[Audited]:
    """Audited files in task order, in this process, or — with ``jobs > 1`` or a budget — in a
    pool of workers where each file runs under a time and memory budget (a file over it is
    "not checked"), exactly as ``audit`` does."""
    from geoprivacy.pool import default_budget, run_pool

    cache_path = str(options.cache_path) if options.cache and options.cache_path else None
    budget = default_budget(options.jobs, options.timeout, options.max_memory)
    if options.jobs <= 1 and not budget.limited:
        _init_worker(attackers, cache_path, index=options.index)
        for task in tasks:
            yield work_any(task, _local_bytes(task))
        return
    items = [(t, _local_bytes(t)) for t in tasks]
    yield from run_pool(_work_item, items, jobs=options.jobs, budget=budget,
                        on_fail=_over_budget, initializer=_init_worker,
                        initargs=(attackers, cache_path, None, None, options.index))


def _work_item(item: tuple[Task, bytes | None]) -> Audited:
    return work_any(*item)


def _over_budget(item: tuple[Task, bytes | None], reason: str) -> Audited:
    task = item[0]
    return Audited(FileResult(task.logical, "unknown", "unknown", "error",
                              errors=(f"not checked: {reason}",)), "", {})


def _local_bytes(task: Task) -> Any:
    """Bytes of a process-local URL (memory://), read here because workers cannot."""
    from geoprivacy.engines.sources import PROCESS_LOCAL, protocol, read_url_bytes
    if not is_url(task.real) or protocol(task.real) not in PROCESS_LOCAL:
        return None
    try:
        return read_url_bytes(task.real)
    except OSError:
        return None      # the worker reports the read error itself
