"""One self-contained HTML page: summary, findings per file, a map scatter, a level histogram.

No scripts and no external resources (a Content-Security-Policy forbids them), so the page can
be attached to a CI run and opened anywhere. Coordinates are hidden unless asked for: the map
then shows 10° cells instead of points, and thumbnails (``--thumbnails``) are blurred.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from html import escape
from typing import Any, TextIO

from geoprivacy.report import RunReport
from geoprivacy.reports import WriteOptions
from geoprivacy.reports.table import describe, status_word
from geoprivacy.types import FileResult, Granularity

LEVELS = [g for g in Granularity if g is not Granularity.NONE]
W, H = 720, 360            # map size (equirectangular: 2 px per degree)
REDACT_CELL_DEG = 10.0
THUMB_PX = 160
THUMB_CONTAINERS = ("JPEG", "PNG", "WebP")   # what Pillow decodes without noisy C warnings

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d232a}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:#5b6570}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #d6dbe0;border-radius:8px;padding:10px 14px;min-width:110px}
.card b{display:block;font-size:22px}.bad{color:#b3261e}.warn{color:#8a5a00}.ok{color:#1b7a3a}
table{border-collapse:collapse;width:100%;margin:6px 0}
td,th{border-bottom:1px solid #e3e6ea;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f4f6f8}.file{margin:14px 0;padding:10px 12px;border:1px solid #e3e6ea;
border-radius:8px}.file h3{font-size:14px;margin:0 0 6px;word-break:break-all}
.tag{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:600}
.t-FINDING,.t-LEAKS{background:#fde7e5;color:#b3261e}.t-NOT{background:#fff3d6;color:#8a5a00}
.t-clean,.t-no,.t-accepted{background:#e5f4ea;color:#1b7a3a}.t-skipped{background:#eee;color:#555}
.plots{display:flex;gap:24px;flex-wrap:wrap}svg{border:1px solid #d6dbe0;border-radius:6px}
img.thumb{float:right;margin-left:12px;border-radius:4px}
"""


def write(stream: TextIO, report: RunReport, options: WriteOptions) -> None:
    s = report.summary()
    policy = report.policy or {}
    title = f"geoprivacy {report.command} report"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        'style-src \'unsafe-inline\'; img-src data:">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<div class="muted">{escape(report.tool.get("name", ""))} '
        f'{escape(str(report.tool.get("version", "")))}'
        + (f" · policy {escape(str(policy.get('name')))} · audience "
           f"{escape(str(policy.get('audience')))}" if policy else "")
        + f" · exit code {s['exit_code']}</div>",
        _cards(s),
        "<h2>Where and how precisely</h2>",
        '<div class="plots">', _scatter(report, options.redact), _histogram(report), "</div>",
        "<h2>Files</h2>",
    ]
    shown = [f for f in report.files if f.status != "skipped" or options.verbose]
    if options.quiet:
        shown = [f for f in shown if f.findings or f.status == "error" or f.has_location]
    parts.extend(_file(f, options) for f in shown)
    if not shown:
        parts.append('<p class="muted">No files to show.</p>')
    parts.append("</body></html>\n")
    stream.write("\n".join(parts))


def _cards(s: dict[str, Any]) -> str:
    cards = [("files", s["files"], ""), ("findings", s["findings"], "bad" if s["findings"] else
                                         "ok"),
             ("suppressed", s.get("suppressed", 0), "muted"),
             ("not checked", s["error"], "warn" if s["error"] else "ok"),
             ("leak a location", s["with_location"], "bad" if s["with_location"] else "ok"),
             ("skipped", s["skipped"], "muted")]
    body = "".join(f'<div class="card"><b class="{c}">{v}</b>{escape(k)}</div>'
                   for k, v, c in cards)
    return f'<div class="cards">{body}</div>'


