"""A short fuzz run in the suite: every fuzz target (``fuzz/targets.py``: each metadata parser
and each strip writer) on mutated seeds, in-process with hypothesis, plus a slow atheris run.

A target may refuse an input with a one-line GeoprivacyError; any other exception is a bug.
Crashes found by longer campaigns (``benchmarks/fuzz.py``) are kept below as regressions.
"""

from __future__ import annotations

import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.attacks.metadata import tiffbuild
from tests.corpus import SHARED_DATA

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "fuzz"))

import targets  # noqa: E402

SMALL_SEED = 96 * 1024       # in the suite: keep every execution fast


@lru_cache(maxsize=None)
def _groups() -> dict:
    return targets.corpus_by_container()


@lru_cache(maxsize=None)
def _seeds(name: str) -> tuple[bytes, ...]:
    small = [p for p in targets.seed_files(name, _groups()) if p.stat().st_size <= SMALL_SEED]
    return tuple(p.read_bytes() for p in small[:12]) + tuple(targets.builtin_seeds(name))


@lru_cache(maxsize=None)
def _target(name: str):  # type: ignore[no-untyped-def]
    return targets.make(name)


@st.composite
def mutated(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """A seed with a few byte flips, splices, truncations or integer overwrites."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 4))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == 0 and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == 1:
            del data[pos:pos + draw(st.integers(1, 64))]
        elif op == 2:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == 3:
            data[pos:pos + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00",
                                                      b"\x7f\xff\xff\xff", b"\x00\x00\x00\x01",
                                                      b"\x80\x00\x00\x00"]))
        else:
            data = data[:pos]
    return bytes(data)


@pytest.mark.parametrize("name", sorted(targets.SEEDS))
def test_target_survives_mutated_seeds(name: str) -> None:
    seeds = _seeds(name)
    assert seeds, f"no seed for {name}"
    target = _target(name)
    for seed in seeds:
        target(seed)

    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=mutated(seeds))
    def run(data: bytes) -> None:
        target(data)

    run()


# Crashes found by fuzzing, as the bytes that caused them (generated here, not stored files).
def _regressions() -> list[tuple[str, bytes]]:
    # parse_gpx, atheris 2026-11-25: a track whose first point has an unreadable longitude put
    # NaN into the evidence detail ("first_in_file"), so `audit --format json` wrote `NaN`,
    # which is not JSON. Fixed in attacks/metadata/gpx.py (_fix_dict).
    gpx_nan = (b'<?xml version="1.0"?><gpx xmlns="http://www.topografix.com/GPX/1/0" '
               b'version="1.0"><trk><trkseg>'
               b'<trkpt lat="43.641000" lon="-116.0622\xc6\xc631"><ele>1472.4</ele>'
               b'<time>2003-05-24T17:10:05Z</time></trkpt>'
               b'<trkpt lat="43.641086" lon="-116.062059"><time>2003-05-24T17:09:55Z</time>'
               b'</trkpt><trkpt lat="43.641450" lon="-116.061802"><time>2003-05-24T1\xde\xde'
               b'7:09:46Z</time></trkpt></trkseg></trk></gpx>\n')
    # parse_kml, found by the oracle's probe of text parsers: an altitude of 1e999, inf or nan
    # in <coordinates> or <gx:coord> reached the report as Infinity/NaN. Fixed in kml._tuples.
    kml_inf = (b'<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/'
               b'kml/ext/2.2"><Placemark><Point><coordinates>11.5,48.1,1e999</coordinates>'
               b'</Point></Placemark><Placemark><LineString><coordinates>11.5,48.1,inf '
               b'11.6,48.2,nan</coordinates></LineString></Placemark><Placemark><gx:Track>'
               b'<when>2020-01-01T00:00:00Z</when><gx:coord>11.5 48.1 -inf</gx:coord>'
               b'</gx:Track></Placemark></kml>')
    # parse_isobmff, same probe: an ISO 6709 altitude of 400 digits overflowed to inf.
    # Fixed in quicktime.parse_iso6709.
    loc = b"+12.3456+045.6789+" + b"9" * 400 + b".9/"
    xyz = b"\xa9xyz" + len(loc).to_bytes(2, "big") + b"\x15\xc7" + loc
    xyz = (8 + len(xyz) - 4).to_bytes(4, "big") + xyz
    udta = (8 + len(xyz)).to_bytes(4, "big") + b"udta" + xyz
    moov = (8 + len(udta)).to_bytes(4, "big") + b"moov" + udta
    iso_inf = b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00" + moov
    # strip_jpeg, atheris 2026-11-25 (out of memory): an Extended XMP segment declaring a full
    # length of ~1.9 GB sized a bytearray before any check. Fixed in defenses/strip/jpeg.py.
    ext = (b"http://ns.adobe.com/xmp/extension/\x00" + b"0" * 32
           + (0xF0000000).to_bytes(4, "big") + (0).to_bytes(4, "big") + b"<x:xmpmeta/>")
    app1 = b"\xff\xe1" + (len(ext) + 2).to_bytes(2, "big") + ext
    xmp_oom = b"\xff\xd8" + app1 + b"\xff\xda\x00\x02\x12\x34\xff\xd9"
    # parse_gpx, atheris 2026-11-25: an XML encoding name longer than the 40 characters the
    # pre-check reads reached expat, whose LookupError no handler caught: `audit` crashed.
    # Fixed in textio.xml_events (and LookupError joined the attacker's last-resort handlers).
    gpx_enc = (b'<?xml version="1.0" encoding="ISO' + b"a" * 60 + b'-8859-1"?><gpx><trk><trkseg>'
               b'<trkpt lat="43.6" lon="-116.0"/></trkseg></trk></gpx>')
    return [("parse_gpx", gpx_nan), ("parse_kml", kml_inf), ("parse_isobmff", iso_inf),
            ("strip_jpeg", xmp_oom), ("parse_gpx", gpx_enc),
            # strip_jpeg, atheris 2026-11-25: SOI then fill bytes to the end read past the
            # buffer (IndexError). Fixed in defenses/strip/jpeg.parse_segments.
            ("strip_jpeg", b"\xff\xd8\xff\xff"),
            # parse_tiff, atheris 2026-11-25 (minutes after GeoTIFF landed): a GeoKeyDirectory
            # of type UNDEFINED decoded to bytes, which int() refused (ValueError). Fixed in
            # attacks/metadata/geotiff.decode.
            ("parse_tiff", tiffbuild.build([[(33922, tiffbuild.DOUBLE, [0, 0, 0, 13.9, 47.8, 0]),
                                             (34735, tiffbuild.UNDEF, bytes(range(16)))]])),
            # strip_isobmff, atheris 2026-11-25: the corpus' QuickTime.mov made fragmented
            # ('udta' → 'mvex') with a track to drop went to the remux fallback, where PyAV
            # decoded a tag of 0xFF bytes as UTF-8 (UnicodeDecodeError). Fixed in bmff_remux.
            ("strip_isobmff", _patched(SHARED_DATA / "videos" / "QuickTime.mov", {
                287: b"uuid", 1322: b"1", 1822: b"\1\0\0\0", 1828: b"\3F", 1969: b"\x0e",
                2064: b"mvex", 3173: b"f", 3479: b")", 3572: b"\xff" * 7 + b"\3"}))]


def _patched(path: Path, changes: dict[int, bytes]) -> bytes:
    data = bytearray(path.read_bytes())
    for at, new in changes.items():
        data[at:at + len(new)] = new
    return bytes(data)


def _run_regression(task: tuple[str, bytes]) -> str:
    _target(task[0])(task[1])
    return "ok"


@pytest.mark.parametrize("name,data", _regressions() or [
    pytest.param("", b"", marks=pytest.mark.skip(reason="no crash found so far"))])
def test_fuzz_regressions(name: str, data: bytes, tmp_path: Path) -> None:
    from geoprivacy.pool import Budget, run_pool
    # in a worker under a memory and time budget: an unbounded allocation fails, not the box
    outcome = list(run_pool(_run_regression, [(name, data)], jobs=1,
                            budget=Budget(seconds=60, memory_mb=512),
                            on_fail=lambda task, reason: reason,
                            initializer=_target, initargs=(name,)))   # imports before the limit
    assert outcome == ["ok"]
    if name.startswith("parse_"):            # and the CLI's JSON report is strict JSON
        import json

        from click.testing import CliRunner

        from geoprivacy.cli import main
        path = tmp_path / "regression.bin"
        path.write_bytes(data)
        out = CliRunner().invoke(main, ["audit", str(path), "--format", "json", "--detail"])

        def refuse(token: str) -> None:
            raise AssertionError(f"report holds {token}, which is not JSON")
        json.loads(out.output, parse_constant=refuse)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(targets.SEEDS))
def test_atheris_short_campaign(name: str) -> None:
    pytest.importorskip("atheris")
    proc = subprocess.run([sys.executable, str(REPO / "fuzz" / "run.py"), name, "-runs=2000",
                           "-timeout=10", "-rss_limit_mb=2048"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done 2000 runs" in proc.stderr
