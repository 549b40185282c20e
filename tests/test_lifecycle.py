"""Sign-offs bound to content: change after approval makes a 受控 flow print as 草稿."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FLOWS, ROOT

from generator.check import check_paths


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(FLOWS, tmp_path / "flows")
    return tmp_path


def leave(repo: Path):
    return check_paths([repo / "flows"], base=repo).library.flow("EC-HR-015")


def test_bundled_controlled_flows_are_bound_to_their_content():
    library = check_paths([FLOWS], base=ROOT).library
    for flow in library.flows:
        if flow.status == "受控":
            assert flow.signoff.bound_to(flow.content_hash), flow.code
            assert flow.effective_status == "受控"


def test_a_change_after_approval_warns_and_prints_as_draft_until_signed_again(repo):
    path = repo / "flows/15-leave.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("text: 填写请假条", "text: 填写请假单"),
                    encoding="utf-8")
    proc = run(["check"], repo)
    assert proc.returncode == 0  # a warning, not an error: the manual can still be built
    warnings = [line for line in proc.stderr.splitlines() if "EC-HR-015" in line or "15-leave" in line]
    assert len(warnings) == 3 and all(": warning: signoff." in w for w in warnings)
    assert "the flow has changed since" in warnings[0]
    assert leave(repo).effective_status == "草稿"
    for person, meaning, on in (("王芳", "编制", "2026-11-20"), ("李强", "审核", "2026-11-21"),
                                ("陈静", "批准", "2026-11-22")):
        proc = run(["flow", "sign", "EC-HR-015", "--as", person, "--meaning", meaning, "--on", on],
                   repo)
        assert proc.returncode == 0, proc.stderr
    flow = leave(repo)
    assert flow.effective_status == "受控"
    assert flow.signoff.approved.on.isoformat() == "2026-11-22"
    assert run(["check"], repo).stderr == ""
    assert "# HR checks the balance" in path.read_text(encoding="utf-8")  # comments survive


@pytest.mark.parametrize(("person", "meaning", "on", "message"), [
    ("王芳", "批准", "2026-11-10", "also prepared it; preparer and approver must differ"),
    ("无名氏", "审核", "2026-11-10", "'无名氏' is not a person in org.yaml"),
    ("陈静", "批准", "2026-11-01", "批准日期 2026-11-01 is before 审核日期 2026-11-05"),
])
def test_a_refused_signature_writes_nothing(repo, person, meaning, on, message):
    path = repo / "flows/15-leave.yaml"
    before = path.read_bytes()
    proc = run(["flow", "sign", "EC-HR-015", "--as", person, "--meaning", meaning, "--on", on], repo)
    assert proc.returncode == 1
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == before