def _points(report: RunReport, redact: bool) -> list[tuple[float, float, bool]]:
    """(lat, lon, is a finding) per located evidence; snapped to cells when redacted."""
    out: set[tuple[float, float, bool]] = set()
    for f in report.files:
        flagged = {id(x.evidence) for x in f.findings if x.suppressed is None}
        for ev in f.evidence:
            if not ev.is_location or ev.lat is None or ev.lon is None:
                continue
            lat, lon = ev.lat, ev.lon
            if redact:
                c = REDACT_CELL_DEG
                lat = (lat // c) * c + c / 2
                lon = (lon // c) * c + c / 2
            out.add((round(lat, 5), round(lon, 5), id(ev) in flagged))
    return sorted(out)


def _scatter(report: RunReport, redact: bool) -> str:
    pts = _points(report, redact)
    grid = []
    for lon in range(-180, 181, 30):
        x = (lon + 180) * W / 360
        grid.append(f'<line x1="{x:.0f}" y1="0" x2="{x:.0f}" y2="{H}" stroke="#e6eaee"/>')
        if -180 < lon < 180:
            grid.append(f'<text x="{x + 2:.0f}" y="{H - 4}" font-size="10" fill="#8a939c">'
                        f'{abs(lon)}°{"E" if lon > 0 else "W" if lon < 0 else ""}</text>')
    for lat in range(-90, 91, 30):
        y = (90 - lat) * H / 180
        grid.append(f'<line x1="0" y1="{y:.0f}" x2="{W}" y2="{y:.0f}" stroke="#e6eaee"/>')
        if -90 < lat < 90:
            grid.append(f'<text x="3" y="{y - 3:.0f}" font-size="10" fill="#8a939c">'
                        f'{abs(lat)}°{"N" if lat > 0 else "S" if lat < 0 else ""}</text>')
    grid.append(f'<line x1="0" y1="{H / 2:.0f}" x2="{W}" y2="{H / 2:.0f}" stroke="#c9d1d9"/>')
    dots = []
    for lat, lon, flagged in pts:
        x, y = (lon + 180) * W / 360, (90 - lat) * H / 180
        colour = "#b3261e" if flagged else "#1f6feb"
        size = 7 if redact else 4
        dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size}" fill="{colour}" '
                    f'fill-opacity="0.6"><title>{"finding" if flagged else "location"}'
                    f'</title></circle>')
    note = (f"positions rounded to {REDACT_CELL_DEG:g}° cells (--show-coordinates for points)"
            if redact else "exact positions")
    return (f'<figure><svg role="img" aria-label="map of leaked locations" width="{W}" '
            f'height="{H}" viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg">'
            f'<rect width="{W}" height="{H}" fill="#fbfcfd"/>{"".join(grid)}{"".join(dots)}'
            f'</svg><figcaption class="muted">Leaked locations ({len(pts)}), equirectangular; '
            f'red: findings; {escape(note)}.</figcaption></figure>')


def _histogram(report: RunReport) -> str:
    findings = [x for f in report.files for x in f.findings]
    reached = Counter(x.reached for x in findings)
    allowed = Counter(x.allowed for x in findings)
    top = max([1, *reached.values(), *allowed.values()])
    bw, gap, plot_h, left = 22, 18, 200, 34
    width = left + len(LEVELS) * (2 * bw + gap) + 10
    bars = [f'<line x1="{left}" y1="{plot_h}" x2="{width}" y2="{plot_h}" stroke="#888"/>',
            f'<text x="4" y="12" font-size="11">{top}</text>',
            f'<text x="4" y="{plot_h}" font-size="11">0</text>']
    for i, level in enumerate(LEVELS):
        x0 = left + i * (2 * bw + gap) + gap / 2
        for j, (counter, colour, label) in enumerate(((reached, "#b3261e", "reached"),
                                                      (allowed, "#1b7a3a", "allowed"))):
            n = counter.get(level, 0)
            h = n / top * (plot_h - 20)
            bars.append(f'<rect x="{x0 + j * bw:.0f}" y="{plot_h - h:.1f}" width="{bw - 2}" '
                        f'height="{h:.1f}" fill="{colour}"><title>{label} {level.value}: {n}'
                        f'</title></rect>')
        bars.append(f'<text x="{x0 + bw:.0f}" y="{plot_h + 16}" font-size="11" '
                    f'text-anchor="middle">{level.value}</text>')
    legend = (f'<rect x="{left}" y="{plot_h + 28}" width="10" height="10" fill="#b3261e"/>'
              f'<text x="{left + 14}" y="{plot_h + 37}" font-size="11">reached</text>'
              f'<rect x="{left + 80}" y="{plot_h + 28}" width="10" height="10" fill="#1b7a3a"/>'
              f'<text x="{left + 94}" y="{plot_h + 37}" font-size="11">allowed</text>')
    return (f'<figure><svg role="img" aria-label="levels reached versus allowed" '
            f'width="{width}" height="{plot_h + 46}" xmlns="http://www.w3.org/2000/svg">'
            f'{"".join(bars)}{legend}</svg><figcaption class="muted">Findings by level reached '
            f'vs allowed ({len(findings)} findings).</figcaption></figure>')


