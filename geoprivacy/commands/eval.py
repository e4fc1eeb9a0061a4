"""`geoprivacy eval`: how well the retrieval attacker geolocates a dataset with known truth."""

from __future__ import annotations

import json
from typing import Any

import click


def run_eval(dataset: str, index: str, *, output: str | None, plots: str | None, k: int,
             every_s: float, holdout_s: float, device: str, weights: str | None,
             quiet: bool, region_km: float = 1.0) -> int:
    """Score the attacker; print a summary, write JSON (``-o``) and PNG plots (``--plots``)."""
    from geoprivacy.attacks.retrieval.attacker import RetrievalAttacker
    from geoprivacy.attacks.retrieval.evaluate import evaluate
    from geoprivacy.cli import progress
    from geoprivacy.evaluation import per_query, summarize, write_plots
    from geoprivacy.fsutil import atomic_write

    attacker = RetrievalAttacker(index, k=k, device=device, weights=weights)
    results, skipped = evaluate(dataset, attacker, every_s=every_s, holdout_s=holdout_s,
                                region_km=region_km,
                                progress=lambda items, label: progress(items, label, quiet))
    summary = summarize(results)
    report: dict[str, Any] = {
        "dataset": dataset, "index": index, "attacker": "retrieval", "k": k,
        "region_km": region_km, "holdout_s": holdout_s,
        "encoder": attacker.index.identity.to_dict(), "gallery_size": len(attacker.index.labels),
        "summary": summary, "queries": per_query(results),
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
    }
    if plots:
        report["plots"] = write_plots(results, summary, plots)
    if output:
        with atomic_write(output) as fh:
            json.dump(report, fh, indent=2)
            fh.write("\n")
    if not quiet:
        print_summary(summary, len(skipped))
    return 0


def print_summary(summary: dict[str, Any], skipped: int) -> None:
    click.echo(f"queries {summary['queries']} (skipped {skipped}), median error "
               f"{summary['median_error_km']:.3f} km")
    click.echo(f"{'threshold':>10} {'accuracy':>9} {'chance':>7}")
    for key, acc in summary["accuracy"].items():
        click.echo(f"{key:>10} {acc:9.3f} {summary['chance'][key]:7.3f}")
