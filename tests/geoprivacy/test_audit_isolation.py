"""One attacker failing on one file is that file's error: the run and other attackers go on."""

from __future__ import annotations

from pathlib import Path

import pytest

from geoprivacy.attacks import AttackOutcome
from geoprivacy.audit import AuditOptions, audit_file
from geoprivacy.commands.audit import build_attackers
from geoprivacy.samples import sample_dir
from tests.corpus import SHARED_DATA


class _Broken:
    """An attacker whose decoder raises what click would turn into "Aborted!" (EOFError)."""

    name = "broken"

    def supports(self, container: str) -> bool:
        return True

    def attack(self, item: object) -> AttackOutcome:
        raise EOFError("Decoder plugin generated an error: Unexpected end of file")


def _leaky_photo() -> str:
    return str(Path(sample_dir()) / "lund_cathedral.jpg")


def test_a_raising_attacker_becomes_one_error_and_metadata_still_reports() -> None:
    metadata = build_attackers("metadata", False)
    result = audit_file(_leaky_photo(), AuditOptions(attackers=[_Broken(), *metadata]))
    assert any("broken: failed on this file (EOFError" in e for e in result.errors)
    assert all("\n" not in e for e in result.errors)
    assert result.status == "ok" and any(e.is_location for e in result.evidence)


def test_truncated_heic_is_not_checked_by_the_visual_attacker_not_a_crash() -> None:
    pytest.importorskip("pillow_heif")
    heic = SHARED_DATA / "photos" / "QuickTime.heic"
    if not heic.exists():
        pytest.skip("shared corpus not present")
    from geoprivacy.cues.frames import photo_rgb
    from geoprivacy.errors import GeoprivacyError
    with pytest.raises(GeoprivacyError, match="cannot decode image"):
        photo_rgb(str(heic))
