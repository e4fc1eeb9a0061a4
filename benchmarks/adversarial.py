"""Adversarial PPEDCRF vs calibrated Gaussian PPEDCRF, measured on DECODED outputs.

Photos: the 8 queries of ../shared/data/retrieval (truth.csv), each protected and written as
JPEG q=95 by the protect pipeline, then decoded. Top-1 = the nearest gallery image (20 images,
gallery.csv) lies within 25 km of the truth; chance = mean share of same-place gallery images.
Encoders: EfficientNet-Lite0 (GeM, 384 px: the attacker the noise is optimised against, with
the gallery), EfficientNet-Lite2 and the YOLO backbone (SPPF features, GeM) as transfer
attackers that the optimisation never saw (unless --ensemble adds Lite2).
mAP kept "yolo/ssd": the second detector (YOLO person model) on protected vs original, the mask
made by the first (SSDlite, COCO); then SSDlite itself as a scorer (not independent of the
mask: a reference only). PSNR/SSIM of decoded output vs original. fps = defense frames per second
on this CPU (shared, loaded machine: treat as an upper bound on cost).
Clip: the first --clip-frames frames of videos/sample-5s.mp4 (1080p), written as H.264
(crf 18) and decoded; no truth there, so privacy is the cosine between the clean and protected
embeddings (1 = the attacker sees the same image) and whether Lite0's top-1 gallery neighbour
changed. --train-sens N: the Gaussian PPEDCRF with the distilled sensitivity, for speed.

Run: python benchmarks/adversarial.py [--steps 10] [--clip-frames 8] [--ensemble] [--no-clip]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from geoprivacy.geo import haversine_km

DATA = Path(os.environ.get("GEOPRIVACY_SHARED_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))


def rows(name: str) -> list[dict[str, str]]:
    with open(DATA / "retrieval" / name, newline="") as fh:
        return list(csv.DictReader(fh))


class YoloBackbone:
    """The YOLO detector's backbone (up to SPPF) as a retrieval encoder: GeM-pooled, L2."""

    def __init__(self, size: int = 640) -> None:
        import torch

        from geoprivacy.cues.yolo import YoloDetector

        det = YoloDetector(device="cpu")
        layers = det._model.model.model
        end = next(i for i, m in enumerate(layers) if type(m).__name__ == "SPPF")
        self.layers, self.size, self._torch = layers[: end + 1], size, torch
        self.name = "yolo-backbone"

    def encode(self, images: list[Any]) -> np.ndarray:
        torch = self._torch
        out = []
        with torch.inference_mode():
            for im in images:
                arr = np.asarray(im.convert("RGB").resize((self.size, self.size)), np.float32)
                x = torch.from_numpy(arr.transpose(2, 0, 1).copy())[None] / 255.0
                for layer in self.layers:
                    x = layer(x)
                vec = x.float().clamp(min=1e-6).pow(3).mean(dim=(2, 3)).pow(1 / 3)
                out.append(torch.nn.functional.normalize(vec, dim=1)[0].numpy())
        return np.stack(out)


