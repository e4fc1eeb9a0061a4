"""Photos per second: `geoprivacy strip` vs `exiftool -gps:all= -xmp:all= -iptc:all= -o DIR`.

The corpus photos that both tools write (photos/ and retrieval/gallery/ of the shared data) are
hard-linked into a temporary directory over and over until there are ``--files`` of them; each
tool then cleans the whole directory in one process into a fresh output folder (median of
``--repeat`` runs after a warm-up). geoprivacy's time includes re-auditing every output.

Afterwards, on one output per distinct source: decoded pixels (Pillow) compared with the input,
and our metadata attacker run on both tools' outputs to count files that still leak.
mat2 is measured too when its ``mat2`` command is installed.

    python benchmarks/strip.py [--files 300] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import SHARED_DATA, repeated_dir  # noqa: E402
WRITABLE = {"JPEG", "TIFF", "PNG", "WebP"}   # containers exiftool and geoprivacy both rewrite


def sources() -> list[Path]:
    from geoprivacy.audit import identify

    manifest = json.loads((SHARED_DATA / "MANIFEST.json").read_text())
    out = []
    for e in manifest:
        path = SHARED_DATA / e["path"]
        if e["kind"] == "photo" and path.is_file() and identify(str(path)).container in WRITABLE:
            out.append(path)
    return sorted(out)


def timed(make_cmd, out_dir: Path, repeat: int, ok: tuple[int, ...]) -> float:  # type: ignore[no-untyped-def]
    times = []
    for attempt in range(repeat + 1):
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir(parents=True)
        cmd = make_cmd(out_dir)
        started = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode not in ok:
            sys.exit(f"{cmd[0]} failed with exit {done.returncode}: {done.stderr.strip()[-400:]}")
        if attempt:
            times.append(elapsed)
    return statistics.median(times)


def pixels_equal(a: Path, b: Path) -> bool | None:
    from PIL import Image

    try:
        with Image.open(a) as im:
            before = im.tobytes()
    except Exception:  # noqa: BLE001 - undecodable input: nothing to compare
        return None
    with Image.open(b) as im:
        return im.tobytes() == before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    exiftool = shutil.which("exiftool")
    geo = Path(sys.executable).with_name("geoprivacy")
    if not exiftool or not geo.exists():
        sys.exit("needs exiftool and the geoprivacy console script")
    from geoprivacy.defenses.strip.engine import audit

    srcs = sources()
    with tempfile.TemporaryDirectory(prefix="strip-bench-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir(parents=True)
        files = repeated_dir(srcs, args.files, root / "in")
        ours_dir, exif_dir, mat2_dir = root / "ours", root / "exiftool", root / "mat2"
        ours = timed(lambda d: [str(geo), "strip", str(root / "in"), "-o", str(d), "-q"],
                     ours_dir, args.repeat, (0,))
        theirs = timed(lambda d: [exiftool, "-q", "-q", "-gps:all=", "-xmp:all=", "-iptc:all=",
                                  "-o", f"{d}/", str(root / "in")], exif_dir, args.repeat, (0, 1))
        mat2 = shutil.which("mat2")
        mat2_s = None
        if mat2:
            def mat2_cmd(d: Path) -> list[str]:
                for f in files:
                    shutil.copyfile(f, d / f.name)
                return [mat2, "--inplace", *map(str, sorted(d.iterdir()))]
            mat2_s = timed(mat2_cmd, mat2_dir, args.repeat, (0,))
        sample = files[:len(srcs)]
        pix = [pixels_equal(f, ours_dir / f.name) for f in sample]
        leaks = {"geoprivacy": [f.name.split("_", 1)[1] for f in sample
                                if audit(str(ours_dir / f.name)).has_location],
                 "exiftool": [f.name.split("_", 1)[1] for f in sample
                              if audit(str(exif_dir / f.name)).has_location]}
    result = {
        "files": args.files, "distinct_sources": len(srcs), "repeat": args.repeat,
        "geoprivacy_s": round(ours, 3), "exiftool_s": round(theirs, 3),
        "geoprivacy_files_per_s": round(args.files / ours, 1),
        "exiftool_files_per_s": round(args.files / theirs, 1),
        "speedup_vs_exiftool": round(theirs / ours, 2),
        "mat2_s": None if mat2_s is None else round(mat2_s, 3),
        "mat2": "measured" if mat2 else "not installed (mat2 needs PyGObject and GExiv2)",
        "pixels_identical": sum(1 for p in pix if p), "pixels_differ": sum(1 for p in pix
                                                                          if p is False),
        "pixels_not_decodable": sum(1 for p in pix if p is None),
        "still_leaking_after": leaks,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:26} {value}")


if __name__ == "__main__":
    main()
