"""Where the gate's per-file work runs: ``local`` (this process or a process pool) or ``ray``
(Ray Data on a local or remote cluster). Both take the same tasks and yield the same
``Audited`` results in task order, so the report, cache and exit code do not depend on the engine.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

ENGINES = ("local", "ray")

Runner = Callable[[list[Any], tuple[str, ...], Any], Iterator[Any]]


def runner(name: str) -> Runner:
    """The task runner for an engine name (heavy imports only when that engine is used)."""
    if name == "local":
        from geoprivacy.engines.local import run_local
        return run_local
    if name == "ray":
        from geoprivacy.engines.ray_engine import run_ray
        return run_ray
    from geoprivacy.errors import GeoprivacyError
    raise GeoprivacyError(f"unknown engine {name!r} (choose from {', '.join(ENGINES)})")
