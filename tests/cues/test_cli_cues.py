"""`geoprivacy audit --attackers metadata,overlay --cues ...` through the real entry point."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from geoprivacy.cli import main
from geoprivacy.cues.base import module_available

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not module_available("rapidocr_onnxruntime", "av"),
                                 reason="rapidocr-onnxruntime or av not installed")]


@pytest.fixture(scope="module")
def dashcam_jpeg(street_frames, tmp_path_factory) -> str:
    from PIL import Image

    from tests.cues.test_text import render_overlay
    path = tmp_path_factory.mktemp("cli") / "dashcam.jpg"
    Image.fromarray(render_overlay(street_frames[1])).save(path, quality=92)
    return str(path)


def test_overlay_and_cues_in_json(dashcam_jpeg, monkeypatch) -> None:
    from geoprivacy.cues.base import DETECTORS
    # The face back-ends "lack their weights" here: the cue must read not_checked, not absent.
    for name in ("centerface", "haar-faces"):
        plugin = DETECTORS.get(name)
        monkeypatch.setitem(DETECTORS._plugins, name,
                            dataclasses.replace(plugin, available=lambda: False))
    result = CliRunner().invoke(main, ["audit", "--attackers", "metadata,overlay",
                                       "--cues", "text,faces", "--format", "json",
                                       dashcam_jpeg])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    (file,) = report["files"]
    overlay = [e for e in file["evidence"] if e["attacker"] == "overlay"]
    assert overlay and overlay[0]["where"] == "overlay:text"
    assert (overlay[0]["lat"], overlay[0]["lon"]) == pytest.approx((52.2297, 21.0122))
    assert file["context"]["text"]["state"] == "present"
    text_detail = json.dumps(file["context"]["text"])
    assert "52.2297" not in text_detail and file["context"]["text"]["detail"]["overlay"][
        "coordinates"] == 1
    assert file["context"]["faces"]["state"] == "not_checked"
    assert "centerface" in file["context"]["faces"]["detail"]["reason"]
    names = {m.get("name") for m in report["models"]}
    assert "rapidocr-onnxruntime" in names


def test_unknown_cue_is_one_line_error(dashcam_jpeg) -> None:
    from geoprivacy.cli import run  # noqa: F401  (the console entry maps errors to one line)
    result = CliRunner().invoke(main, ["audit", "--cues", "facez", dashcam_jpeg])
    assert result.exit_code != 0
    assert "faces" in str(result.exception) or "faces" in result.output


def test_geoclip_without_backbone_fails_early_in_one_line(dashcam_jpeg, tmp_path,
                                                          monkeypatch) -> None:
    if not module_available("torch", "transformers", "geoclip"):
        pytest.skip("torch, transformers or geoclip not installed")
    monkeypatch.setenv("GEOPRIVACY_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("GEOPRIVACY_CLIP_BACKBONE", raising=False)
    result = CliRunner().invoke(main, ["audit", "--attackers", "metadata,geoclip",
                                       dashcam_jpeg])
    from geoprivacy.errors import ModelUnavailable
    assert isinstance(result.exception, ModelUnavailable)
    assert "--geoclip-backbone" in str(result.exception)
    assert "\n" not in str(result.exception)


def test_redact_hides_overlay_coordinates(dashcam_jpeg) -> None:
    result = CliRunner().invoke(main, ["audit", "--attackers", "overlay", "--redact",
                                       "--format", "json", dashcam_jpeg])
    assert result.exit_code == 1, result.output
    assert "52.2297" not in result.output and "21.0122" not in result.output
