"""Files and runs for the gate tests: JPEGs with and without EXIF GPS, built with Pillow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXE = [sys.executable, "-c", "from geoprivacy.cli import run; run()"]


def dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    s = round(((value - d) * 60 - m) * 60, 2)
    return (float(d), float(m), s)


def jpeg(path: Path, lat: float | None = None, lon: float | None = None,
         colour: tuple[int, int, int] = (120, 140, 160)) -> Path:
    """A small JPEG, with an EXIF GPS position when lat/lon are given."""
    from PIL import Image

    img = Image.new("RGB", (48, 32), colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    if lat is None or lon is None:
        img.save(path)
        return path
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W",
                4: dms(lon)})
    img.save(path, exif=exif)
    return path


def gate(*args: str, home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "GEOPRIVACY_HOME": str(home)}
    return subprocess.run([*EXE, "gate", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)
