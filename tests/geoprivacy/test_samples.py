"""The embedded sample: deterministic, shipped, and audited to its known truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from geoprivacy.attacks.metadata import MetadataAttacker
from geoprivacy.audit import AuditOptions, audit_file
from geoprivacy.commands.demo import check_against_truth
from geoprivacy.samples import TRUTH, sample_dir, sample_files
from geoprivacy.samples.generate import build


def test_shipped_files_match_the_generator_metadata() -> None:
    """Regenerating gives the same files (JPEG pixels may differ with libjpeg; EXIF must not)."""
    built = build()
    assert sorted(built) == sorted(TRUTH)
    for name, data in built.items():
        shipped = (sample_dir() / name).read_bytes()
        if name.endswith(".jpg"):
            start = shipped.index(b"Exif\0\0")
            assert data[start:start + 300] == shipped[start:start + 300], name
        else:
            assert data == shipped, name


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_audit_finds_the_truth(path: Path) -> None:
    result = audit_file(str(path), AuditOptions(attackers=[MetadataAttacker()]))
    assert result.status == "ok", result.errors
    assert check_against_truth(result) is None
