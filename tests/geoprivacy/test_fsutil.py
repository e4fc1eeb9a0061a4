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
