"""The worker pool: order kept, a file over its time or memory budget is reported and the run
goes on with a fresh worker; audit through the CLI gives the same report with and without it."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from geoprivacy.pool import Budget, run_pool
from tests.corpus import SHARED_DATA, entries


def _work(item: str) -> str:
    kind, _, arg = item.partition(":")
    if kind == "sleep":
        time.sleep(float(arg))
    elif kind == "alloc":
        blob = bytearray(int(arg) * 1024 * 1024)   # noqa: F841 - the allocation is the point
    elif kind == "die":
        os.kill(os.getpid(), signal.SIGKILL)   # as the OOM killer would
    elif kind == "raise":
        raise ValueError("boom")
    return item.upper()


def _fail(item: str, reason: str) -> str:
    return f"FAILED {item}: {reason}"


def _run(items: list[str], jobs: int = 2, **budget: object) -> list[str]:
    return list(run_pool(_work, items, jobs=jobs, budget=Budget(**budget), on_fail=_fail))


def test_results_in_input_order_whatever_finishes_first() -> None:
    items = ["sleep:0.3", "a", "sleep:0.1", "b", "c", "d"]
    assert _run(items) == [i.upper() for i in items]


def test_a_file_over_the_time_budget_is_reported_and_the_run_goes_on() -> None:
    started = time.monotonic()
    out = _run(["a", "sleep:30", "b", "c"], seconds=1.0)
    assert time.monotonic() - started < 10
    assert out[0] == "A" and out[2:] == ["B", "C"]
    assert out[1] == "FAILED sleep:30: not checked: over the time budget (1 s)"


def test_a_file_over_the_memory_budget_is_reported_and_the_run_goes_on() -> None:
    out = _run(["a", "alloc:600", "b", "alloc:10"], memory_mb=200)
    assert out[0] == "A" and out[2] == "B" and out[3] == "ALLOC:10"
    assert out[1] == "FAILED alloc:600: not checked: over the memory budget (200 MB)"


def test_a_dying_worker_is_replaced() -> None:
    out = _run(["a", "die", "b", "die", "c"], jobs=1)
    assert [out[0], out[2], out[4]] == ["A", "B", "C"]
    assert out[1].startswith("FAILED die: not checked: the worker process died (signal SIGKILL)")
    assert out[3] == out[1]


def test_an_exception_is_that_file_s_error() -> None:
    assert _run(["raise", "a"]) == ["FAILED raise: not checked: ValueError: boom", "A"]


def test_empty_input() -> None:
    assert _run([]) == []


photos = [SHARED_DATA / e["path"] for e in entries("photo", "malformed")]


@pytest.mark.skipif(not photos, reason="shared corpus not present")
def test_audit_report_is_the_same_with_and_without_the_pool(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from geoprivacy.cli import main

    args = ["audit", *map(str, photos[:40]), "--format", "json"]
    plain = CliRunner().invoke(main, args)
    pooled = CliRunner().invoke(main, args + ["--jobs", "2", "--timeout", "60",
                                              "--max-memory", "1024"])
    assert plain.exit_code == pooled.exit_code == 1
    a, b = json.loads(plain.output), json.loads(pooled.output)
    assert a["files"] == b["files"] and a["summary"] == b["summary"]


def test_audit_file_over_budget_is_not_checked_never_clean(tmp_path: Path, monkeypatch) -> None:
    """A file whose parse hangs (simulated by a parser that sleeps) is 'not checked', exit 3."""
    from geoprivacy import audit_pool

    clean = tmp_path / "clean.jpg"
    from PIL import Image
    Image.new("RGB", (8, 8)).save(clean)
    slow = tmp_path / "slow.jpg"
    slow.write_bytes(clean.read_bytes())

    def slow_audit(path: str):  # type: ignore[no-untyped-def]
        if path.endswith("slow.jpg"):
            time.sleep(30)
        return audit_pool.audit_file(path, audit_pool._OPTIONS[0])

    monkeypatch.setattr(audit_pool, "_audit", slow_audit)   # inherited by forked workers
    from geoprivacy.report import RunReport
    results = list(audit_pool.run_pool(slow_audit, [str(clean), str(slow)], jobs=2,
                                       budget=Budget(seconds=1), on_fail=audit_pool.not_checked,
                                       initializer=audit_pool._init,
                                       initargs=("metadata", False, None, frozenset())))
    assert results[0].status == "ok"
    assert results[1].status == "error"
    assert results[1].errors == ("not checked: over the time budget (1 s)",)
    assert RunReport(command="audit", files=tuple(results)).exit_code == 3


def _torch_work(i: int) -> int:
    import torch
    a = torch.randn(256, 256)
    return int((a @ a).sum().item() * 0) + i


def test_workers_of_a_parent_that_used_torch_do_not_hang() -> None:
    """A child forked after the parent ran torch's thread pool hangs on its first matmul: every
    file came back "over the time budget" (audit --jobs 2 with the retrieval attacker). Such
    parents start workers from a forkserver (pool_context)."""
    torch = pytest.importorskip("torch")
    a = torch.randn(512, 512)
    (a @ a).sum()
    from geoprivacy.pool import pool_context
    out = list(run_pool(_torch_work, [1, 2, 3], jobs=2, budget=Budget(seconds=30),
                        on_fail=lambda item, reason: reason, context=pool_context()))
    assert out == [1, 2, 3]