def psnr_ssim(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    from geoprivacy.defenses.quality import psnr, ssim

    return float(psnr(a, b)), float(ssim(a, b))


def top1_hits(vectors: np.ndarray, gallery: np.ndarray, g_rows: list[dict[str, str]],
              truth: list[tuple[float, float]]) -> list[bool]:
    best = np.argmax(vectors @ gallery.T, axis=1)
    return [haversine_km(float(g_rows[j]["lat"]), float(g_rows[j]["lon"]), t[0], t[1]) <= 25
            for j, t in zip(best, truth)]


def kept_map(scorers: Any, originals: list[np.ndarray], protected: list[np.ndarray]
             ) -> tuple[str, int]:
    """'yolo/ssdlite' mAP kept (n/a where the reference has no objects) and object count."""
    parts, objects = [], 0
    for scorer in scorers:
        kept, n = kept_one(scorer, originals, protected)
        parts.append("n/a" if kept is None else f"{kept:.3f}")
        objects += n
    return "/".join(parts), objects


def kept_one(scorer: Any, originals: list[np.ndarray], protected: list[np.ndarray]
             ) -> tuple[float | None, int]:
    from geoprivacy.defenses.utility import mean_average_precision

    truth = [scorer.boxes(f) for f in originals]
    if not any(truth):
        return None, 0
    after = [scorer.boxes(f) for f in protected]
    before = mean_average_precision(truth, truth)["map"]
    return mean_average_precision(after, truth)["map"] / before, sum(len(t) for t in truth)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--epsilons", default="4,8", help="comma-separated, 0-255 scale")
    ap.add_argument("--no-gaussian", action="store_true")
    ap.add_argument("--clip-frames", type=int, default=8)
    ap.add_argument("--train-sens", type=int, default=4)
    ap.add_argument("--ensemble", action="store_true")
    ap.add_argument("--no-clip", action="store_true")
    ap.add_argument("--no-photos", action="store_true")
    ap.add_argument("--people-frames", type=int, default=30,
                    help="frames of the pedestrian clip for mAP kept via `protect` (0 = skip)")
    ap.add_argument("--queries", type=int, default=0, help="first N queries only (0 = all)")
    ap.add_argument("--sens-speed", action="store_true", help="only time the teacher vs the "
                    "distilled sensitivity per frame on the clip, and compare their maps")
    args = ap.parse_args()
    if args.sens_speed:
        sens_speed(args)
        return
    if args.people_frames:
        people(args)

    import torch
    from PIL import Image

    from geoprivacy.attacks.retrieval.encoders import load_encoder, load_image
    from geoprivacy.cues import DETECTORS
    from geoprivacy.defenses.ppedcrf.adversarial import ppedcrf_factory
    from geoprivacy.defenses.ppedcrf.sensitivity import AttackerSensitivity
    from geoprivacy.defenses.protect.foreground import DEFAULT_CLASSES, ForegroundMasker
    from geoprivacy.defenses.protect.pipeline import ProtectOptions, protect_photo, protect_video
    from geoprivacy.registry import instantiate

    torch.manual_seed(0)
    g_rows, q_rows = rows("gallery.csv"), rows("truth.csv")
    if args.queries:
        q_rows = q_rows[: args.queries]
    truth = [(float(r["lat"]), float(r["lon"])) for r in q_rows]
    g_img = [load_image(DATA / "retrieval" / r["path"]) for r in g_rows]
    g_pos = np.array([(float(r["lat"]), float(r["lon"])) for r in g_rows])
    chance = float(np.mean([np.mean([haversine_km(float(g["lat"]), float(g["lon"]), *t) <= 25
                                     for g in g_rows]) for t in truth]))
    t0 = time.perf_counter()
    lite0 = load_encoder("efficientnet-lite0", device="cpu")
    attackers: dict[str, Any] = {"lite0 (optimised)": lite0,
                                 "lite2 (transfer)": load_encoder("efficientnet-lite2",
                                                                  device="cpu"),
                                 "yolo-backbone (transfer)": YoloBackbone()}
    galleries = {k: e.encode(g_img) for k, e in attackers.items()}
    print(f"# encoders and galleries ready in {time.perf_counter() - t0:.0f} s; chance top-1 "
          f"{chance:.3f}", flush=True)
    masker_det = instantiate(DETECTORS, "ssdlite")
    scorer = (ForegroundMasker(instantiate(DETECTORS, "yolo"), DEFAULT_CLASSES),
              ForegroundMasker(masker_det, DEFAULT_CLASSES))
    sens = AttackerSensitivity(lite0, galleries["lite0 (optimised)"])
    g0 = galleries["lite0 (optimised)"]
    epsilons = [float(e) for e in args.epsilons.split(",") if e]
    args.epsilon = epsilons[0]
    methods: dict[str, dict[str, Any]] = {} if args.no_gaussian else {"ppedcrf gaussian s0=8": {}}
    for eps in epsilons:
        methods[f"ppedcrf adversarial eps={eps:g}"] = {"noise": "adversarial", "epsilon": eps,
                                                       "steps": args.steps}
        if args.ensemble:
            methods[f"adversarial eps={eps:g} ens lite0+lite2"] = {
                "noise": "adversarial", "epsilon": eps, "steps": args.steps,
                "ensemble": "lite0,lite2"}
    out_dir = Path(tempfile.mkdtemp(prefix="advbench_"))
    results: list[tuple[str, dict[str, Any]]] = []

    def evaluate(name: str, originals: list[np.ndarray], protected: list[np.ndarray],
                 seconds: float, frames: int) -> dict[str, Any]:
        res: dict[str, Any] = {}
        for key, enc in attackers.items():
            vecs = enc.encode([Image.fromarray(f) for f in protected])
            res[key] = float(np.mean(top1_hits(vecs, galleries[key], g_rows, truth)))
        q = [psnr_ssim(a, b) for a, b in zip(originals, protected)]
        finite = [p for p, _ in q if np.isfinite(p)]
        res["psnr"] = float(np.mean(finite)) if finite else float("inf")
        res["ssim"] = float(np.mean([s for _, s in q]))
        res["map_kept"], res["objects"] = kept_map(scorer, originals, protected)
        res["fps"] = frames / seconds if seconds else float("nan")
        results.append((name, res))
        print(f"# {name}: {res}", flush=True)
        return res

    originals = [np.asarray(load_image(DATA / "retrieval" / r["path"])) for r in q_rows]
    if not args.no_photos:
        evaluate("none (original)", originals, originals, 0.0, 0)
    for name, params in ({} if args.no_photos else methods).items():
        make = ppedcrf_factory(lite0, g0, sens, params, "cpu", g_pos)
        protected, seconds = [], 0.0
        for r in q_rows:
            src = str(DATA / "retrieval" / r["path"])
            dst = str(out_dir / f"{name.replace(' ', '_')}_{Path(src).name}")
            outcome = protect_photo(src, dst, make(), ForegroundMasker(masker_det),
                                    ProtectOptions(method="ppedcrf", params=params,
                                                   jpeg_quality=95))
            protected.append(outcome.protected[0])
            seconds += outcome.seconds
        evaluate(name, originals, protected, seconds, len(q_rows))

    print()
    print(f"Photos: {len(q_rows)} retrieval queries, JPEG q=95 decoded; Top-1 within 25 km "
          f"(chance {chance:.3f}); steps={args.steps}")
    keys = list(attackers)
    print(f"{'method':40} " + " ".join(f"{k:>24}" for k in keys)
          + f" {'PSNR':>6} {'SSIM':>6} {'mAP kept yolo/ssd':>17} {'fps':>6}")
    for name, res in results:
        mk = res["map_kept"]
        print(f"{name:40} " + " ".join(f"{res[k]:>24.3f}" for k in keys)
              + f" {res['psnr']:>6.2f} {res['ssim']:>6.4f} {mk:>17} {res['fps']:>6.3f}")
    if not args.no_clip:
        clip(args, attackers, galleries, g0, g_pos, lite0, sens, masker_det, scorer, out_dir)


def people(args: Any) -> None:
    """Utility where there are people to detect: the first --people-frames frames of
    videos/vtest.avi through the real `protect` command (foreground detector every 5 frames,
    second detector scoring), Gaussian vs adversarial PPEDCRF. No truth for this clip, so
    privacy is the share of sampled frames whose retrieval top-1 is unchanged."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from _bench import geoprivacy_exe, protect_cli
    from tests.media_factory import cut_clip

    work = Path(tempfile.mkdtemp(prefix="advpeople_"))
    clip_path = cut_clip(DATA / "videos" / "vtest.avi", work / "vtest.mp4", args.people_frames)
    index = work / "gallery.npz"
    subprocess.run([*geoprivacy_exe(), "index", "build", str(DATA / "retrieval" / "gallery"),
                    "-o", str(index), "-q"], check=True, capture_output=True)
    configs = {"ppedcrf gaussian s0=8": []}
    for eps in [e for e in args.epsilons.split(",") if e]:
        configs[f"ppedcrf adversarial eps={eps}"] = ["--noise", "adversarial", "--epsilon", eps,
                                                     "--steps", str(args.steps)]
    print(f"\nPedestrian clip, {args.people_frames} frames (vtest.avi), via `protect`:")
    print(f"{'method':36} {'mAP kept':>8} {'objects':>7} {'PSNR':>6} {'fps':>6}  privacy")
    for name, extra in configs.items():
        r = protect_cli(clip_path, work / f"{name.replace(' ', '_')}.mp4",
                        ["--method", "ppedcrf", "--index", str(index), "--preset", "veryfast",
                         *extra])
        if "error" in r:
            print(f"{name:36} error: {r['error']}")
            continue
        mk = f"{r['map_kept']:.3f}" if r.get("map_kept") is not None else "-"
        print(f"{name:36} {mk:>8} {r.get('objects') or 0:>7} {r['psnr']:>6.1f} "
              f"{r['fps']:>6.2f}  {r['privacy']}", flush=True)


def clip(args: Any, attackers: dict[str, Any], galleries: dict[str, np.ndarray], g0: np.ndarray,
         g_pos: np.ndarray, lite0: Any, sens: Any, masker_det: Any, scorer: Any,
         out_dir: Path) -> None:
    from PIL import Image

    from geoprivacy.defenses.ppedcrf.adversarial import ppedcrf_factory
    from geoprivacy.defenses.protect.foreground import ForegroundMasker
    from geoprivacy.defenses.protect.pipeline import ProtectOptions, protect_video
    from geoprivacy.media.video import EncodeSettings

    src = out_dir / "clip.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i",
                    str(DATA / "videos" / "sample-5s.mp4"), "-frames:v", str(args.clip_frames),
                    "-an", "-c:v", "libx264", "-crf", "12", str(src)], check=True)
    methods: dict[str, dict[str, Any]] = {} if args.no_gaussian else {
        "ppedcrf gaussian s0=8": {},
        f"ppedcrf gaussian --train-sens {args.train_sens}": {"train_sens": args.train_sens}}
    for eps in [float(e) for e in args.epsilons.split(",") if e]:
        methods[f"ppedcrf adversarial eps={eps:g}"] = {"noise": "adversarial", "epsilon": eps,
                                                       "steps": args.steps}
    print()
    print(f"Clip: first {args.clip_frames} frames of sample-5s.mp4 (1080p), H.264 crf 18 "
          f"decoded; cos = clean·protected embedding (lower = attacker sees less of the place)")
    keys = list(attackers)
    print(f"{'method':40} " + " ".join(f"{'cos ' + k:>30}" for k in keys)
          + f" {'top1 same':>9} {'PSNR':>6} {'SSIM':>6} {'mAP kept yolo/ssd':>17} {'fps':>6}")
    for name, params in methods.items():
        make = ppedcrf_factory(lite0, g0, sens, params, "cpu", g_pos)
        dst = out_dir / f"clip_{name.replace(' ', '_').replace('=', '')}.mp4"
        outcome = protect_video(str(src), str(dst), make(), ForegroundMasker(masker_det),
                                ProtectOptions(method="ppedcrf", params=params, batch=4,
                                               encode=EncodeSettings(crf=18),
                                               sample_frames=args.clip_frames))
        cos = {}
        same = None
        for key, enc in attackers.items():
            a = enc.encode([Image.fromarray(f) for f in outcome.originals])
            b = enc.encode([Image.fromarray(f) for f in outcome.protected])
            cos[key] = float(np.mean(np.sum(a * b, axis=1)))
            if key.startswith("lite0"):
                same = float(np.mean(np.argmax(a @ g0.T, 1) == np.argmax(b @ g0.T, 1)))
        q = [psnr_ssim(x, y) for x, y in zip(outcome.originals, outcome.protected)]
        mk, _ = kept_map(scorer, outcome.originals, outcome.protected)
        mks = mk
        print(f"{name:40} " + " ".join(f"{cos[k]:>30.4f}" for k in keys)
              + f" {same:>9.2f} {np.mean([p for p, _ in q]):>6.2f} "
              f"{np.mean([s for _, s in q]):>6.4f} {mks:>17} "
              f"{outcome.frames / outcome.seconds:>6.3f}", flush=True)


def sens_speed(args: Any) -> None:
    """Seconds per 512-px frame of the gradient sensitivity vs its distilled student (trained on
    the first --train-sens frames of sample-5s.mp4), and how alike their maps are after."""
    from geoprivacy.attacks.retrieval.encoders import load_encoder, load_image
    from geoprivacy.defenses.ppedcrf.adversarial import resize_to
    from geoprivacy.defenses.ppedcrf.distill import DistilledSensitivity
    from geoprivacy.defenses.ppedcrf.sensitivity import AttackerSensitivity
    from geoprivacy.media.video import iter_frames

    lite0 = load_encoder("efficientnet-lite0", device="cpu")
    gallery = lite0.encode([load_image(DATA / "retrieval" / r["path"])
                            for r in rows("gallery.csv")])
    teacher = AttackerSensitivity(lite0, gallery)
    frames = [f for _, _, f in iter_frames(str(DATA / "videos" / "sample-5s.mp4"), every=4,
                                            max_frames=args.train_sens + 8)]
    small = resize_to(np.stack(frames), 512)
    student = DistilledSensitivity(teacher, train_frames=args.train_sens)
    for f in small[: args.train_sens]:
        student(f[None])
    test = small[args.train_sens:]
    t = time.perf_counter()
    ref = np.concatenate([teacher(f[None]) for f in test])
    t_teacher = (time.perf_counter() - t) / len(test)
    t = time.perf_counter()
    got = np.concatenate([student(f[None]) for f in test])
    t_student = (time.perf_counter() - t) / len(test)
    corr = np.corrcoef(ref.ravel(), got.ravel())[0, 1]
    print(f"sensitivity per 512-px frame: teacher {t_teacher:.3f} s, student {t_student:.4f} s "
          f"({t_teacher / t_student:.0f}x); training {student.stats['train_seconds']} s on "
          f"{args.train_sens} frames; held-out map correlation {corr:.3f}, MAE "
          f"{np.abs(ref - got).mean():.3f}")


if __name__ == "__main__":
    main()
