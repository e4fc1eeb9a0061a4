"""HTML report: golden output, self-contained and escaped, rendered in headless Chromium."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from geoprivacy.report import RunReport
from geoprivacy.reports import WriteOptions
from geoprivacy.reports.html import write
from geoprivacy.types import Evidence, EvidenceKind, FileResult
from tests.reports.gate_golden import check_golden, run

REPO = Path(__file__).resolve().parents[2]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("data:"):
                self.external.append(value)


def parse(text: str) -> _Tags:
    p = _Tags()
    p.feed(text)
    return p


def test_golden_html_is_self_contained_and_redacted() -> None:
    text = check_golden("html")
    tags = parse(text)
    assert "script" not in tags.tags and tags.external == []
    assert tags.tags.count("svg") == 2                       # map + histogram
    assert "Content-Security-Policy" in text
    assert "54.98" not in text and "-1.91" not in text
    assert "positions rounded to 10° cells" in text
    assert text.count('class="file"') == 5


def test_show_coordinates_puts_points_on_the_map() -> None:
    _, text = run("html", "--show-coordinates")
    assert "exact positions" in text
    cx = [float(v) for v in re.findall(r'<circle cx="([0-9.]+)"', text)]
    assert round((-1.91416666666667 + 180) * 2, 1) in cx       # GPS.jpg at 2 px per degree


def test_names_are_escaped() -> None:
    ev = Evidence("metadata", EvidenceKind.POSITION, "EXIF:<b>", 10.0, 20.0)
    report = RunReport("gate", (FileResult("<script>alert(1)</script>.jpg", "photo", "JPEG",
                                           "ok", evidence=(ev,)),))
    buf = io.StringIO()
    write(buf, report, WriteOptions(redact=True))
    assert "<script>" not in buf.getvalue() and "&lt;script&gt;" in buf.getvalue()


def test_thumbnails_only_on_request_and_blurred_unless_coordinates_shown(tmp_path: Path) -> None:
    from PIL import Image
    img = Image.new("RGB", (64, 64), "white")
    for x in range(0, 64, 4):                                # sharp stripes
        for y in range(64):
            img.putpixel((x, y), (0, 0, 0))
    img.save(tmp_path / "p.jpg")
    report = RunReport("gate", (FileResult(str(tmp_path / "p.jpg"), "photo", "JPEG", "ok"),))

    def render(**kw: bool) -> str:
        buf = io.StringIO()
        write(buf, report, WriteOptions(verbose=True, **kw))
        return buf.getvalue()
    assert "data:image/jpeg" not in render(redact=True)
    blurred = render(redact=True, thumbnails=True)
    sharp = render(redact=False, thumbnails=True)
    assert 'alt="blurred thumbnail"' in blurred and 'alt="thumbnail"' in sharp

    def stripes(text: str) -> float:
        import base64
        match = re.search(r'data:image/jpeg;base64,([^"]+)"', text)
        assert match is not None
        data = match.group(1)
        import numpy as np
        values = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("L"))
        return float(values.max()) - float(values.min())
    assert stripes(blurred) < stripes(sharp) / 2


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(chromium() is None, reason="headless Chromium is not installed "
                    "(Debian: apt-get install chromium)")
def test_renders_in_headless_chromium_without_console_errors(tmp_path: Path) -> None:
    page = tmp_path / "gate-report.html"
    from geoprivacy import __version__
    page.write_text(run("html")[1].replace("<version>", __version__))
    shot = tmp_path / "gate-report.png"
    profile = tempfile.mkdtemp(prefix="geoprivacy-chromium-")
    try:
        out = subprocess.run(
            [str(chromium()), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--window-size=1100,1500",
             f"--screenshot={shot}", "--enable-logging=stderr", "--v=0", page.as_uri()],
            capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert shot.exists() and shot.stat().st_size > 10_000, out.stderr[-2000:]
    console = [ln for ln in out.stderr.splitlines() if "CONSOLE" in ln or "Refused" in ln
               or "Uncaught" in ln]
    assert console == [], console
    from PIL import Image
    with Image.open(shot) as img:
        assert img.size == (1100, 1500)
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 20      # text and plots, not blank
    if os.environ.get("GEOPRIVACY_UPDATE_GOLDEN"):
        (REPO / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, REPO / "docs" / "img" / "gate-report.png")


def test_a_16_bit_photo_thumbnail_is_stretched_not_white(tmp_path: Path) -> None:
    import base64

    import numpy as np
    from PIL import Image
    ramp = np.linspace(1000, 60000, 64 * 64).reshape(64, 64).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "band.png")           # mode I;16
    report = RunReport("gate", (FileResult(str(tmp_path / "band.png"), "photo", "PNG", "ok"),))
    buf = io.StringIO()
    write(buf, report, WriteOptions(verbose=True, redact=False, thumbnails=True))
    match = re.search(r'data:image/jpeg;base64,([^"]+)"', buf.getvalue())
    assert match is not None
    values = np.asarray(Image.open(io.BytesIO(base64.b64decode(match.group(1)))).convert("L"))
    assert values.min() < 30 and values.max() > 220              # the whole ramp, not a page
