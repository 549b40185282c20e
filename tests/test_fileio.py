"""Files are written whole (atomically) and with the mode the user's umask gives."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from generator.fileio import write_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_written_file_follows_the_umask_and_leaves_no_temporary(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.txt", "一")
        os.umask(0o077)
        write_atomic(tmp_path / "b.txt", b"2")
        os.umask(0o002)
        write_atomic(tmp_path / "a.txt", "二")  # replacing a file takes the new mode too
    finally:
        os.umask(old)
    assert _mode(tmp_path / "b.txt") == 0o600
    assert _mode(tmp_path / "a.txt") == 0o664
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "二"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_a_build_is_readable_by_others_under_umask_022(tmp_path):
    # a manual on a shared folder must be readable by the people it is published to
    code = ("import os, sys; os.umask(0o022); from generator.cli import main; "
            "main(['diagram', 'EC-HR-015', '-o', sys.argv[1]])")
    out = tmp_path / "chart.svg"
    proc = subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert _mode(out) == 0o644
