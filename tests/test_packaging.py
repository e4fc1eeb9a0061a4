"""The package layout: every folder mapped, import stays light."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAPPING = {"geoprivacy": "geoprivacy", "geoprivacy.attacks": "attacks",
           "geoprivacy.defenses": "defenses", "geoprivacy.reports": "reports"}


def test_every_package_folder_is_listed_in_pyproject() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == MAPPING
    listed = set(config["packages"])
    found = set()
    for package, folder in MAPPING.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            found.add(".".join([package, *rel.parts]) if rel.parts else package)
    assert found == listed


def test_import_geoprivacy_is_light() -> None:
    code = ("import sys, geoprivacy, geoprivacy.cli, geoprivacy.types, geoprivacy.attacks;"
            "heavy = [m for m in ('torch', 'numpy', 'PIL', 'av', 'faiss', 'cv2') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
