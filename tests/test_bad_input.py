"""Hostile and broken input: a located one-line error in bounded time, never a traceback."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FLOWS, ROOT

VALID = (ROOT / "tests/broken/_valid.yaml.txt").read_text(encoding="utf-8")


def run_check(folder: Path, *args: str, memory_mb: int = 512) -> subprocess.CompletedProcess:
    """``flowdoc check`` as a real process with a memory ceiling, so a bomb cannot hide."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    return subprocess.run(
        [sys.executable, "-m", "generator", "check", *args], cwd=folder, capture_output=True,
        text=True, timeout=60, preexec_fn=limit, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"},
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    shutil.copy(ROOT / "tests/broken/org.yaml", tmp_path / "flows/org.yaml")
    return tmp_path


def assert_one_line(proc: subprocess.CompletedProcess, expected: str) -> None:
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [expected], proc.stderr


def test_a_fifty_megabyte_file_is_refused_unread(folder):
    with open(folder / "flows/huge.yaml", "wb") as out:
        out.write(b"code: EC-HR-101\nnotes: '")
        out.write(b"x" * (50 << 20))
        out.write(b"'\n")
    started = time.perf_counter()
    proc = run_check(folder, "flows/huge.yaml", memory_mb=256)
    assert time.perf_counter() - started < 10
    assert_one_line(proc, "flows/huge.yaml: file is 50.0 MiB; a flow file may be at most 1 MiB")


def test_a_folder_named_like_a_flow_file_is_one_line_not_a_traceback(folder):
    (folder / "flows/leave.yaml").mkdir()  # what an unpacked archive or a typo can leave
    assert_one_line(run_check(folder, "flows"), "flows/leave.yaml: cannot read: Is a directory")


def test_billion_laughs_is_refused_in_bounded_time_and_memory(folder):
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    (folder / "flows/bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    proc = run_check(folder, "flows/bomb.yaml", memory_mb=256)
    assert time.perf_counter() - started < 10
    assert_one_line(proc, "flows/bomb.yaml:1: YAML anchor '&a0' is not allowed; write the value out")


def test_non_utf8_bytes_name_the_line(folder):
    data = VALID.replace("name: 测试请假流程", "name: 测试").encode("utf-8")
    data = data.replace("测试".encode(), "测试".encode("gbk"), 1)
    (folder / "flows/gbk.yaml").write_bytes(data)
    proc = run_check(folder, "flows/gbk.yaml")
    assert_one_line(proc, "flows/gbk.yaml:2: not UTF-8 (byte 0xb2 at offset 22)")


def test_sandbox_escape_in_a_condition_is_a_located_error(folder):
    text = VALID.replace('when: "days <= 5"', 'when: "().__class__.__base__"')
    (folder / "flows/escape.yaml").write_text(text, encoding="utf-8")
    proc = run_check(folder, "flows/escape.yaml")
    line = text.splitlines().index('      - {label: 5天内, when: "().__class__.__base__", to: done}') + 1
    assert_one_line(proc, f"flows/escape.yaml:{line}: steps[1] 'head_approve'.exits[1].when: "
                          "when: attribute access ('.') is not allowed")


def test_deeply_nested_yaml_is_an_error_not_a_crash(folder):
    (folder / "flows/deep.yaml").write_text("a: " + "[" * 20000 + "]" * 20000 + "\n")
    proc = run_check(folder, "flows/deep.yaml")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == ["flows/deep.yaml:1: nested more than 32 levels deep"]


def test_every_problem_of_a_file_is_reported_at_once(folder):
    text = VALID.replace("lane: gm, kind", "lane: ceo, kind").replace("status: 受控", "status: 生效")
    text = text.replace("  - {id: fill, lane: applicant", "  - {id: fill, lnae: applicant")
    (folder / "flows/many.yaml").write_text(text, encoding="utf-8")
    proc = run_check(folder, "flows/many.yaml")
    assert proc.returncode == 1
    messages = proc.stderr.strip().splitlines()
    assert any("status must be one of 受控, 非受控, 草稿, 作废; got '生效'" in m for m in messages)
    assert any("unknown key 'lnae' (did you mean 'lane'?)" in m for m in messages)
    assert not any("missing required key" in m for m in messages)  # the typo says it already
    assert len(messages) == 2  # the undeclared lane is reported once the shape is fixed


def test_json_output_is_data(folder):
    text = VALID.replace("lane: gm, kind", "lane: ceo, kind")
    (folder / "flows/lane.yaml").write_text(text, encoding="utf-8")
    proc = run_check(folder, "--json")
    import json

    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and report["ok"] is False
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert [p["message"] for p in errors] == [  # in file order
        "lane 'gm' (总经理) has no step", "lane 'ceo' is not declared"]
    assert {p["file"] for p in errors} == {"flows/lane.yaml"}
    assert {p["severity"] for p in report["problems"]} == {"error", "warning"}  # stale sign-off


def test_the_bundled_folder_is_untouched_by_checking(tmp_path):
    before = {p: p.read_bytes() for p in FLOWS.glob("*")}
    proc = run_check(ROOT)
    assert proc.returncode == 0
    assert {p: p.read_bytes() for p in FLOWS.glob("*")} == before
