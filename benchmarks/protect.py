"""Speed and memory of `geoprivacy protect`, against deface and against the PyAV floor.

    python benchmarks/protect.py [--frames N] [--methods blur,mosaic,noise,mask,ppedcrf]

On the same clips (the shared 1080p street clip, all 171 frames or the first N, and a 720p
copy):
frames/s of each method (foreground detector every 5 frames, H.264 veryfast), of `deface`
(CenterFace face blurring, the usual peer) and of a bare PyAV decode+encode (the floor), printed
as ratios; then the peak memory of a short clip and of a 10x longer one (concatenated), which
should be about equal since frames stream in batches.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("GEOPRIVACY_SHARED_DATA", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO / "benchmarks"))

from _bench import protect_cli, timed_rss  # noqa: E402


def make_clips(work: Path, frames: int) -> dict[str, Path]:
    """1080p: the first ``frames`` frames of sample-5s.mp4; 720p: the same, scaled."""
    import av
    import cv2

    out = {"1080p": work / "c1080.mp4", "720p": work / "c720.mp4"}
    with av.open(str(DATA / "videos" / "sample-5s.mp4")) as inp, \
            av.open(str(out["1080p"]), "w") as o1, av.open(str(out["720p"]), "w") as o2:
        streams = []
        for o, (w, h) in ((o1, (1920, 1080)), (o2, (1280, 720))):
            s = o.add_stream("libx264", rate=30)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.options = {"preset": "veryfast", "crf": "18"}
            streams.append((o, s, (w, h)))
        for i, frame in enumerate(inp.decode(video=0)):
            if frames and i >= frames:
                break
            rgb = frame.to_ndarray(format="rgb24")
            for o, s, (w, h) in streams:
                img = rgb if w == 1920 else cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
                vf = av.VideoFrame.from_ndarray(img, format="rgb24")
                vf.pts = i
                for p in s.encode(vf.reformat(format="yuv420p")):
                    o.mux(p)
        for o, s, _ in streams:
            for p in s.encode(None):
                o.mux(p)
    return out


def longer(clip: Path, times: int, work: Path) -> Path:
    """``clip`` repeated ``times`` times (stream copy concatenation with PyAV)."""
    import av

    dst = work / f"{clip.stem}_x{times}.mp4"
    with av.open(str(dst), "w") as out:
        stream = None
        offset = 0
        for _ in range(times):
            with av.open(str(clip)) as inp:
                vin = inp.streams.video[0]
                if stream is None:
                    stream = out.add_stream_from_template(vin)
                last = 0
                for packet in inp.demux(vin):
                    if packet.dts is None:
                        continue
                    packet.pts += offset
                    packet.dts += offset
                    last = max(last, packet.pts + (packet.duration or 0))
                    packet.stream = stream
                    out.mux(packet)
                offset = last
    return dst


def frame_count(clip: Path) -> int:
    import av
    with av.open(str(clip)) as c:
        return sum(1 for _ in c.decode(video=0))


def run_protect(clip: Path, method: str, work: Path) -> dict[str, object]:
    row = protect_cli(clip, work / f"{clip.stem}-{method}.mp4",
                      ["--method", method, "--preset", "veryfast"])
    return {"method": method, **row, "fps_total": row["fps"]} if "error" not in row \
        else {"method": method, "error": row["error"]}


def run_floor(clip: Path, work: Path) -> dict[str, object]:
    code = ("import sys; from geoprivacy.media.video import transcode, EncodeSettings; "
            "transcode(sys.argv[1], sys.argv[2], lambda a, i: a, "
            "settings=EncodeSettings(preset='veryfast'))")
    seconds, peak, proc = timed_rss([sys.executable, "-c", code, str(clip),
                                     str(work / f"{clip.stem}-floor.mp4")])
    if proc.returncode:
        return {"method": "PyAV floor", "error": proc.stderr.strip()[-200:]}
    return {"method": "PyAV decode+encode (floor)", "seconds": seconds,
            "fps_total": frame_count(clip) / seconds, "peak_mib": peak / 1024}


def run_deface(clip: Path, work: Path) -> dict[str, object]:
    exe = shutil.which("deface") or str(Path(sys.executable).parent / "deface")
    if not Path(exe).exists():
        return {"method": "deface", "error": "deface is not installed"}
    seconds, peak, proc = timed_rss([exe, str(clip), "-o",
                                     str(work / f"{clip.stem}-deface.mp4")])
    if proc.returncode:
        return {"method": "deface", "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return {"method": "deface", "seconds": seconds, "fps_total": frame_count(clip) / seconds,
            "peak_mib": peak / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=0, help="first N frames (default: all)")
    ap.add_argument("--methods", default="blur,mosaic,noise,mask,ppedcrf")
    ap.add_argument("--resolutions", default="720p,1080p")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clips = make_clips(work, args.frames)
        for res in args.resolutions.split(","):
            clip = clips[res]
            rows = [run_floor(clip, work), run_deface(clip, work)]
            rows += [run_protect(clip, m, work) for m in args.methods.split(",")]
            deface = next((r for r in rows if r["method"] == "deface" and "fps_total" in r), None)
            floor = rows[0] if "fps_total" in rows[0] else None
            print(f"\n{res}, {frame_count(clip)} frames (end-to-end fps incl. model loading "
                  f"and verification; 'pipeline' = processing+encoding only)")
            print(f"{'method':28} {'fps':>6} {'pipeline':>8} {'vs deface':>9} {'vs floor':>8} "
                  f"{'peak MiB':>8} {'PSNR':>6} {'mAP kept':>8}")
            for r in rows:
                if "error" in r:
                    print(f"{r['method']:28} error: {r['error']}")
                    continue
                fps = r["fps_total"]
                vs_d = f"{fps / deface['fps_total']:.2f}x" if deface else "-"
                vs_f = f"{fps / floor['fps_total']:.2f}x" if floor else "-"
                pipe = f"{r['fps_pipeline']:.2f}" if r.get("fps_pipeline") else "-"
                psnr = f"{r['psnr']:.1f}" if r.get("psnr") is not None else "-"
                kept = f"{r['map_kept']:.3f}" if r.get("map_kept") is not None else "-"
                print(f"{r['method']:28} {fps:6.2f} {pipe:>8} {vs_d:>9} {vs_f:>8} "
                      f"{r['peak_mib']:8.0f} {psnr:>6} {kept:>8}")
        short = clips["720p"]
        long = longer(short, 10, work)
        print(f"\npeak memory, blur, 720p: {frame_count(short)} frames vs {frame_count(long)} "
              "frames")
        for clip in (short, long):
            r = run_protect(clip, "blur", work)
            if "error" in r:
                print(f"  {clip.name}: error {r['error']}")
            else:
                print(f"  {clip.name:20} {r['peak_mib']:8.0f} MiB  {r['fps_total']:.2f} fps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
