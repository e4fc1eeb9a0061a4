"""The Ray engine: the gate's per-file pipeline on Ray Data, on a local or a remote cluster.

Two stages, so cheap work never waits for (or reserves) a GPU:

1. a stateless ``map_batches`` stage (Ray tasks, one CPU each): content hashes, the result
   cache, and the metadata attacker. A file is finished here unless the policy runs a model
   attacker, or the local pipeline would ask a cue provider about it (a location found, and a
   cue that could change the judgement unanswered);
2. an actor pool (``ActorPoolStrategy``) for those files: each actor loads the model attackers
   and cue providers once and takes batches of files; actors ask for one GPU each when the
   cluster has GPUs. The actor runs the file's whole pipeline again (metadata is milliseconds)
   so evidence order, statuses and cache entries are exactly the local engine's.

Workers return the same ``Audited`` objects as the local engine (pickled); the driver puts them
back in task order, and ``gate.gate`` judges, caches and reports them as for a local run.
Local paths must exist at the same path on every node (one machine, or a shared filesystem);
fsspec URLs (``s3://`` ...) are read by the workers; ``memory://`` items and, when joining a
remote cluster, archive members extracted on the driver, travel with the task as bytes.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from dataclasses import replace
from typing import Any, Iterator

from geoprivacy.engines.sources import PROCESS_LOCAL, is_url, protocol, read_url_bytes
from geoprivacy.errors import GeoprivacyError
from geoprivacy.gate import Audited, GateOptions, Task

ROWS_PER_BLOCK = 256       # files per stage-1 task: amortises Ray's per-task overhead
MODEL_BATCH = 16           # files per actor call

LAST_RUN: dict[str, float] = {}  # files per stage and seconds per phase of the last run


def _ray() -> Any:
    # A privacy tool must not phone home: Ray's usage statistics are off, whatever the env says.
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise GeoprivacyError("--engine ray needs Ray Data (pip install 'geoprivacy[ray]')") \
            from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Join ``address`` or start a local cluster; True when this call connected (and so
    ``ray.shutdown()`` is ours to call). An already connected driver is reused."""
    ray = _ray()
    if ray.is_initialized():
        return False
    env = {"RAY_USAGE_STATS_ENABLED": "0"}
    if os.environ.get("GEOPRIVACY_HOME"):
        env["GEOPRIVACY_HOME"] = os.environ["GEOPRIVACY_HOME"]
    try:
        quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
        if address:
            ray.init(address=address, runtime_env={"env_vars": env}, **quiet)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
                     **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise GeoprivacyError(f"cannot start or join {where}: {exc}") from None
    return True


def _quiet(ray: Any) -> None:
    """No progress bars or per-dataset log lines: the gate prints its own report."""
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    for attr in ("print_on_execution_start", "enable_operator_progress_bars"):
        if hasattr(ctx, attr):
            setattr(ctx, attr, False)
    logging.getLogger("ray.data").setLevel(logging.ERROR)


def _model_attackers(attackers: tuple[str, ...]) -> bool:
    """Whether any attacker needs a model (its plugin names a pip extra)."""
    from geoprivacy.attacks import ATTACKERS
    return any(ATTACKERS.get(n).extra for n in attackers)


def _providers_installed() -> bool:
    """Whether any cue provider can load here (they load models): the actor pool's work.
    Without one, stage 1 answers "not checked" itself, as the local engine would."""
    import importlib
    from geoprivacy.context import CUE_PROVIDERS
    try:
        importlib.import_module("geoprivacy.cues.providers")     # registers the built-ins
    except ImportError:
        pass
    return any(p.available() for p in CUE_PROVIDERS)


def _row(i: int, task: Task, ship_archives: bool) -> dict[str, Any]:
    """A dataset row: the task, plus its bytes when workers could not read them themselves."""
    data = None
    if is_url(task.real) and protocol(task.real) in PROCESS_LOCAL:
        try:
            data = read_url_bytes(task.real)
        except OSError:
            data = None            # the worker reports the read error itself
    elif ship_archives and task.real != task.logical:
        try:
            with open(task.real, "rb") as fh:
                data = fh.read()
        except OSError:
            data = None
    return {"i": i, "task": pickle.dumps(task), "data": data or b"", "shipped": data is not None}


# --- Worker side -------------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _ensure_worker(setup: bytes) -> None:
    """Build attackers once per Ray worker process (workers outlive one dataset); ``setup``
    pickles (attackers, cache path, policy, audience, index), as the local pool's initializer
    gets."""
    from geoprivacy import gate
    if _STATE.get("setup") != setup:
        old = gate._WORKER.get("cache")
        if old is not None:
            old.close()
        attackers, cache_path, policy, audience, index = pickle.loads(setup)
        gate._WORKER.clear()
        gate._init_worker(attackers, cache_path, index=index)
        # as the parent sets them before a local pool forks: providers run only for cues
        # whose answer could change a judgement
        gate._WORKER["policy"], gate._WORKER["audience"] = policy, audience
        _STATE["setup"] = setup


def _one(task: Task, data: bytes, shipped: bool) -> Audited:
    from geoprivacy.engines.local import work_any
    return work_any(task, data if shipped else None)


class _Deferred(Exception):
    """Raised in stage 1 where the local engine would ask a cue provider (load a model)."""


