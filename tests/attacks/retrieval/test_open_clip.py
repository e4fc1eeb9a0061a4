"""The open_clip path with a tiny model built here (no download), through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.attacks.retrieval.helpers import TINY_ARCH, geotagged_jpeg, tiny_open_clip

pytestmark = pytest.mark.slow  # builds a model and an index (~10 s of CPU)
pytest.importorskip("open_clip")
pytest.importorskip("faiss")

from geoprivacy.cli import main  # noqa: E402
from geoprivacy.errors import GeoprivacyError  # noqa: E402

PLACES = [(55.6985, 13.1950), (40.4470, -3.7248), (-20.4406, 57.3189), (30.1710, -98.0896)]


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clip")
    for i, (lat, lon) in enumerate(PLACES):
        geotagged_jpeg(root / "gallery" / f"p{i}.jpg", lat, lon, seed=i)
    (root / "gallery" / "notes.txt").write_text("not media")
    ckpt = tiny_open_clip(root / "model", seed=0)
    other = tiny_open_clip(root / "model", seed=1)
    index = root / "g.npz"
    result = CliRunner().invoke(main, ["index", "build", str(root / "gallery"), "-o", str(index),
                                       "--encoder", f"open_clip:{TINY_ARCH}", "--weights",
                                       str(ckpt), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    return {"root": root, "index": index, "ckpt": ckpt, "other": other}


def test_index_records_the_open_clip_encoder(gallery: dict[str, Path]) -> None:
    result = CliRunner().invoke(main, ["index", "info", str(gallery["index"]), "--json"])
    info = json.loads(result.output)
    assert info["count"] == len(PLACES)
    assert info["encoder"]["encoder"] == f"open_clip:{TINY_ARCH}"
    assert info["encoder"]["dim"] == 16 and info["encoder"]["pooling"] == "native"


def test_gallery_images_find_their_own_place(gallery: dict[str, Path]) -> None:
    from geoprivacy.attacks.retrieval.attacker import RetrievalAttacker
    from geoprivacy.audit import identify

    attacker = RetrievalAttacker(str(gallery["index"]), k=1, weights=str(gallery["ckpt"]),
                                 device="cpu")
    for i, (lat, lon) in enumerate(PLACES):
        outcome = attacker.attack(identify(str(gallery["root"] / "gallery" / f"p{i}.jpg")))
        (ev,) = outcome.evidence
        assert (ev.lat, ev.lon) == pytest.approx((lat, lon), abs=1e-3)
        assert ev.where == "retrieval:top-1" and ev.kind.value == "prediction"


def test_other_weights_are_refused(gallery: dict[str, Path]) -> None:
    from geoprivacy.attacks.retrieval.attacker import RetrievalAttacker

    with pytest.raises(GeoprivacyError, match="another encoder.*weights_sha256"):
        RetrievalAttacker(str(gallery["index"]), weights=str(gallery["other"]), device="cpu")


def test_open_clip_without_weights_is_one_line(gallery: dict[str, Path]) -> None:
    result = CliRunner().invoke(main, ["index", "build", str(gallery["root"] / "gallery"),
                                       "-o", str(gallery["root"] / "x.npz"),
                                       "--encoder", f"open_clip:{TINY_ARCH}"])
    assert result.exit_code != 0
    assert isinstance(result.exception, GeoprivacyError)
    assert "--weights" in str(result.exception) and "\n" not in str(result.exception)


def test_efficientnet_query_on_open_clip_index_is_refused(gallery: dict[str, Path]) -> None:
    from geoprivacy.attacks.retrieval.encoders import load_encoder

    from geoprivacy.attacks.retrieval.index import GalleryIndex
    index = GalleryIndex.load(gallery["index"])
    try:
        other = load_encoder("efficientnet-lite0", device="cpu")
    except GeoprivacyError as exc:
        pytest.skip(str(exc))
    reason = index.identity.mismatch(other.identity)
    assert reason is not None and "encoder differs" in reason


def test_eval_on_a_folder_holds_each_photo_out(gallery: dict[str, Path],
                                               tmp_path: Path) -> None:
    """A folder dataset: its metadata is the truth and each query's own file is hidden, so only
    a second photo of the same place (same scene, other JPEG quality) can answer."""
    from PIL import Image

    folder = tmp_path / "pairs"
    for i, (lat, lon) in enumerate(PLACES):
        first = geotagged_jpeg(folder / f"a{i}.jpg", lat, lon, seed=10 + i)
        with Image.open(first) as im:
            im.save(folder / f"b{i}.jpg", exif=im.getexif(), quality=70)
    index = tmp_path / "pairs.npz"
    runner = CliRunner()
    weights = ["--encoder", f"open_clip:{TINY_ARCH}", "--weights", str(gallery["ckpt"])]
    assert runner.invoke(main, ["index", "build", str(folder), "-o", str(index), "-q",
                                *weights]).exit_code == 0
    report = tmp_path / "r.json"
    result = runner.invoke(main, ["eval", str(folder), "--index", str(index), "-o", str(report),
                                  "--weights", str(gallery["ckpt"]), "-k", "1"])
    assert result.exit_code == 0, result.output
    summary = json.loads(report.read_text())["summary"]
    assert summary["queries"] == 2 * len(PLACES)
    assert summary["accuracy"]["1km"] == 1.0
    assert summary["chance"]["1km"] == pytest.approx(1 / 7)   # 1 twin among 7 other photos
