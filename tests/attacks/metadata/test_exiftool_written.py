"""Files written by an independent tool (exiftool) in every photo container we parse."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from geoprivacy.attacks.metadata import MetadataAttacker
from geoprivacy.audit import AuditOptions, audit_file

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")

TAGS = ["-GPSLatitude=33.8688", "-GPSLatitudeRef=S", "-GPSLongitude=151.2093",
        "-GPSLongitudeRef=E", "-XMP:GPSLatitude=-33.8688", "-XMP:GPSLongitude=151.2093",
        "-XMP-photoshop:City=Sydney", "-XMP-iptcExt:LocationShownCity=Bondi",
        "-IPTC:City=Sydney", "-IPTC:Country-PrimaryLocationName=Australia"]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from PIL import Image
    folder = tmp_path_factory.mktemp("exiftool")
    paths = {}
    for ext in ("jpg", "png", "webp", "tif"):
        paths[ext] = folder / f"a.{ext}"
        Image.new("RGB", (8, 8), (200, 10, 10)).save(paths[ext])
    subprocess.run(["exiftool", "-q", "-q", "-overwrite_original", *TAGS, *map(str, paths.values())],
                   check=True, timeout=60)
    return paths


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "tif"])
def test_exiftool_written_gps_and_names(ext: str, written: dict[str, Path]) -> None:
    result = audit_file(str(written[ext]), AuditOptions(attackers=[MetadataAttacker()]))
    assert result.status == "ok" and not result.errors
    positions = {e.where: (e.lat, e.lon) for e in result.evidence if e.lat is not None}
    assert positions["EXIF:GPSLatitude"] == pytest.approx((-33.8688, 151.2093), abs=1e-7)
    assert positions["XMP:exif:GPSLatitude"] == pytest.approx((-33.8688, 151.2093), abs=1e-7)
    names = {e.detail["name"] for e in result.evidence if e.kind.value == "place_name"}
    assert {"Sydney", "Bondi"} <= names
    if ext != "webp":  # exiftool writes no IPTC into WebP
        assert "Australia" in names
