"""The audit JSON report on a few corpus files, against a golden file and the schema.

Regenerate after an intended change with ``GEOPRIVACY_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
import os
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema

from geoprivacy import __version__
from tests.corpus import SHARED_DATA
from tests.geoprivacy.test_cli_audit import EXE

GOLDEN = Path(__file__).parent / "golden" / "audit.json"
FILES = ("photos/GPS.jpg", "photos/Samsung_GT-I9000_Galaxy_S.jpg", "photos/Nikon_D5000.jpg",
         "videos/with-gps.mov", "videos/karma.mp4", "sidecars/Geotag.gpx",
         "sidecars/p4_rtk.SRT", "malformed/notjpeg.jpg", "malformed/Piexif_01.jpg")


def test_audit_json_matches_golden_and_schema() -> None:
    out = subprocess.run([*EXE, "audit", *FILES, "--format", "json"], capture_output=True,
                         text=True, cwd=SHARED_DATA, timeout=120)
    assert out.returncode == 1, out.stderr
    text = out.stdout.replace(__version__, "<version>")
    if os.environ.get("GEOPRIVACY_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert json.loads(text) == json.loads(GOLDEN.read_text())
    schema = json.loads(resources.files("geoprivacy").joinpath(
        "schemas/report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads(out.stdout))
