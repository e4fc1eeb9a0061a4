"""`gate --engine ray` gives the local engine's report, cache and exit code, on a local Ray
cluster started once for this module (2 CPUs)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pytest

from geoprivacy.gate import GateOptions, gate
from geoprivacy.policy import load_policy, parse_policy
from geoprivacy.report import RunReport
from tests.corpus import SHARED_DATA
from tests.engines.ray_hooks import MARKER_POLICY, register
from tests.geoprivacy.gate_helpers import EXE, jpeg

ray = pytest.importorskip("ray", reason="the ray extra is not installed (geoprivacy[ray])")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CORPUS = [str(SHARED_DATA / d) for d in ("photos", "videos", "sidecars", "malformed")]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local 2-CPU cluster whose workers also know the test cue provider."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={
        "worker_process_setup_hook": "tests.engines.ray_hooks.register",
        "env_vars": {"PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}})
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def as_json(report: RunReport) -> str:
    from geoprivacy.reports import WRITERS, WriteOptions
    buf = io.StringIO()
    WRITERS.get("json").load()(buf, report, WriteOptions())
    return buf.getvalue()


def both(paths: list[str], tmp_path: Path, **kw: Any) -> tuple[RunReport, RunReport]:
    policy = kw.pop("policy", None) or load_policy(None)
    local = gate(paths, GateOptions(policy=policy, cache=False, **kw))
    on_ray = gate(paths, GateOptions(policy=policy, cache=False, engine="ray", **kw))
    return local, on_ray


def archives(tmp_path: Path) -> list[str]:
    """A zip and a WebDataset-style tar of some corpus photos."""
    photos = sorted((SHARED_DATA / "photos").glob("*.jpg"))[:6]
    z, t = tmp_path / "shard.zip", tmp_path / "shard-000.tar"
    with zipfile.ZipFile(z, "w") as zf:
        for p in photos[:3]:
            zf.write(p, f"a/{p.name}")
    with tarfile.open(t, "w") as tf:
        for n, p in enumerate(photos[3:]):
            tf.add(p, f"{n:06d}.jpg")
    return [str(z), str(t)]


def test_report_equals_local_on_the_shared_corpus(cluster: str, tmp_path: Path) -> None:
    paths = CORPUS + archives(tmp_path)
    local, on_ray = both(paths, tmp_path)
    assert len(local.files) > 80
    # in task order already; sorting would hide an ordering bug, so compare as produced
    assert as_json(on_ray) == as_json(local)
    assert on_ray.exit_code == local.exit_code == 1


def test_exit_codes_equal(cluster: str, tmp_path: Path) -> None:
    jpeg(tmp_path / "clean" / "a.jpg")
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "notes.txt").write_text("no media here")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "empty.jpg").write_bytes(b"")
    cases = {str(tmp_path / "clean"): 0, str(tmp_path / "text"): 2,
             str(tmp_path / "broken"): 3, str(SHARED_DATA / "malformed"): 1}
    for path, code in cases.items():
        local, on_ray = both([path], tmp_path)
        assert (local.exit_code, on_ray.exit_code) == (code, code), path
        assert as_json(on_ray) == as_json(local)


def test_cue_providers_run_in_the_actor_pool(cluster: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import geoprivacy.cues.providers  # noqa: F401  (built-ins registered outside the patch)
    from geoprivacy.context import CUE_PROVIDERS
    from geoprivacy.engines import ray_engine
    monkeypatch.setattr(CUE_PROVIDERS, "_plugins", dict(CUE_PROVIDERS._plugins))
    register()                                            # the driver's registry, as workers'
    jpeg(tmp_path / "d" / "leak.jpg", 48.858, 2.2945)
    jpeg(tmp_path / "d" / "clean.jpg")
    policy = parse_policy(MARKER_POLICY, "marker.yaml")
    local, on_ray = both([str(tmp_path / "d")], tmp_path, policy=policy)
    assert (ray_engine.LAST_RUN["files"], ray_engine.LAST_RUN["actor_pool"]) == (2, 1)
    assert local.exit_code == on_ray.exit_code == 1
    assert "test-marker" in as_json(on_ray)
    assert as_json(on_ray) == as_json(local)


def _memory_copy(files: list[Path], root: str) -> None:
    import fsspec
    fs = fsspec.filesystem("memory")
    for f in files:
        fs.pipe(f"{root}/{f.name}", f.read_bytes())


@pytest.mark.parametrize("scheme", ["file", "memory"])
def test_fsspec_urls(cluster: str, tmp_path: Path, scheme: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for p in sorted((SHARED_DATA / "photos").iterdir())[:8] + \
            sorted((SHARED_DATA / "malformed").iterdir())[:4]:
        shutil.copy(p, src / p.name)
    if scheme == "file":
        url = f"file://{src}"
    else:
        url = f"memory://gp-test-{os.getpid()}/src"
        _memory_copy(sorted(src.iterdir()), url)
    local = gate([str(src)], GateOptions(policy=load_policy(None), cache=False))
    for engine in ("ray", "local"):
        remote = gate([url], GateOptions(policy=load_policy(None), cache=False, engine=engine))
        assert as_json(remote).replace(url, str(src)) == as_json(local), engine
        assert remote.exit_code == local.exit_code
    missing = gate([f"{url}/nope.jpg"], GateOptions(policy=load_policy(None), cache=False,
                                                    engine="ray"))
    assert missing.exit_code == 3 and "no such file" in missing.files[0].errors[0]


def test_cache_shared_with_the_local_engine(cluster: str, tmp_path: Path) -> None:
    import sqlite3
    policy = load_policy(None)
    db = tmp_path / "cache.sqlite3"
    paths = [str(SHARED_DATA / "photos")]
    first = gate(paths, GateOptions(policy=policy, cache_path=db, engine="ray"))
    with sqlite3.connect(db) as con:
        stored = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert stored == len(first.files)
    again = gate(paths, GateOptions(policy=policy, cache_path=db))           # local, cached
    assert as_json(again) == as_json(first) and again.exit_code == first.exit_code
    cached = gate(paths, GateOptions(policy=policy, cache_path=db, engine="ray"))
    assert as_json(cached) == as_json(first)


def test_manifest_and_cli_join_the_cluster(cluster: str, tmp_path: Path) -> None:
    """Joining a cluster: archive members travel to the workers as bytes."""
    photos = sorted(str(p) for p in (SHARED_DATA / "photos").glob("*.jpg"))[:5]
    photos += archives(tmp_path)
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({"path": p}) + "\n" for p in photos))
    env = {**os.environ, "GEOPRIVACY_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    runs = {}
    for engine in ("local", "ray"):
        out = subprocess.run([*EXE, "gate", "--manifest", str(tmp_path / "m.jsonl"),
                              "--format", "json", "--no-cache", "--engine", engine,
                              "--ray-address", cluster], capture_output=True, text=True,
                             env=env, timeout=120)
        runs[engine] = out
    assert runs["ray"].returncode == runs["local"].returncode == 1, runs["ray"].stderr
    assert runs["ray"].stdout == runs["local"].stdout
    paths = [f["path"] for f in json.loads(runs["ray"].stdout)["files"]]
    assert paths[:5] == photos[:5] and len(paths) == 11 and "shard.zip!/a/" in paths[5]
