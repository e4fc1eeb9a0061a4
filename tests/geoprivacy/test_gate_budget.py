"""`gate --jobs N`: each file runs under a time budget; a file over it is not checked (exit 3),
and the others are still judged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.geoprivacy.gate_helpers import gate, jpeg


def slow_nmea(path: Path, fixes: int = 120_000) -> Path:
    """A long NMEA log (a few seconds to parse) with real fixes."""
    lines = []
    for i in range(fixes):
        hh, rem = divmod(i, 3600)
        mm, ss = divmod(rem, 60)
        body = (f"GPRMC,{hh % 24:02d}{mm:02d}{ss:02d},A,4807.{i % 1000:03d},N,01131.000,E,"
                "022.4,084.4,230394,003.1,W")
        checksum = 0
        for ch in body:
            checksum ^= ord(ch)
        lines.append(f"${body}*{checksum:02X}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("jobs", ["1", "2"])   # a budget alone puts files in a worker too
def test_a_file_over_its_time_budget_is_not_checked(tmp_path: Path, jobs: str) -> None:
    jpeg(tmp_path / "clean.jpg")
    slow_nmea(tmp_path / "drive.nmea")
    out = gate(str(tmp_path / "clean.jpg"), str(tmp_path / "drive.nmea"), "--jobs", jobs,
               "--timeout", "1", "--no-cache", "--format", "json", home=tmp_path / "home")
    assert out.returncode == 3, out.stdout[-2000:] + out.stderr[-2000:]
    files = {Path(f["path"]).name: f for f in json.loads(out.stdout)["files"]}
    assert files["drive.nmea"]["status"] == "error"
    assert "time budget" in " ".join(files["drive.nmea"]["errors"])
    assert files["clean.jpg"]["status"] == "ok"
