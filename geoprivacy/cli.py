"""Command-line interface: parse, call, print. Logic lives in the modules it calls."""

from __future__ import annotations

import io
import os
import sys
from typing import Any, Iterable

import click

from geoprivacy import __version__
from geoprivacy.errors import GeoprivacyError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _err(message: str) -> None:
    click.echo(f"geoprivacy: {message}", err=True)


class PathsCommand(click.Command):
    """A command whose unknown ``-x`` style arguments are files when such a file exists."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        known = {opt for p in self.params for opt in getattr(p, "opts", [])}
        known |= {opt for p in self.params for opt in getattr(p, "secondary_opts", [])}
        fixed: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                fixed.extend(args[i:])
                break
            name = arg.split("=", 1)[0]
            if arg.startswith("-") and arg != "-" and name not in known and os.path.lexists(arg):
                fixed.append("./" + arg if not arg.startswith("./") else arg)
            else:
                fixed.append(arg)
        return super().parse_args(ctx, fixed)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="geoprivacy")
def main() -> None:
    """Find what photos and videos reveal about where they were taken, and remove it.

    \b
    Start with:
      geoprivacy demo                          audit, strip and protect a built-in sample
      geoprivacy audit PHOTOS_OR_VIDEOS...     what the metadata gives away
      geoprivacy strip PATHS... -o clean/      remove it losslessly, verified
      geoprivacy protect VIDEO -o OUT.mp4      perturb the location-revealing background
      geoprivacy gate DATASET/                 CI gate against a contextual-integrity policy

    Every command's --help lists its exit codes. audit: 0 nothing found, 1 a real
    location was found, 2 nothing was checked, 3 some input could not be checked.
    """


def output_options(func: Any) -> Any:
    """--format, -o, --quiet, --verbose: the same on every command that reports."""
    func = click.option("-v", "--verbose", is_flag=True, help="Also show placeholders, skipped "
                        "files and every evidence, not only real places.")(func)
    func = click.option("-q", "--quiet", is_flag=True,
                        help="Only files that leak or could not be checked.")(func)
    func = click.option("-o", "--output", "output", type=click.Path(dir_okay=False),
                        help="Write the report to FILE (atomically) instead of stdout.")(func)
    return func


def input_options(func: Any) -> Any:
    func = click.option("--exclude", multiple=True, metavar="GLOB",
                        help="Skip paths matching GLOB (repeatable). A .geoprivacyignore file "
                             "in a directory adds patterns for everything below it.")(func)
    return func


def budget_options(func: Any) -> Any:
    """--jobs, --timeout, --max-memory: per-file budgets in workers, the same on every command
    that reads many files (the report is the same for any number of jobs)."""
    func = click.option("--max-memory", type=click.IntRange(min=16), metavar="MB",
                        help="Memory per file above a worker's start (default 2048 with "
                             "--jobs > 1).")(func)
    func = click.option("--timeout", type=click.FloatRange(min=0.1),
                        help="Seconds per file (default 120 with --jobs > 1); a file over it "
                             "is reported as not checked (exit 3).")(func)
    func = click.option("-j", "--jobs", type=click.IntRange(1, 256), default=1,
                        show_default=True, help="Worker processes. With more than 1, or a "
                        "budget, each file runs in a worker under a time and memory budget; "
                        "the report is the same for any N.")(func)
    return func


def emit(report: Any, fmt: str, output: str | None, *, redact: bool, quiet: bool,
         verbose: bool, thumbnails: bool = False) -> None:
    """Render ``report`` with the writer for ``fmt`` to stdout or atomically to ``output``."""
    from geoprivacy.fsutil import atomic_write
    from geoprivacy.registry import instantiate
    from geoprivacy.reports import WRITERS, WriteOptions

    writer = instantiate(WRITERS, fmt)
    color = output is None and fmt == "table" and sys.stdout.isatty()
    options = WriteOptions(redact=redact, color=color, quiet=quiet, verbose=verbose,
                           thumbnails=thumbnails)
    if output:
        with atomic_write(output) as fh:
            writer(fh, report, options)
    else:
        buf = io.StringIO()
        writer(buf, report, options)
        sys.stdout.write(buf.getvalue())
        sys.stdout.flush()


def progress(items: list[str], label: str, quiet: bool) -> Iterable[str]:
    """A rich progress bar on a terminal (stderr); nothing when not a TTY or --quiet."""
    if quiet or not sys.stderr.isatty() or len(items) < 2:
        yield from items
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
        TimeRemainingColumn
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task(label, total=len(items))
        for item in items:
            yield item
            bar.advance(task)


@main.command(cls=PathsCommand, context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table: for people (plain lines when not a terminal); "
                                      "json: the documented report schema.")
@click.option("--attackers", default="metadata", show_default=True,
              help="Comma-separated attackers to run (see `geoprivacy attackers`).")
@click.option("--detail", is_flag=True, help="Put every fix of every GPS track in the JSON.")
@click.option("--redact", is_flag=True, help="Hide coordinates in the output.")
@click.option("--index", "index", type=click.Path(dir_okay=False, exists=True),
              help="Gallery for the retrieval attacker (from `geoprivacy index build`).")
@budget_options
@click.option("--cues", default="", metavar="LIST", help="Comma-separated context cues to detect "
              "(people, faces, plates, text, scene); a cue that cannot run is 'not_checked'.")
@click.option("--geoclip-backbone", type=click.Path(file_okay=False), metavar="DIR",
              help="CLIP ViT-L/14 folder (Hugging Face format) for the geoclip attacker.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="Where the deep-learning attackers run.")
@click.option("--allow-download", is_flag=True, help="Let geoclip fetch its backbone from the "
              "Hugging Face hub when it is not on disk (off by default).")
@input_options
@output_options
def audit(paths: tuple[str, ...], fmt: str, attackers: str, detail: bool, redact: bool,
          index: str | None, jobs: int, timeout: float | None, max_memory: int | None,
          cues: str, geoclip_backbone: str | None, device: str, allow_download: bool,
          exclude: tuple[str, ...], output: str | None, quiet: bool, verbose: bool) -> None:
    """Report every place PATHS give away: files, directories (recursive) and globs.

    The container is detected from content, never the extension. Only metadata is read.

    \b
    Exit codes:
      0  every input was checked and none leaks a location
      1  at least one real location was found
      2  nothing was checked (no media among the inputs)
      3  some input could not be checked (and nothing was found)

    \b
    Examples:
      geoprivacy audit holiday/                    every photo and video below holiday/
      geoprivacy audit '*.jpg' --format json -o report.json
      geoprivacy audit -- -odd-name.jpg            a file whose name starts with a dash
      geoprivacy audit --attackers metadata,geoclip,overlay --cues people,faces,text x.jpg
    """
    from geoprivacy.commands.audit import run_audit

    code = run_audit(list(paths), fmt=fmt, attackers=attackers, detail=detail, redact=redact,
                     exclude=list(exclude), output=output, quiet=quiet, verbose=verbose,
                     index=index, jobs=jobs, timeout=timeout, max_memory=max_memory,
                     cues=cues, model_options={"backbone": geoclip_backbone, "device": device,
                                               "allow_download": allow_download})
    sys.exit(code)


@main.command(cls=PathsCommand, context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("-o", "--output-dir", "output_dir", type=click.Path(file_okay=False),
              help="Write cleaned copies here (directory inputs keep their sub-folders). "
                   "Default: NAME.cleaned.EXT beside each input.")
@click.option("--in-place", is_flag=True, help="Replace each input by its verified clean "
              "version (atomic rename; untouched when nothing had to go).")
@click.option("--force", is_flag=True, help="Overwrite outputs that already exist.")
@click.option("--dry-run", is_flag=True, help="List what would go (checked on a private "
              "temp copy); write nothing.")
@click.option("--all", "all_metadata", is_flag=True, help="Remove all metadata, not only "
              "location (keeps what rendering needs: ICC profile, orientation).")
@click.option("--sidecars", type=click.Choice(["report", "strip", "delete"]), default="report",
              show_default=True, help="Location sidecars: report them as leaks; strip "
              "coordinates from SRT/XMP; delete GPX/NMEA/KML/Takeout files too.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table: one line per file; json: per-file results.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write the report to FILE (atomically) instead of stdout.")
@click.option("-q", "--quiet", is_flag=True, help="Only files that failed or still leak.")
@click.option("-v", "--verbose", is_flag=True, help="Also what audit found and skipped files.")
@click.option("--journal", type=click.Path(dir_okay=False), help="Record each finished input "
              "in FILE (JSON lines) so the batch can be resumed.")
@click.option("--resume", is_flag=True, help="Skip inputs the journal shows done whose output "
              "still verifies (journal: --journal, else .geoprivacy-strip-journal.jsonl in the "
              "output folder or the current one).")
@input_options
def strip(paths: tuple[str, ...], output_dir: str | None, in_place: bool, force: bool,
          dry_run: bool, all_metadata: bool, sidecars: str, fmt: str, report_path: str | None,
          quiet: bool, verbose: bool, journal: str | None, resume: bool,
          exclude: tuple[str, ...]) -> None:
    """Remove every location PATHS give away, without re-encoding, and prove it.

    Each output is written to a temp file, re-audited, and renamed into place only when
    the metadata attacker finds nothing left in it. Inputs are never modified unless
    --in-place.

    \b
    Exit codes:
      0  every output was written and verified clean
      2  nothing to do (no photo, video or sidecar among the inputs)
      3  some input could not be cleaned or verified, or a sidecar still leaks

    \b
    Examples:
      geoprivacy strip holiday/ -o clean/          cleaned copies under clean/
      geoprivacy strip --in-place IMG_0001.jpg     replace the file by its clean version
      geoprivacy strip --dry-run --format json trip/
    """
    from geoprivacy.commands.strip import run_strip
    from geoprivacy.defenses.strip.engine import StripSettings

    if in_place and output_dir:
        raise click.UsageError("--in-place and -o/--output-dir exclude each other")
    settings = StripSettings(output_dir=output_dir, in_place=in_place, force=force,
                             dry_run=dry_run, all_metadata=all_metadata, sidecars=sidecars)
    sys.exit(run_strip(list(paths), settings, fmt=fmt, exclude=list(exclude),
                       report_path=report_path, quiet=quiet, verbose=verbose,
                       journal=journal, resume=resume))


def _parse_level_weights(value: str | None) -> tuple[float, ...] | None:
    if not value:
        return None
    try:
        weights = tuple(float(v) for v in value.split(","))
    except ValueError:
        weights = ()
    if len(weights) != 3 or min(weights) < 0 or max(weights) <= 0:
        raise click.BadParameter("expected three weights ≥ 0, low to high sensitivity, at least "
                                 "one above 0, e.g. 0.2,0.6,1")
    return weights


def _parse_truth(value: str | None) -> tuple[float, float] | None:
    if not value:
        return None
    try:
        lat, lon = (float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter("expected LAT,LON in decimal degrees, e.g. 55.7047,13.1910")
    return lat, lon


@main.command(cls=PathsCommand, context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("-o", "--output", help="Output file (one input) or folder. Default: "
              "NAME.protected.EXT beside each input. Inputs are never modified.")
@click.option("--method", type=click.Choice(["blur", "mosaic", "noise", "mask", "ppedcrf"]),
              default="ppedcrf", show_default=True,
              help="ppedcrf: noise only where the background gives the place away (sensitivity "
                   "from the retrieval attacker, tracked by a dynamic CRF); blur/mosaic/mask act "
                   "on the whole background; noise is global Gaussian noise on the whole frame "
                   "(baselines).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="Where the models run.")
@click.option("--seed", type=int, default=0, show_default=True, help="Makes noise reproducible.")
@click.option("--batch", type=int, default=8, show_default=True, help="Frames per batch.")
@click.option("--detector", default="auto", show_default=True,
              help="Foreground detector that marks what stays intact (ssdlite, yolo).")
@click.option("--scorer", default="auto", show_default=True,
              help="Second detector that measures utility (must differ from --detector).")
@click.option("--detect-every", type=int, default=5, show_default=True,
              help="Run the foreground detector every K frames; frames between reuse its mask.")
@click.option("--no-foreground", is_flag=True, help="Treat every pixel as background.")
@click.option("--classes", default="", help="Comma-separated classes kept intact (default: "
              "people, vehicles, traffic lights, stop signs).")
@click.option("--anonymize", default="", metavar="faces,plates",
              help="Also pixelate faces and/or licence plates, even inside kept boxes.")
@click.option("--mask-text", is_flag=True, help="Pixelate text found by OCR (signs, house "
              "numbers, burned-in dashcam/drone overlays), even inside kept boxes.")
@click.option("--index", type=click.Path(exists=True, dir_okay=False),
              help="Retrieval index: measure the background-retrieval attacker before/after.")
@click.option("--truth", help="LAT,LON ground truth for privacy accuracy (default: the "
              "input's own GPS metadata, when it has one).")
@click.option("--labels", "labels", type=click.Path(exists=True, dir_okay=False),
              help='Ground-truth boxes for utility, JSON {"FRAME": [[label, x1, y1, x2, y2], '
                   '...]} (a photo is frame "0"); default: a second detector.')
@click.option("--min-utility", type=float, default=0.95, show_default=True,
              help="Exit 1 when the protected output keeps less than this share of the "
                   "original mAP@0.5.")
@click.option("--crf", type=int, default=18, show_default=True, help="H.264 quality (lower is "
              "better).")
@click.option("--preset", default="medium", show_default=True, help="x264 speed preset.")
@click.option("--sigma", type=float, help="blur/noise strength (blur: pixels at 1080p; "
              "noise: 0-255 scale).")
@click.option("--block", type=int, help="mosaic block size in pixels at 1080p.")
@click.option("--sigma0", type=float, help="ppedcrf: noise σ₀ on the 0-255 scale (default 8), "
              "scaled by sensitivity and the normalized control penalty.")
@click.option("--alpha", type=float, help="ppedcrf: largest NCP weight (default 1.0).")
@click.option("--level-weights", callback=lambda ctx, param, value: _parse_level_weights(value),
              help="ppedcrf: NCP weight per sensitivity level, low to high (default 0.2,0.6,1); "
                   "0,0,1 spends the whole budget on the most sensitive regions.")
@click.option("--iid-noise", is_flag=True, help="ppedcrf: re-draw i.i.d. noise every frame (the "
              "paper's) instead of noise that follows the scene (less flicker).")
@click.option("--sensitivity-every", type=int, help="ppedcrf: recompute sensitivity every K "
              "frames (default 5); the map follows the scene by optical flow in between.")
@click.option("--noise", type=click.Choice(["gaussian", "adversarial"]), default="gaussian",
              show_default=True, help="ppedcrf: calibrated Gaussian noise, or noise optimised "
              "(PGD) to push the frame away from the attacker's gallery matches.")
@click.option("--epsilon", type=float, help="ppedcrf adversarial: L∞ budget on the 0-255 scale "
              "(default 4), scaled per region by the NCP weights.")
@click.option("--steps", type=int, help="ppedcrf adversarial: PGD steps per batch (default 10).")
@click.option("--ensemble", default="", help="ppedcrf adversarial: more encoders to optimise "
              "against, e.g. lite0,lite2 (the --index encoder is always one).")
@click.option("--train-sens", type=int, help="ppedcrf: distil the attacker sensitivity into a "
              "small network on the first N frames, then use it for the rest (faster).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write the DefenseResult report to FILE (atomically).")
@click.option("--resume", is_flag=True, help="Videos: encode in segments cut at keyframes and "
              "keep finished ones in OUTPUT.parts/; after an interruption, the same command "
              "with --resume redoes only what is missing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def protect(paths: tuple[str, ...], output: str | None, method: str, device: str, seed: int,
            batch: int, detector: str, scorer: str, detect_every: int, no_foreground: bool,
            classes: str, anonymize: str, mask_text: bool, index: str | None,
            truth: str | None, min_utility: float, crf: int,
            preset: str, sigma: float | None, block: int | None, sigma0: float | None,
            alpha: float | None, level_weights: tuple[float, ...] | None, iid_noise: bool,
            sensitivity_every: int | None, noise: str,
            epsilon: float | None, steps: int | None, ensemble: str, train_sens: int | None,
            fmt: str, report_path: str | None, resume: bool, labels: str | None,
            quiet: bool) -> None:
    """Protect photos and videos before publishing: perturb the location-revealing background,
    keep what must stay detectable, drop location metadata, and verify the result.

    Every run measures, on the decoded output file: privacy (metadata, and the retrieval
    attacker with --index), utility (mAP@0.5 of a second detector) and quality (PSNR, SSIM,
    flicker, size).

    \b
    Exit codes:
      0  every output was written and meets the targets
      1  utility fell below --min-utility, or an attacker still locates the output
      2  nothing to process
      3  some input could not be processed
    """
    from geoprivacy.commands.protect import ProtectSettings, run_protect

    params: dict[str, Any] = {}
    if sigma is not None and method in ("blur", "noise"):
        params["sigma"] = sigma
    if block is not None and method == "mosaic":
        params["block"] = block
    if method == "ppedcrf":
        for key, value in (("sigma0", sigma0), ("alpha", alpha),
                           ("sensitivity_every", sensitivity_every),
                           ("level_weights", level_weights)):
            if value is not None:
                params[key] = value
        params["coherent"] = not iid_noise
        if noise == "adversarial" or train_sens:
            params["noise"] = noise
            for key, value in (("epsilon", epsilon), ("steps", steps), ("train_sens", train_sens)):
                if value is not None:
                    params[key] = value
            if ensemble:
                params["ensemble"] = ensemble
    settings = ProtectSettings(
        method=method, output=output, device=device, seed=seed, batch=batch, detector=detector,
        scorer=scorer, detect_every=max(1, detect_every), foreground=not no_foreground,
        classes=tuple(c.strip() for c in classes.split(",") if c.strip()),
        anonymize=tuple(a.strip() for a in anonymize.split(",") if a.strip()),
        mask_text=mask_text, index=index,
        truth=_parse_truth(truth), min_utility=min_utility, crf=crf, preset=preset,
        params=params, quiet=quiet, resume=resume, labels=labels)
    sys.exit(run_protect(list(paths), settings, fmt, report_path))


@main.command(context_settings=CONTEXT)
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for the sample copies and outputs (default: a new temp folder).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def demo(out_dir: str | None, fmt: str) -> None:
    """Run the main job offline on a small built-in sample with known coordinates.

    Exits 0 when every result matches the sample's known truth.
    """
    from geoprivacy.commands.demo import run_demo
    sys.exit(run_demo(out_dir, fmt))


@main.command(cls=PathsCommand, context_settings=CONTEXT)
@click.argument("paths", nargs=-1, type=click.UNPROCESSED)
@click.option("--policy", type=click.Path(dir_okay=False), help="Policy YAML (default: the "
              "shipped geoprivacy-default policy).")
@click.option("--audience", type=click.Choice(["public", "internal", "research"]),
              default="public", show_default=True, help="Who will see the files.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "sarif", "junit", "html"]),
              default="table", show_default=True, help="Report format.")
@click.option("--show-coordinates", is_flag=True, help="Put coordinates in the report (they are "
              "redacted by default: CI logs are often public).")
@click.option("--baseline", type=click.Path(dir_okay=False), help="Ignore findings whose "
              "fingerprints are in this baseline file.")
@click.option("--write-baseline", "write_baseline_to", type=click.Path(dir_okay=False),
              help="Write this run's finding fingerprints to FILE.")
@click.option("--suppressions", type=click.Path(dir_okay=False), help="YAML list of accepted "
              "findings (fingerprint or path glob, optional rule), each with a reason.")
@click.option("--context", "context", multiple=True, metavar="KEY=VALUE", help="State a cue for "
              "every file, e.g. --context people=none (repeatable).")
@click.option("--context-file", type=click.Path(dir_okay=False), help="CSV (path column + one "
              "column per cue) or YAML (path or glob → cues) of per-file answers.")
@click.option("--index", type=click.Path(exists=True, dir_okay=False), help="Gallery for the "
              "retrieval attacker, when the policy lists it (attackers: [metadata, retrieval]); "
              "build one with `geoprivacy index build`.")
@budget_options
@click.option("--cache/--no-cache", default=True, show_default=True, help="Reuse results for "
              "unchanged files ($GEOPRIVACY_HOME/cache).")
@click.option("--thumbnails", is_flag=True, help="HTML: embed thumbnails (blurred unless "
              "--show-coordinates).")
@click.option("--manifest", "manifests", multiple=True, type=click.Path(dir_okay=False,
              exists=True), help="CSV (path column) or JSON lines listing paths or URLs "
              "to gate (repeatable).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Where files are processed: here, or on a Ray cluster "
              "(pip install 'geoprivacy[ray]'). Same report either way.")
@click.option("--ray-address", metavar="ADDRESS", help="--engine ray: join this cluster "
              "(e.g. ray://head:10001 or auto); default: start a local one for this run.")
@input_options
@output_options
def gate(paths: tuple[str, ...], policy: str | None, audience: str, fmt: str,
         show_coordinates: bool, baseline: str | None, write_baseline_to: str | None,
         suppressions: str | None, context: tuple[str, ...], context_file: str | None,
         index: str | None, jobs: int, timeout: float | None, max_memory: int | None, cache: bool,
         thumbnails: bool, manifests: tuple[str, ...], engine: str,
         ray_address: str | None, exclude: tuple[str, ...],
         output: str | None, quiet: bool, verbose: bool) -> None:
    """Fail a CI job when PATHS disclose more location than their context allows.

    PATHS are files, directories, globs, zip files, WebDataset tar shards and fsspec URLs
    (s3://, gs://, file://...). Each location found is compared with the finest level the
    policy allows for the file's context.

    \b
    Exit codes:
      0  every input was checked and nothing exceeds the policy
      1  at least one finding (not baselined or suppressed)
      2  nothing was checked (no media among the inputs)
      3  some input, attacker or cue the policy needs could not be checked

    \b
    Examples:
      geoprivacy gate dataset/ --format sarif -o geoprivacy.sarif
      geoprivacy gate shards/*.tar --audience research --jobs 4
      geoprivacy gate s3://bucket/photos/ --engine ray --ray-address auto
      geoprivacy gate photos/ --context people=none --baseline .geoprivacy-baseline.json
    """
    if not paths and not manifests:
        raise click.UsageError("give PATHS or --manifest FILE")
    from geoprivacy.commands.gate import run_gate

    code = run_gate(list(paths), policy=policy, audience=audience, fmt=fmt, output=output,
                    show_coordinates=show_coordinates, baseline=baseline,
                    write_baseline_to=write_baseline_to, suppressions=suppressions, jobs=jobs,
                    index=index,
                    manifests=list(manifests), engine=engine, ray_address=ray_address,
                    timeout=timeout, max_memory=max_memory,
                    cache=cache, context=list(context), context_file=context_file,
                    exclude=list(exclude), thumbnails=thumbnails, quiet=quiet, verbose=verbose)
    sys.exit(code)


@main.command("eval-policy", context_settings=CONTEXT)
@click.argument("annotations", type=click.Path(exists=True, dir_okay=False))
@click.option("--policy", type=click.Path(dir_okay=False), help="Policy YAML (default: shipped).")
@click.option("--audience", type=click.Choice(["public", "internal", "research"]),
              default="public", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE.")
def eval_policy(annotations: str, policy: str | None, audience: str, fmt: str,
                output: str | None) -> None:
    """Score a policy on ANNOTATIONS.csv (VLM-GeoPrivacy form: answers + gold disclosure).

    Reports accuracy, macro-F1, the over-disclosure rate (the policy allows a finer level
    than the gold label) and abstention violations (gold abstain, policy discloses).
    """
    from geoprivacy.commands.eval_policy import run_eval_policy

    sys.exit(run_eval_policy(annotations, policy=policy, audience=audience, fmt=fmt,
                             output=output))


@main.command(context_settings=CONTEXT)
def attackers() -> None:
    """List the attackers and whether each can run here (packages, then weights)."""
    from geoprivacy.attacks import ATTACKERS
    for plugin in ATTACKERS:
        extra = f" (needs geoprivacy[{plugin.extra}])" if plugin.extra else ""
        installed = plugin.available()
        missing = plugin.needs() if installed else None
        state = "not installed" if not installed else "needs weights" if missing else "available"
        tail = f"; missing here: {missing}" if missing else ""
        click.echo(f"{plugin.name:12} {state:14} {plugin.description}{extra}{tail}")


@main.group(context_settings=CONTEXT)
def models() -> None:
    """Model weights: what is known, what is on this machine, where it lies (offline)."""


@models.command("list", context_settings=CONTEXT)
def models_list() -> None:
    """Every known model: kind, present or missing, licence, how to get it."""
    from geoprivacy.commands.models import list_models
    sys.exit(list_models())


@models.command("check", context_settings=CONTEXT)
@click.argument("names", nargs=-1)
@click.option("--path", type=click.Path(), help="Look only here (a file or a folder).")
def models_check(names: tuple[str, ...], path: str | None) -> None:
    """Hash-check NAMES (default: all). Exit 0 when all are usable, 3 otherwise."""
    from geoprivacy.commands.models import check_models
    sys.exit(check_models(names, path))


@models.command("path", context_settings=CONTEXT)
@click.argument("name")
@click.option("--path", type=click.Path(), help="Look only here (a file or a folder).")
@click.option("--file", "file", help="One file of a multi-file model (default: its folder).")
@click.option("--allow-download", is_flag=True, help="Fetch from a registered URL if missing.")
def models_path(name: str, path: str | None, file: str | None, allow_download: bool) -> None:
    """Print the verified path of model NAME."""
    from geoprivacy.commands.models import model_path
    sys.exit(model_path(name, path, file, allow_download))


DEVICE_OPTION = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]),
                             default="auto", show_default=True,
                             help="Where the encoder runs (auto: a GPU when torch sees one).")


@main.group(context_settings=CONTEXT)
def index() -> None:
    """Galleries of geo-tagged images for the retrieval attacker."""


@index.command("build", cls=PathsCommand, context_settings=CONTEXT)
@click.argument("sources", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Index file to write (atomically).")
@click.option("--encoder", default="efficientnet-lite0", show_default=True,
              help="efficientnet-lite0, efficientnet-lite2, or open_clip:ARCH with --weights.")
@click.option("--weights", type=click.Path(dir_okay=True), help="Encoder weights file (default: "
              "the registry's; required for open_clip).")
@click.option("--pooling", type=click.Choice(["gap", "gem", "ms"]),
              help="Feature pooling for EfficientNet encoders (default: the benchmark's best).")
@click.option("--image-size", type=click.IntRange(64, 1024), help="Encoder input size (px).")
@click.option("--every-m", type=click.FloatRange(min=0.1), help="Videos: a frame every N metres "
              "along the GPS track.")
@click.option("--every-s", type=click.FloatRange(min=0.01), help="Videos: a frame every N "
              "seconds (default 1 when --every-m is not given).")
@click.option("--index-type", type=click.Choice(["auto", "flat", "ivf", "hnsw"]), default="auto",
              show_default=True, help="auto: exact below 20k vectors, IVF above; HNSW on request.")
@DEVICE_OPTION
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def index_build(sources: tuple[str, ...], output: str, encoder: str, weights: str | None,
                pooling: str | None, image_size: int | None, every_m: float | None,
                every_s: float | None, index_type: str, device: str, quiet: bool) -> None:
    """Embed the geo-tagged photos and video frames of SOURCES into an index file.

    Labels come from the metadata attacker; files without a location are skipped (listed).
    """
    from geoprivacy.commands.index import build_index
    sys.exit(build_index(list(sources), output, encoder=encoder, pooling=pooling,
                         image_size=image_size, weights=weights, every_m=every_m,
                         every_s=every_s, index_type=index_type, device=device, quiet=quiet))


@index.command("info", context_settings=CONTEXT)
@click.argument("index_file", type=click.Path(dir_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def index_info(index_file: str, as_json: bool) -> None:
    """Size, extent and encoder of an index."""
    from geoprivacy.commands.index import index_info as show
    sys.exit(show(index_file, as_json))


@main.command("eval", context_settings=CONTEXT)
@click.argument("dataset", type=click.Path(exists=True))
@click.option("--index", "index_file", required=True, type=click.Path(dir_okay=False,
              exists=True), help="The gallery to attack with.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="JSON report file.")
@click.option("--plots", type=click.Path(file_okay=False), help="Folder for PNG plots.")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Neighbours that vote.")
@click.option("--every-s", type=click.FloatRange(min=0.01), default=5.0, show_default=True,
              help="Videos: a query frame every N seconds.")
@click.option("--holdout-s", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Videos: gallery frames of the same video within N s of a query are hidden.")
@click.option("--region-km", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
              help="Recall-vs-Area: radius of one predicted region.")
@click.option("--weights", type=click.Path(), help="Encoder weights, if not the registry's.")
@DEVICE_OPTION
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def eval_cmd(dataset: str, index_file: str, output: str | None, plots: str | None, k: int,
             every_s: float, holdout_s: float, region_km: float, weights: str | None,
             device: str, quiet: bool) -> None:
    """Score the retrieval attacker on DATASET: a folder of geo-tagged media (their metadata is
    the truth) or a CSV with path,lat,lon columns.

    Reports accuracy at 1/25/200/750/2500 km next to chance, median error and Recall-vs-Area.
    """
    from geoprivacy.commands.eval import run_eval
    sys.exit(run_eval(dataset, index_file, output=output, plots=plots, k=k, every_s=every_s,
                      holdout_s=holdout_s, device=device, weights=weights, quiet=quiet,
                      region_km=region_km))


def run() -> None:
    """Console entry point: one line per error, never a traceback for a known problem."""
    import warnings
    if not os.environ.get("GEOPRIVACY_DEBUG"):
        # decoders warn about the damaged files the report already lists as not checked
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
    try:
        main(standalone_mode=True)
    except GeoprivacyError as exc:
        _err(str(exc))
        sys.exit(3)
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if os.environ.get("GEOPRIVACY_DEBUG"):
            raise
        _err(f"internal error: {type(exc).__name__}: {exc} (set GEOPRIVACY_DEBUG=1 for details)")
        sys.exit(3)


if __name__ == "__main__":
    run()
