"""Worker processes with a per-file time and memory budget: one hostile file cannot take a run down.

Each worker runs one file at a time under ``RLIMIT_AS`` (its address space at start plus the
memory budget). The parent waits on every worker's pipe with the nearest deadline as timeout;
a worker that overruns its time budget is killed, one that dies (out of memory in C code, a
segfault) is noticed by its closed pipe. Either way that file gets a "not checked" result from
``on_fail`` and a fresh worker takes the slot, so the run goes on. Results come back in input
order, whatever order the workers finish in.

Workers are forked by default. A caller whose parent may have loaded torch or another library
with thread pools passes ``pool_context()``: a forked child of such a parent can hang on its
first parallel operation, so those runs start their workers from a clean forkserver.

Hand-written rather than ``concurrent.futures``: a ProcessPoolExecutor cannot cancel one running
task, and a dead worker breaks the whole executor.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

OVER_TIME = "not checked: over the time budget ({seconds:g} s)"
OVER_MEMORY = "not checked: over the memory budget ({mb} MB)"
WORKER_DIED = "not checked: the worker process died ({how})"


@dataclass(frozen=True)
class Budget:
    """Per-file limits. None: no limit of that kind."""

    seconds: float | None = None
    memory_mb: int | None = None

    @property
    def limited(self) -> bool:
        return self.seconds is not None or self.memory_mb is not None


DEFAULT_SECONDS = 120.0
DEFAULT_MEMORY_MB = 2048


def default_budget(jobs: int, seconds: float | None, memory_mb: int | None) -> Budget:
    """The budget asked for; with ``--jobs`` > 1 and none asked, the defaults."""
    if jobs > 1:
        seconds = DEFAULT_SECONDS if seconds is None else seconds
        memory_mb = DEFAULT_MEMORY_MB if memory_mb is None else memory_mb
    return Budget(seconds=seconds, memory_mb=memory_mb)


def _vm_size() -> int:
    """This process's address-space size in bytes (Linux), 0 when unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _limit_memory(mb: int) -> None:
    import resource
    limit = _vm_size() + mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _worker(conn: Connection, func: Callable[[Any], Any], initializer: Callable[..., None] | None,
            initargs: tuple[Any, ...], memory_mb: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # the parent decides when to stop
    if initializer is not None:
        initializer(*initargs)
    if memory_mb is not None:
        _limit_memory(memory_mb)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, item = task
        try:
            result = ("ok", func(item))
        except MemoryError:
            result = ("memory", None)
        except Exception as exc:  # noqa: BLE001 - reported for this file; the worker goes on
            result = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send((index, result))
        except MemoryError:
            conn.send((index, ("memory", None)))


class _Slot:
    """One worker process and the task it is running."""

    def __init__(self, ctx: Any, func: Callable[[Any], Any], initializer: Any,
                 initargs: tuple[Any, ...], memory_mb: int | None) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, func, initializer, initargs,
                                                         memory_mb), daemon=True)
        self.process.start()
        child.close()
        self.index: int | None = None
        self.deadline = float("inf")

    def give(self, index: int, item: Any, seconds: float | None) -> None:
        self.index = index
        self.deadline = time.monotonic() + seconds if seconds is not None else float("inf")
        self.conn.send((index, item))

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(1)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


def run_pool(func: Callable[[T], R], items: Iterable[T], *, jobs: int, budget: Budget,
             on_fail: Callable[[T, str], R], initializer: Callable[..., None] | None = None,
             initargs: tuple[Any, ...] = (), context: Any = None) -> Iterator[R]:
    """``func(item)`` for every item in worker processes, yielded in input order.

    ``func``, ``initializer`` and the items must be picklable (module-level functions).
    ``on_fail(item, reason)`` builds the result of a file over budget or whose worker died.
    ``context``: a multiprocessing context (default: fork); callers whose parent may have
    loaded torch pass ``pool_context()``, and then must not rely on state inherited by fork.
    """
    items = list(items)
    ctx = context or multiprocessing.get_context()
    jobs = max(1, min(jobs, len(items) or 1))
    todo = deque(enumerate(items))
    done: dict[int, R] = {}
    slots: list[_Slot] = []
    next_out = 0

    def spawn() -> _Slot:
        return _Slot(ctx, func, initializer, initargs, budget.memory_mb)

    def feed(slot: _Slot) -> None:
        if todo:
            index, item = todo.popleft()
            slot.give(index, item, budget.seconds)

    def fail(slot: _Slot, reason: str) -> _Slot:
        if slot.index is not None:
            done[slot.index] = on_fail(items[slot.index], reason)
        slot.kill()
        fresh = spawn()
        feed(fresh)
        return fresh

    try:
        for _ in range(jobs):
            slot = spawn()
            slots.append(slot)
            feed(slot)
        while next_out < len(items):
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
            if next_out >= len(items):
                break
            busy = [s for s in slots if s.index is not None]
            nearest = min(s.deadline for s in busy)
            timeout = None if nearest == float("inf") else max(0.0, nearest - time.monotonic())
            ready = wait([s.conn for s in busy], timeout)
            now = time.monotonic()
            for i, slot in enumerate(slots):
                if slot.index is None:
                    continue
                if slot.conn in ready:
                    try:
                        index, (state, value) = slot.conn.recv()
                    except (EOFError, OSError):
                        slot.process.join(5)
                        slots[i] = fail(slot, _death(slot.process.exitcode, budget))
                        continue
                    if state == "memory":
                        slots[i] = fail(slot, OVER_MEMORY.format(mb=budget.memory_mb))
                        continue
                    if state == "error":
                        done[index] = on_fail(items[index], f"not checked: {value}")
                        slot.index, slot.deadline = None, float("inf")
                        feed(slot)
                        continue
                    done[index] = value
                    slot.index, slot.deadline = None, float("inf")
                    feed(slot)
                elif now >= slot.deadline:
                    slots[i] = fail(slot, OVER_TIME.format(seconds=budget.seconds))
    finally:
        for slot in slots:
            if slot.index is None:
                slot.stop()
            else:
                slot.kill()


#: libraries whose thread pools do not survive fork(): a child forked after the parent used
#: them can deadlock on the first parallel operation (torch's intra-op pool, OpenMP, MKL)
THREADED_LIBRARIES = ("torch", "onnxruntime", "faiss", "tensorflow")


def pool_context() -> Any:
    """fork (cheapest) unless the parent already loaded a threaded library, then forkserver
    (spawn where there is none): workers start clean and load their own models."""
    import sys
    if not any(name in sys.modules for name in THREADED_LIBRARIES):
        return multiprocessing.get_context()
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _death(exitcode: int | None, budget: Budget) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            how = f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"signal {-exitcode}"
    else:
        how = f"exit status {exitcode}"
    if budget.memory_mb is not None and exitcode in (-signal.SIGKILL, -signal.SIGSEGV,
                                                      -signal.SIGABRT):
        return OVER_MEMORY.format(mb=budget.memory_mb) + f"; {how}"
    return WORKER_DIED.format(how=how)


__all__ = ["Budget", "run_pool", "OVER_TIME", "OVER_MEMORY", "WORKER_DIED"]