def _defer(*_args: Any, **_kwargs: Any) -> Any:
    raise _Deferred


def metadata_stage(batch: dict[str, Any], setup: bytes, providers: bool) -> dict[str, Any]:
    """Stage 1 (stateless tasks): hashes, cache and metadata. The file's whole local pipeline
    runs here until it would ask a cue provider (only when ``providers`` are installed): such
    files are flagged for the actor pool, where the pipeline runs again with the providers.
    Everything else is finished here, by the very code the local engine runs."""
    import numpy as np

    from geoprivacy import gate
    _ensure_worker(setup)
    ids, blobs, more = [], [], []
    ask = gate._ask_providers
    if providers:
        gate._ask_providers = _defer       # this worker process only, restored below
    try:
        for i, blob, data, shipped in zip(batch["i"], batch["task"], batch["data"],
                                          batch["shipped"]):
            try:
                blobs.append(pickle.dumps(_one(pickle.loads(blob), data, bool(shipped))))
                more.append(False)
            except _Deferred:
                blobs.append(b"")
                more.append(True)
            ids.append(int(i))
    finally:
        gate._ask_providers = ask
    return {"i": np.array(ids, dtype=np.int64), "audited": np.array(blobs, dtype=object),
            "more": np.array(more, dtype=bool)}


class ModelStage:
    """Stage 2 (actor pool): model attackers and cue providers, loaded once per actor.

    ``SETUP`` (see ``_ensure_worker``) is set on a subclass per run: constructor arguments
    would go through the object store, which Ray warns makes actor restarts fragile."""

    SETUP = b""

    def __init__(self) -> None:
        _ensure_worker(self.SETUP)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np
        ids, blobs = [], []
        for i, blob, data, shipped in zip(batch["i"], batch["task"], batch["data"],
                                          batch["shipped"]):
            ids.append(int(i))
            blobs.append(pickle.dumps(_one(pickle.loads(blob), data, bool(shipped))))
        return {"i": np.array(ids, dtype=np.int64), "audited": np.array(blobs, dtype=object)}


# --- Driver side -------------------------------------------------------------------------------

def run_ray(tasks: list[Task], attackers: tuple[str, ...], options: GateOptions
            ) -> Iterator[Audited]:
    """Audited files in task order, computed on a Ray cluster."""
    if not tasks:
        return iter(())
    ray = _ray()
    address = getattr(options, "ray_address", None)
    started = connect(address, options.jobs if options.jobs > 1 else None)
    try:
        results = _execute(ray, tasks, attackers, options, ship_archives=bool(address))
    except ray.exceptions.RayError as exc:
        # a worker crashed or a bug raised in the pipeline: one line, not a remote traceback
        first = str(exc).strip().splitlines()
        raise GeoprivacyError(f"the Ray run failed: {type(exc).__name__}: "
                              f"{first[-1] if first else ''}"[:500]) from None
    finally:
        if started:
            ray.shutdown()
    return iter(results)


def _execute(ray: Any, tasks: list[Task], attackers: tuple[str, ...], options: GateOptions,
             *, ship_archives: bool) -> list[Audited]:
    _quiet(ray)
    cache_path = str(options.cache_path) if options.cache and options.cache_path else None
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    setup = pickle.dumps((attackers, cache_path, options.policy, options.audience, options.index))
    started = time.perf_counter()
    rows = [_row(i, t, ship_archives) for i, t in enumerate(tasks)]
    rows_s = time.perf_counter() - started
    done: dict[int, Audited] = {}
    if _model_attackers(attackers):
        pending = rows                      # every file meets a model: straight to the pool
    else:
        blocks = max(1, min(len(rows), max(2 * cpus, len(rows) // ROWS_PER_BLOCK)))
        ds = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            metadata_stage, batch_size=None, batch_format="numpy", num_cpus=1,
            fn_kwargs={"setup": setup, "providers": _providers_installed()})
        later: set[int] = set()
        for out in ds.iter_rows():
            if out["more"]:
                later.add(int(out["i"]))
            else:
                done[int(out["i"])] = pickle.loads(out["audited"])
        pending = [rows[i] for i in sorted(later)]
    if pending:
        gpus = ray.cluster_resources().get("GPU", 0)
        actors = max(1, min(len(pending), int(gpus) if gpus else cpus))
        resources = {"num_gpus": 1} if gpus else {"num_cpus": 1}
        ds = ray.data.from_items(pending, override_num_blocks=min(len(pending), 4 * actors))
        stage = type("ModelStage", (ModelStage,), {"SETUP": setup})
        ds = ds.map_batches(stage, batch_size=MODEL_BATCH, batch_format="numpy",
                            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
                            **resources)
        for out in ds.iter_rows():
            done[int(out["i"])] = pickle.loads(out["audited"])
    LAST_RUN.clear()
    LAST_RUN.update(files=len(tasks), actor_pool=len(pending), rows_s=rows_s,
                    cluster_s=time.perf_counter() - started - rows_s)
    missing = [i for i in range(len(tasks)) if i not in done]
    if missing:
        raise GeoprivacyError(f"the Ray cluster returned no result for {len(missing)} file(s), "
                              f"e.g. {tasks[missing[0]].logical}")
    return [done[i] for i in range(len(tasks))]
