"""The third-party corpus in ../shared/data and its MANIFEST, for table-driven tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GEOPRIVACY_SHARED_DATA", REPO.parent / "shared" / "data"))


def manifest() -> list[dict]:
    """Every corpus entry (empty when the corpus is not beside the checkout)."""
    path = SHARED_DATA / "MANIFEST.json"
    if not path.exists():
        return []
    return json.loads(path.read_text())


def entries(*kinds: str, prefix: str | None = None) -> list[dict]:
    """Manifest entries of the given kinds (photo, video, sidecar, malformed), sorted by path."""
    out = [e for e in manifest() if (not kinds or e["kind"] in kinds)
           and (prefix is None or e["path"].startswith(prefix))]
    return sorted(out, key=lambda e: e["path"])
