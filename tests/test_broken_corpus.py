"""The broken-flow corpus: one file per rule, each a copy of a passing flow with one defect.

Every ``tests/broken/<rule>.yaml`` starts with ``# expect:`` comment lines, one per problem
``flowdoc check`` must print for it (``file:line: where: message``, the comment lines counted).
The test runs the real CLI in-process and requires exactly those lines: the right line, the
right message, and nothing else, so a defect never hides behind (or cascades into) other noise.

Where the checker prints more than a correct checker would, the file keeps the correct
expectation and is listed in ``CHECKER_BUGS``: its test still requires every expected line,
then is an xfail that fails once the output is exact (so the list shrinks as bugs are fixed).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main

BROKEN = Path(__file__).resolve().parent / "broken"
ORG = BROKEN / "org.yaml"
VALID = BROKEN / "_valid.yaml.txt"
CORPUS = sorted(p for p in BROKEN.glob("*.yaml")
                if p.name not in ("org.yaml", "keys.yaml", "trust.yaml"))

# file -> why the checker's output is not yet the exact expectation (empty: none known)
CHECKER_BUGS: dict[str, str] = {}


def errors_of(stderr: str) -> set[str]:
    """The error lines (warnings, e.g. a sign-off not bound to this content, are another matter)."""
    return {line for line in stderr.splitlines() if ": warning: " not in line}


def expectations(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.removeprefix("# expect: ") for line in lines if line.startswith("# expect: ")}


def run_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *names: str):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", *(f"flows/{n}" for n in names)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    return result


def flows_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    shutil.copy(ORG, folder / "org.yaml")
    shutil.copy(ORG.with_name("keys.yaml"), folder / "keys.yaml")  # what _valid is signed with
    shutil.copy(ORG.with_name("trust.yaml"), folder / "trust.yaml")  # who vouched for those keys
    return folder


def copy_in(tmp_path: Path, source: Path) -> str:
    shutil.copy(source, flows_folder(tmp_path) / source.name)
    return source.name


def test_corpus_covers_every_rule():
    assert len(CORPUS) >= 34
    assert set(CHECKER_BUGS) <= {p.name for p in CORPUS}
    for path in CORPUS:
        lines = path.read_text(encoding="utf-8").splitlines()
        expected = expectations(path)
        assert expected, f"{path.name} has no '# expect:' line"
        # the expectations come first, so the line numbers they give are easy to check by eye
        assert all(line.startswith("# expect: ") for line in lines[: len(expected)]), path.name
        assert all(e.startswith(f"flows/{path.name}:") for e in expected), path.name


def test_the_valid_flow_passes(tmp_path, monkeypatch):
    shutil.copy(VALID, flows_folder(tmp_path) / "valid.yaml")
    result = run_check(tmp_path, monkeypatch, "valid.yaml")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.output.startswith("ok: 1 flow file(s) checked")


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_broken_flow_prints_exactly_its_problems(path, tmp_path, monkeypatch):
    result = run_check(tmp_path, monkeypatch, copy_in(tmp_path, path))
    assert result.exit_code == 1, result.output
    errors = errors_of(result.stderr)
    assert expectations(path) <= errors  # a known checker bug may add lines, never lose one
    if path.name in CHECKER_BUGS:  # a strict xfail: fixed, it must leave the list
        assert errors != expectations(path), f"fixed: take {path.name} out of CHECKER_BUGS"
        pytest.xfail(CHECKER_BUGS[path.name])
    assert errors == expectations(path)


def _two_flows_with_one_code(tmp_path: Path) -> None:
    folder = flows_folder(tmp_path)
    shutil.copy(VALID, folder / "01-leave.yaml")
    shutil.copy(VALID, folder / "02-leave-copy.yaml")


def test_a_code_used_twice_is_reported_on_both_files_naming_the_other(tmp_path, monkeypatch):
    _two_flows_with_one_code(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "flows"])
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert sorted(errors_of(result.stderr)) == [
        "flows/01-leave.yaml:1: code 'EC-HR-101' is also used by flows/02-leave-copy.yaml",
        "flows/02-leave-copy.yaml:1: code 'EC-HR-101' is also used by flows/01-leave.yaml",
    ]


@pytest.mark.parametrize(("name", "other"), [("01-leave.yaml", "02-leave-copy.yaml"),
                                             ("02-leave-copy.yaml", "01-leave.yaml")])
def test_checking_either_file_alone_still_finds_the_duplicate_code(tmp_path, monkeypatch, name,
                                                                  other):
    _two_flows_with_one_code(tmp_path)
    result = run_check(tmp_path, monkeypatch, name)
    assert result.exit_code == 1
    assert sorted(errors_of(result.stderr)) == [
        f"flows/{name}:1: code 'EC-HR-101' is also used by flows/{other}"]
