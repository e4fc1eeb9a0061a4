"""`geoprivacy demo`: the main job on the embedded sample, offline, in seconds.

Copies the shipped sample into a folder, audits it (and strips it, then re-audits the
stripped copies, when the strip defense is installed), and checks the results against the
sample's known truth so a new user sees both what the tool does and that it works.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from geoprivacy.attacks.metadata import MetadataAttacker
from geoprivacy.audit import AuditOptions, audit_file
from geoprivacy.geo import haversine_km
from geoprivacy.report import RunReport
from geoprivacy.samples import TRUTH, sample_files
from geoprivacy.types import FileResult


def check_against_truth(result: FileResult) -> str | None:
    """Why ``result`` disagrees with the sample's truth, or None when it agrees."""
    truth = TRUTH[Path(result.path).name]
    places = [e for e in result.evidence if e.is_location]
    if truth["lat"] is None:
        if places:
            return f"reported a place where none exists ({places[0].where})"
        if truth.get("placeholder") and not result.evidence:
            return "missed the (0, 0) placeholder"
        return None
    if not places:
        return "missed the location"
    best = min(haversine_km(e.lat, e.lon, truth["lat"], truth["lon"])  # type: ignore[arg-type]
               for e in places)
    if best > 0.01:
        return f"location off by {best:.3f} km"
    if places[0].granularity.value != truth["granularity"]:
        return f"granularity {places[0].granularity.value}, expected {truth['granularity']}"
    return None


def run_demo(out_dir: str | None, fmt: str) -> int:
    from geoprivacy.cli import emit

    target = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="geoprivacy-demo-"))
    target.mkdir(parents=True, exist_ok=True)
    copies = []
    for src in sample_files():
        dst = target / src.name
        shutil.copyfile(src, dst)
        copies.append(str(dst))
    click.echo(f"1. audit: what the sample files in {target} give away", err=True)
    options = AuditOptions(attackers=[MetadataAttacker()])
    results = tuple(audit_file(p, options) for p in copies)
    emit(RunReport(command="audit", files=results), fmt, None, redact=False, quiet=False,
         verbose=True)
    problems = [f"{Path(r.path).name}: {why}" for r in results
                if (why := check_against_truth(r)) is not None]
    problems += _strip_stage(target, copies, fmt)
    if problems:
        for p in problems:
            click.echo(f"demo FAILED: {p}", err=True)
        return 1
    click.echo("demo OK: every leak in the sample was found at the right place and level.",
               err=True)
    return 0


def _strip_stage(target: Path, copies: list[str], fmt: str) -> list[str]:
    """Strip the sample and re-audit the output, when the strip defense is available."""
    try:
        from geoprivacy.defenses.strip.engine import demo_strip  # type: ignore[attr-defined]
    except ImportError:
        return []
    click.echo(f"2. strip: clean copies in {target / 'clean'}, then audit them again", err=True)
    return demo_strip(copies, target / "clean", fmt)
