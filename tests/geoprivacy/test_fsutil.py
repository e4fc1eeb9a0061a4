"""Private temp folders: a new run sweeps what a killed one left, never a live run's."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile

from geoprivacy.fsutil import private_temp_dir


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_folders_of_dead_runs_are_removed_live_ones_kept() -> None:
    root = tempfile.gettempdir()
    stale = tempfile.mkdtemp(prefix=f"geoprivacy-fetch-{_dead_pid()}-", dir=root)
    with open(os.path.join(stale, "left.jpg"), "wb") as fh:
        fh.write(b"x")
    live = tempfile.mkdtemp(prefix=f"geoprivacy-fetch-{os.getppid()}-", dir=root)
    other_kind = tempfile.mkdtemp(prefix=f"geoprivacy-dataset-{_dead_pid()}-", dir=root)
    try:
        made = private_temp_dir("fetch")
        assert not os.path.exists(stale)
        assert os.path.isdir(live) and os.path.isdir(other_kind)
        assert os.path.basename(made).startswith(f"geoprivacy-fetch-{os.getpid()}-")
        assert stat.S_IMODE(os.stat(made).st_mode) == 0o700
        os.rmdir(made)
    finally:
        for path in (live, other_kind):
            os.rmdir(path)


def test_outputs_get_the_mode_open_would_give(tmp_path) -> None:
    from geoprivacy.fsutil import atomic_path, atomic_write

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "out.mp4") as path:
            open(path, "wb").close()
        with atomic_write(tmp_path / "report.json") as fh:
            fh.write("{}")
        assert stat.S_IMODE(os.stat(tmp_path / "out.mp4").st_mode) == 0o644
        assert stat.S_IMODE(os.stat(tmp_path / "report.json").st_mode) == 0o644
        os.umask(0o077)
        with atomic_path(tmp_path / "private.png") as path:
            open(path, "wb").close()
        assert stat.S_IMODE(os.stat(tmp_path / "private.png").st_mode) == 0o600
        os.chmod(tmp_path / "out.mp4", 0o640)       # replacing a file keeps its mode
        with atomic_path(tmp_path / "out.mp4") as path:
            open(path, "wb").close()
        assert stat.S_IMODE(os.stat(tmp_path / "out.mp4").st_mode) == 0o640
    finally:
        os.umask(old)