def _file(f: FileResult, options: WriteOptions) -> str:
    word = status_word(f)
    thumb = _thumbnail(f, blur=options.redact) if options.thumbnails else ""
    rows = []
    for x in f.findings:
        state = f"suppressed: {x.suppressed}" if x.suppressed else x.severity
        rows.append(f"<tr><td><b>{escape(x.rule_id)}</b><br><span class=muted>"
                    f"{escape(state)}</span></td><td>{escape(x.reached.value)} &gt; "
                    f"{escape(x.allowed.value)}</td><td>{escape(x.explanation)}<br>"
                    f"<span class=muted>{escape(describe(x.evidence, options.redact))} · "
                    f"{escape(x.fingerprint)}</span></td></tr>")
    table = ("<table><tr><th>rule</th><th>reached &gt; allowed</th><th>why</th></tr>"
             + "".join(rows) + "</table>") if rows else ""
    other = [describe(ev, options.redact) + f" ({ev.where})" for ev in f.evidence
             if ev.is_location and not any(x.evidence is ev for x in f.findings)]
    extra = "".join(f"<li>{escape(t)}</li>" for t in other)
    errs = "".join(f"<li>{escape(e)}</li>" for e in f.errors)
    return (f'<section class="file">{thumb}<h3><span class="tag t-{escape(word.split()[0])}">'
            f'{escape(word)}</span> {escape(f.path)} <span class="muted">'
            f'[{escape(f.container)}]</span></h3>{table}'
            + (f"<div class=muted>Within policy:</div><ul>{extra}</ul>" if extra else "")
            + (f"<div class=warn>Problems:</div><ul>{errs}</ul>" if errs else "")
            + "</section>")


def _rgb8(img: Any) -> Any:
    """8-bit RGB; a 16-bit band stretched as a viewer shows it (needs numpy, else clipped)."""
    try:
        from geoprivacy.cues.frames import to_rgb8
    except ImportError:
        return img.convert("RGB")
    return to_rgb8(img)


def _thumbnail(f: FileResult, blur: bool) -> str:
    """A small JPEG data URI of a photo; blurred when coordinates are hidden."""
    if f.container not in THUMB_CONTAINERS or "!/" in f.path:
        return ""
    try:
        from PIL import Image, ImageFilter, ImageOps
    except ImportError:
        return ""
    try:
        with Image.open(f.path) as img:
            if img.width * img.height > 100_000_000:
                return ""
            img.thumbnail((THUMB_PX, THUMB_PX))
            small = _rgb8(ImageOps.exif_transpose(img))
        if blur:
            small = small.filter(ImageFilter.GaussianBlur(radius=max(4, THUMB_PX // 16)))
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=70)   # re-encoded: no metadata is copied
    except (OSError, ValueError, Image.DecompressionBombError):
        return ""
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<img class="thumb" alt="{"blurred " if blur else ""}thumbnail" '
            f'src="data:image/jpeg;base64,{data}" width="{small.width}" '
            f'height="{small.height}">')
