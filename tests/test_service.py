"""The service layer the command line (and the web application) call: typed results, and
errors whose ``code`` says what kind of failure each is, whichever front door shows it."""

from __future__ import annotations

import ast
import datetime as dt
import shutil
from pathlib import Path

import pytest
from conftest import OPERATOR_SECRET, ROOT, secret

from generator.errors import FlowdocError, ProblemsError
from generator.service import audit, open_workspace, records


@pytest.fixture
def ws(trusted, tmp_path):
    shutil.copytree(trusted.flows, tmp_path / "flows")
    trusted.fresh(tmp_path / "records", ("赵敏", "李强", "周婷"))
    return open_workspace(tmp_path / "flows", tmp_path / "records",
                          operator_passphrase=OPERATOR_SECRET)


def leave_file(folder: Path, name: str = "leave.yaml", extra: str = "") -> Path:
    path = folder / name
    path.write_text("flow: EC-HR-015\n" + extra + "fields: {leave_type: 病假, start: 2026-11-02, "
                    "end: 2026-11-04, reason: 感冒发烧}\n", encoding="utf-8")
    return path


def code_of(fn, *args) -> str:
    with pytest.raises(FlowdocError) as info:
        fn(*args)
    return info.value.code


def test_a_record_goes_through_the_service_with_typed_results(ws, tmp_path):
    path = leave_file(tmp_path)
    checked = records.check(ws, path, "赵敏")
    assert checked.ok and checked.values["days"] == 3
    number = records.submit(ws, records.prepare(ws, [path], "赵敏"), "赵敏", secret("赵敏"))
    assert number == f"EC-HR-015-{dt.date.today().year}-0001"
    state = records.sign(ws, number, "head_approve", "李强", secret("李强"), "同意")
    assert state.status == "in progress"
    state = records.sign(ws, number, "hr_approve", "周婷", secret("周婷"), "同意")
    assert state.status == "complete"
    assert records.show(ws.archive_dir, number).rendition == state.rendition
    assert records.rendition(ws.archive_dir, number).startswith(b"%PDF")
    assert audit.verify(ws).ok


def test_each_kind_of_failure_has_its_code(ws, tmp_path):
    theirs = leave_file(tmp_path, "theirs.yaml", "applicant: 孙磊\n")
    assert code_of(records.prepare, ws, [theirs], "赵敏") == "invalid"
    assert code_of(records.show, ws.archive_dir, "EC-HR-015-2026-9999") == "not_found"
    assert code_of(records.parse_changes, ["days 3"]) == "usage"
    assert code_of(audit.query_tree, "((请假") == "usage"
    assert code_of(audit.query_tree, "", audit.Filters(date_to="2026-02-30")) == "usage"
    path = leave_file(tmp_path)
    prepared = records.prepare(ws, [path], "赵敏")
    assert code_of(records.submit, ws, prepared, "赵敏", "not her passphrase") == "refused"
    number = records.submit(ws, prepared, "赵敏", secret("赵敏"))
    assert code_of(records.sign, ws, number, "hr_approve", "周婷", secret("周婷"),
                   "同意") == "refused"


def test_a_workspace_with_broken_flows_is_refused_except_for_verify(ws, tmp_path):
    (ws.flows_dir / "15-leave.yaml").write_text("code: [", encoding="utf-8")
    with pytest.raises(ProblemsError) as info:
        open_workspace(ws.flows_dir, ws.archive_dir)
    assert info.value.code == "invalid" and "15-leave.yaml" in str(info.value)
    lenient = open_workspace(ws.flows_dir, ws.archive_dir, strict=False)
    assert any("15-leave.yaml" in m for _, m in audit.verify(lenient).report.findings)


def test_the_command_line_holds_no_archive_rule():
    """The CLI reaches records, keys, verify and search only through the service layer: it
    imports nothing from the archive's record commands, rule book, store or search index."""
    tree = ast.parse((ROOT / "generator" / "cli.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    forbidden = {"archive.records", "archive.rulebook", "archive.store", "archive.trusting",
                 "search", "search.index"}
    assert not imported & forbidden, imported & forbidden
