"""`geoprivacy models list|check|path`: what the registry knows and what is on this machine."""

from __future__ import annotations

import click

from geoprivacy.models import MODELS, check, get_spec, resolve


def list_models() -> int:
    """One line per model: name, kind, licence, present or not, and how to get it."""
    for name, spec in MODELS.items():
        status = check(name)
        state = "present" if status.ok else "missing"
        click.echo(f"{name:30} {spec.kind:16} {state:8} {spec.licence}")
        if not status.ok:
            click.echo(f"{'':30} get it with: {spec.how_to_get}")
    return 0


def check_models(names: tuple[str, ...], path: str | None) -> int:
    """Hash-check each model (all when none named). Exit 0 when all are usable, else 3."""
    bad = 0
    for name in names or tuple(MODELS):
        get_spec(name)
        status = check(name, path)
        if status.ok:
            click.echo(f"ok       {name}  {status.path}")
        else:
            bad += 1
            click.echo(f"missing  {status.message}")
    return 3 if bad else 0


def model_path(name: str, path: str | None, file: str | None, allow_download: bool) -> int:
    """Print where model ``name`` is (raises ModelUnavailable, one line, when it is not)."""
    click.echo(str(resolve(name, path, allow_download=allow_download, file=file)))
    return 0
