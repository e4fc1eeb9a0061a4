"""`geoprivacy demo`: the main job on the embedded sample, offline, in seconds.

Copies the shipped sample into a folder, audits it, strips it and re-audits the stripped
copies, and — when the vision extra is installed — protects the photo's pixels; every result is
checked against the sample's known truth so a new user sees both what the tool does and that
it works.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import click

from geoprivacy.attacks.metadata import MetadataAttacker
from geoprivacy.audit import AuditOptions, audit_file
from geoprivacy.errors import GeoprivacyError
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
    if not problems:
        problems += _protect_stage(target)
    if problems:
        for p in problems:
            click.echo(f"demo FAILED: {p}", err=True)
        return 1
    click.echo("demo OK: every leak in the sample was found at the right place and level.",
               err=True)
    return 0


def _strip_stage(target: Path, copies: list[str], fmt: str) -> list[str]:
    """Strip the sample into ``target/clean`` and re-audit every output."""
    from geoprivacy.commands.strip import write_table
    from geoprivacy.defenses.strip.engine import StripReport, StripSettings, strip_paths

    clean = target / "clean"
    click.echo(f"2. strip: clean copies in {clean} (location sidecars left out), then audit "
               "them again", err=True)
    settings = StripSettings(output_dir=str(clean), force=True, sidecars="delete",
                             roots=(str(target),), explicit=frozenset(copies))
    results = strip_paths(copies, settings)
    report = StripReport(tuple(results), sidecars="delete")
    buf = io.StringIO()
    write_table(buf, report, quiet=False, verbose=False)
    click.echo(buf.getvalue(), nl=False)
    problems = [f"{Path(r.input).name}: strip {r.status}: {'; '.join(r.errors)}"
                for r in results if r.status in ("error", "leak")]
    options = AuditOptions(attackers=[MetadataAttacker()])
    for r in results:
        if r.output and Path(r.output).exists():
            again = audit_file(r.output, options)
            if again.has_location or again.status != "ok":
                problems.append(f"{Path(r.output).name}: still leaks after strip")
    if report.exit_code != 0:
        problems.append(f"strip exited {report.exit_code}")
    return problems


def _protect_stage(target: Path) -> list[str]:
    """Protect the photo's pixels when the vision extra is installed (skipped otherwise)."""
    from importlib.util import find_spec

    if find_spec("torch") is None or find_spec("cv2") is None:
        click.echo("3. protect: skipped (pip install 'geoprivacy[vision]' to perturb the "
                   "location-revealing background too)", err=True)
        return []
    from geoprivacy.commands.protect import ProtectSettings, run_protect

    photo = target / "clean" / "lund_cathedral.jpg"
    if not photo.exists():
        return ["protect: the stripped photo is missing"]
    click.echo(f"3. protect: perturb the background of {photo.name} (PPEDCRF) and verify",
               err=True)
    settings = ProtectSettings(method="ppedcrf", output=str(target / "protected.jpg"),
                               foreground=False, quiet=True)
    try:
        code = run_protect([str(photo)], settings, "table", None)
    except GeoprivacyError as exc:
        click.echo(f"   protect skipped: {exc}", err=True)
        return []
    return [] if code == 0 else [f"protect exited {code}"]
