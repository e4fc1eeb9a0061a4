"""Gate reports on a few corpus files, normalised for golden comparison.

Regenerate the golden files after an intended change with ``GEOPRIVACY_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
from pathlib import Path

from tests.corpus import SHARED_DATA
from tests.geoprivacy.gate_helpers import EXE

GOLDEN = Path(__file__).parent / "golden"
FILES = ("photos/GPS.jpg", "photos/Samsung_GT-I9000_Galaxy_S.jpg", "photos/noexif.jpg",
         "sidecars/Geotag.gpx", "malformed/issue_2339_poc.tiff")
SUFFIX = {"json": "json", "sarif": "sarif", "junit": "xml", "html": "html", "table": "txt"}


@functools.lru_cache(maxsize=None)
def run(fmt: str, *extra: str) -> tuple[int, str]:
    """(exit code, output) of `gate` on FILES, run in the corpus folder (relative paths)."""
    from geoprivacy import __version__

    home = tempfile.mkdtemp(prefix="geoprivacy-golden-")
    env = {**os.environ, "GEOPRIVACY_HOME": home, "COLUMNS": "200"}
    out = subprocess.run([*EXE, "gate", *FILES, "--format", fmt, "--no-cache", *extra],
                         capture_output=True, text=True, cwd=SHARED_DATA, env=env, timeout=120)
    text = out.stdout.replace(__version__, "<version>")
    text = re.sub(r"file://[^\"]*/\"", 'file:///SRCROOT/"', text)
    return out.returncode, text


def check_golden(fmt: str) -> str:
    code, text = run(fmt)
    assert code == 1
    path = GOLDEN / f"gate.{SUFFIX[fmt]}"
    if os.environ.get("GEOPRIVACY_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} missing: run with GEOPRIVACY_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{fmt} output differs from {path} (intended? " \
                                     "GEOPRIVACY_UPDATE_GOLDEN=1)"
    return text
