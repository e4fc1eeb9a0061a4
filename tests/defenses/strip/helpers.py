"""exiftool and hashing helpers shared by the strip tests."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

EXIFTOOL = shutil.which("exiftool")
# Tag names exiftool uses for coordinates and places (any group).
LOCATION_TAG = re.compile(r"GPS|Latitude|Longitude|City|State|Country|Location|Sub-?location",
                          re.IGNORECASE)


def sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _pairs(pairs: list[tuple[str, object]]) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def exiftool_json(paths: list[Path], *args: str) -> dict[str, dict[str, list[object]]]:
    """SourceFile -> tag -> values (duplicates kept), for many files in one exiftool run."""
    if not paths:
        return {}
    proc = subprocess.run([EXIFTOOL, "-j", "-a", "-n", *args, *map(str, paths)],
                          capture_output=True, text=True, timeout=300)
    records = json.loads(proc.stdout or "[]", object_pairs_hook=_pairs)
    return {str(r["SourceFile"][0]): r for r in records}


def location_tags(record: dict[str, list[object]]) -> dict[str, list[object]]:
    """The location tags exiftool reported (empty placeholders included)."""
    return {k: v for k, v in record.items() if k != "SourceFile"
            and LOCATION_TAG.search(k.split(":")[-1])}


def warnings(record: dict[str, list[object]]) -> set[str]:
    return {str(v) for k, vals in record.items() if k.endswith("Warning") for v in vals}
