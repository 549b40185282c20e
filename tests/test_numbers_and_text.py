"""Data and robustness (issue 12, point 7): exact numbers, bounded queries, text that cannot
drive the terminal, duplicate keys, a passphrase file that is not text, and an applicant that
is not the signer. Each test tries what an insider or a careless file did on 143c361."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import OPERATOR_SECRET, ROOT, UNBOUND, cli, secret
from hypothesis import given
from hypothesis import strategies as st

from generator import expr
from generator.records import read_record, typed_values
from generator.records.values import (
    MAX_PLACES,
    FieldError,
    json_number,
    number_text,
    parse_number,
)
from generator.seal.canonical import MAX_SAFE_INTEGER, canonical
from generator.search.query import MAX_DEPTH, Not, QueryError, Text, parse
from generator.textsafe import visible

LIBRARY = UNBOUND  # the flows under the tests' trust root (conftest.trusted)
FLOWS = UNBOUND


PASSPHRASE = "correct horse battery"
PEOPLE = ("赵敏", "郑丽", "李强")

PAY = """flow: EC-HR-009
fields:
  plan_name: 2027年薪酬方案
  plan_year: 2027
  budget: {budget}
  grades:
    - {{position: 专员, people: 3, monthly: 8500.55, subtotal: {subtotal}}}
    - {{position: 主管, people: 1, monthly: "12,000.10", subtotal: 12000.1}}
  finance_opinion: 测算无误
"""


def pay(tmp_path: Path, budget: str = "1234567.89", subtotal: str = "25501.65",
        name: str = "pay.yaml") -> Path:
    path = tmp_path / name
    path.write_text(PAY.format(budget=budget, subtotal=subtotal), encoding="utf-8")
    return path


def leave(tmp_path: Path, reason: str, name: str = "leave.json", **extra) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"flow": "EC-HR-015", **extra, "fields": {
        "leave_type": "事假", "start": "2026-11-02", "end": "2026-11-03", "reason": reason}},
        ensure_ascii=False), encoding="utf-8")
    return path


def flowdoc(args: list[str], cwd: Path, passphrase: str | None = PASSPHRASE
            ) -> subprocess.CompletedProcess:
    env = {"FLOWDOC_OPERATOR_PASSPHRASE": OPERATOR_SECRET}
    if passphrase:
        env["FLOWDOC_PASSPHRASE"] = passphrase
    flows = [] if args[:2] in (["record", "show"], ["record", "export"]) else [
        "--flows", str(FLOWS)]
    if "--" in args:  # what follows -- is the query, not options
        at = args.index("--")
        args = [*args[:at], *flows, *args[at:]]
        flows = []
    return cli([*args, *flows], cwd, env)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory, trusted) -> Path:
    """A folder whose records/ archive holds the vouched keys of 赵敏, 郑丽 and 李强 (and the
    registrar's who vouched for them), and nothing else."""
    from generator.archive.events import approve_key, new_person_key

    root = tmp_path_factory.mktemp("keyed")
    archive = trusted.fresh(root / "records")
    for person in PEOPLE:  # as `keys new` and `keys approve` do (tested in test_archive_cli)
        new_person_key(archive, trusted.library, person, PASSPHRASE)
        approve_key(archive, trusted.library, person, "王芳", secret("王芳"))
    return root


@pytest.fixture
def work(keyed: Path, tmp_path: Path) -> Path:
    """A copy of the keyed archive for one test, so tests neither see nor spoil each other."""
    shutil.copytree(keyed / "records", tmp_path / "records")
    return tmp_path


def log_of(work: Path) -> bytes:
    return (work / "records/log.jsonl").read_bytes()


def entries(work: Path) -> list[dict]:
    return [json.loads(line) for line in log_of(work).splitlines()]


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# -- numbers are exact ---------------------------------------------------------------------

def test_an_amount_with_cents_is_signed_and_archived_exactly_not_as_1_23457e06(work):
    proc = flowdoc(["record", "submit", str(pay(work)), "--as", "郑丽"], work)
    assert proc.returncode == 0, proc.stderr
    number = proc.stdout.strip()
    [submitted] = [e for e in entries(work) if e["type"] == "submit"]
    fields = submitted["fields"]
    assert fields["budget"] == "1234567.89"  # was "1.23457e+06"
    assert fields["grades"][0]["monthly"] == "8500.55"
    assert fields["grades"][1]["monthly"] == "12000.1"  # "12,000.10": one value, one text
    assert fields["monthly_total"] == "37501.75"
    assert fields["annual_total"] == 450021  # 37501.75 * 12: whole, so an integer
    assert fields["variance"] == "784546.89"
    # verify checks the submission again from the archived values: they mean what was signed
    proc = flowdoc(["verify", "--json"], work)
    assert proc.returncode == 0, proc.stdout
    assert json.loads(proc.stdout)["ok"]
    shown = flowdoc(["record", "show", number, "--archive", "records"], work)
    assert "  budget: 1234567.89" in shown.stdout.splitlines()


@pytest.mark.parametrize("budget", ["99999999999999999999999", "1e308", "1.0e+308",
                                    "9007199254740992", "-9007199254740991.5"])
def test_an_out_of_range_number_is_refused_at_check_time_not_by_a_traceback_at_submit(
        work, budget):
    record = pay(work, budget=budget)
    check = one_line_error(flowdoc(["record", "check", str(record)], work))
    assert check.startswith(f"{record}: fields.budget: 年度薪酬预算（budget）: ")
    assert "out of range: a number is at most ±9007199254740991" in check
    before = log_of(work)
    submit = one_line_error(flowdoc(["record", "submit", str(record), "--as", "郑丽"], work))
    assert submit == f"flowdoc: {check}"
    assert log_of(work) == before


def test_a_json_number_beyond_float_range_is_refused_at_check_time(work):
    record = work / "pay.json"
    record.write_text('{"flow": "EC-HR-009", "fields": {"plan_name": "x", "plan_year": 2027, '
                      '"budget": 1e400, "finance_opinion": "y"}}', encoding="utf-8")
    message = one_line_error(flowdoc(["record", "submit", str(record), "--as", "郑丽"], work))
    assert "年度薪酬预算（budget）: '1E+400' is out of range" in message


def test_an_absurd_exponent_is_refused_naming_the_field(work):
    record = pay(work, budget="'1e-999999999'")
    message = one_line_error(flowdoc(["record", "check", str(record)], work))
    assert message == (f"{record}: fields.budget: 年度薪酬预算（budget）: '1e-999999999' has more "
                       f"than {MAX_PLACES} digits after the point")


def test_a_derived_total_beyond_the_archivable_range_is_refused_at_check_time(work):
    record = pay(work, subtotal=str(MAX_SAFE_INTEGER))  # each row fits; their sum does not
    before = log_of(work)
    message = one_line_error(flowdoc(["record", "submit", str(record), "--as", "郑丽"], work))
    assert message.startswith(f"flowdoc: {record}: fields.monthly_total: 月度薪酬总额"
                              "（monthly_total）: '9007199254752991.1' is out of range")
    assert "(computed as sum_of(grades, 'subtotal'))" in message
    assert log_of(work) == before


def test_a_yaml_amount_keeps_every_digit_a_float_would_round(tmp_path):
    record = read_record(pay(tmp_path, budget="12345678901234.567"))
    assert record.fields["budget"] == Decimal("12345678901234.567")  # float: ….566
    values, problems = typed_values(LIBRARY.flow("EC-HR-009"), record.fields)
    assert not problems
    assert values["budget"] == Decimal("12345678901234.567")
    assert values["monthly_total"] == Decimal("37501.75")


@pytest.mark.parametrize(("raw", "value"), [
    ("1234567.89", Decimal("1234567.89")), ("2.50", Decimal("2.5")), ("2.0", 2), ("1e3", 1000),
    ("1,234.5", Decimal("1234.5")), ("０．５", Decimal("0.5")), (0.1, Decimal("0.1")),
    (Decimal("-0.000"), 0), (" 12 ", 12), ("-7", -7), ("0.0000000001", Decimal("1E-10")),
])
def test_numbers_are_read_exactly_whole_ones_as_int(raw, value):
    parsed = parse_number(raw)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(("raw", "problem"), [
    ("NaN", "is not a number"), ("Infinity", "is not a number"), ("0x10", "is not a number"),
    (float("inf"), "is not a number"), (True, "is not a number"),
    (2**53, "out of range"), ("1e16", "out of range"),
    ("0.00000000001", "digits after the point"), ("1" * 5000, "out of range"),
])
def test_numbers_out_of_range_or_no_number_are_refused(raw, problem):
    with pytest.raises(FieldError, match=problem):
        parse_number(raw)


def test_the_canonical_text_of_a_number_has_no_exponent_and_no_trailing_zero():
    assert number_text(Decimal("1234567.89")) == "1234567.89"
    assert number_text(Decimal("0.0000001")) == "0.0000001"  # str() gives 1E-7
    assert number_text(Decimal("2.50")) == "2.5"
    assert number_text(Decimal("1E+2")) == "100"
    assert number_text(Decimal("-0.50")) == "-0.5"
    assert json_number(Decimal("5.000")) == 5
    assert json_number(1234567.89) == "1234567.89"
    assert canonical({"a": json_number(Decimal("0.10"))}) == b'{"a":"0.1"}'


@given(st.integers(0, MAX_PLACES).flatmap(lambda places: st.decimals(
    -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER, places=places, allow_nan=False,
    allow_infinity=False)))
def test_a_number_read_back_from_its_archived_form_is_the_same_number(value):
    exact = parse_number(value)
    archived = json_number(exact)
    assert parse_number(archived) == exact == value
    if isinstance(archived, str):  # a non-whole number: one plain decimal text
        assert "e" not in archived.lower() and "+" not in archived
        assert not archived.endswith("0") and "." in archived
        assert canonical(archived)  # signable


amounts = st.integers(0, MAX_PLACES).flatmap(lambda places: st.decimals(
    0, 10**9, places=places, allow_nan=False, allow_infinity=False))


@given(amounts, st.lists(st.tuples(st.integers(0, 50), amounts), min_size=1, max_size=12))
def test_what_the_writer_accepts_the_verifier_reads_back_the_same_and_accepts(budget, rows):
    """verify re-checks a submission from its archived fields: the typed values it gets must
    be the writer's, and it must find no problem the writer did not."""
    from generator.archive.events import json_values

    flow = LIBRARY.flow("EC-HR-009")
    raw = {"plan_name": "方案", "plan_year": 2027, "budget": str(budget), "finance_opinion": "无",
           "grades": [{"position": "岗", "people": n, "monthly": str(a), "subtotal": str(a)}
                      for n, a in rows]}
    values, problems = typed_values(flow, raw)
    assert problems == []
    archived = json.loads(canonical(json_values(values)))  # as the log holds it
    again, problems = typed_values(flow, archived)
    assert problems == []
    assert again == values


def test_conditions_and_derivations_compute_with_exact_decimals():
    assert expr.parse("amount > 5000").evaluate({"amount": Decimal("5000.01")})
    assert not expr.parse("amount > 5000").evaluate({"amount": Decimal("5000.00")})
    assert expr.parse("0.1 + 0.2 == 0.3").evaluate({})  # false with floats
    assert expr.parse("amount <= 0.3").evaluate({"amount": Decimal("0.3")})
    total = expr.parse("sum_of(items, 'amount')").evaluate(
        {"items": [{"amount": Decimal("0.1")}] * 10 + [{"amount": 3}]})
    assert total == 4 and isinstance(total, Decimal)
    assert expr.parse("(new - old) / old * 100").evaluate(
        {"new": Decimal("99.99"), "old": 100}) == Decimal("-0.01")
    assert expr.parse("days / 2").evaluate({"days": 5}) == Decimal("2.5")
    with pytest.raises(expr.ExprError):
        expr.parse("a / b").evaluate({"a": 1, "b": 0})


def test_a_quotient_is_rounded_to_the_places_a_number_keeps_and_reads_back_the_same():
    flow = LIBRARY.flow("EC-OP-013")
    values, _ = typed_values(flow, {"price": "99", "new_price": "33"})
    assert values["price_change"] == Decimal("-66.6666666667")
    again, problems = typed_values(flow, {"price": "99", "new_price": "33",
                                          "price_change": json_number(values["price_change"])})
    assert again["price_change"] == values["price_change"]
    assert not [p for p in problems if p[0] == "fields.price_change"]


def test_a_minimum_written_as_0_5_is_exactly_0_5():
    flow = LIBRARY.flow("EC-HR-014")
    field = next(f for f in flow.fields if f.id == "planned_hours")
    assert field.min == 0.5
    values, problems = typed_values(flow, {"planned_hours": "0.5"})
    assert values["planned_hours"] == Decimal("0.5")
    assert not [p for p in problems if p[0] == "fields.planned_hours"]
    _, problems = typed_values(flow, {"planned_hours": "0.4"})
    assert ("fields.planned_hours", "预计时长（planned_hours）: 0.4小时 is below the minimum "
            "0.5小时") in problems


# -- queries -----------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["(" * 300 + "请假" + ")" * 300, "NOT " * 240 + "请假",
                                   "-" * 500 + "请假"])
def test_deeply_nested_queries_are_a_one_line_error_not_a_recursion_error(tmp_path, query):
    proc = flowdoc(["search", "--", query], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("flowdoc: query: character ")
    assert line.endswith(f"nested more than {MAX_DEPTH} levels deep")


def test_a_query_nested_to_the_limit_still_parses():
    assert parse("(" * MAX_DEPTH + "请假" + ")" * MAX_DEPTH) == Text("请假")
    tree = parse("NOT " * MAX_DEPTH + "请假")
    for _ in range(MAX_DEPTH):
        assert isinstance(tree, Not)
        tree = tree.part
    with pytest.raises(QueryError, match="nested more than"):
        parse("(" * (MAX_DEPTH + 1) + "请假" + ")" * (MAX_DEPTH + 1))


def test_a_query_starting_with_minus_goes_after_double_dash(work):
    for reason, name in (("感冒发烧", "a.json"), ("家中有事", "b.json")):
        proc = flowdoc(["record", "submit", str(leave(work, reason, name)), "--as", "赵敏"], work)
        assert proc.returncode == 0, proc.stderr
    numbers = [e["record"] for e in entries(work) if e["type"] == "submit"]
    proc = flowdoc(["search", "--json", "--", "-感冒"], work)
    assert proc.returncode == 0, proc.stderr
    assert [h["number"] for h in json.loads(proc.stdout)["hits"]] == [numbers[1]]
    assert flowdoc(["search", "-感冒"], work).returncode == 2  # read as an option: hence --
    assert "flowdoc search -- -作废" in flowdoc(["search", "--help"], work).stdout
    assert "flowdoc search -- -作废" in (ROOT / "README.md").read_text(encoding="utf-8")


# -- text on the terminal ------------------------------------------------------------------

def test_visible_escapes_controls_and_bidi_and_leaves_chinese_alone():
    assert visible("请假事由：感冒") == "请假事由：感冒"
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("ok\rFAKE") == "ok\\rFAKE"
    assert visible("一\n二\t三") == "一\\n二\\t三"
    assert visible("\x00\x7f\x85\x9b") == "\\x00\\x7f\\x85\\x9b"
    assert visible("fdp\u202eexe.pdf") == "fdp\\u202eexe.pdf"
    assert visible("\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u200e\u200f\u061c") == (
        "\\u2066\\u2067\\u2068\\u2069\\u202a\\u202b\\u202c\\u202d\\u200e\\u200f\\u061c")
    assert visible("\u2028\u2029") == "\\u2028\\u2029"


UNSAFE = {chr(c) for c in [*range(0x20), *range(0x7f, 0xa0), 0x61c, 0x200e, 0x200f, 0x2028,
                           0x2029, *range(0x202a, 0x202f), *range(0x2066, 0x206a)]}


@given(st.text())
def test_visible_text_holds_no_control_or_bidi_character(text):
    assert not UNSAFE & set(visible(text))


FORGED = ("家中有事\n  [9] 2026-11-30T00:00:00+00:00 sign head_approve 同意 李强 签名 "
          "0123456789abcdef…\r\x1b[2K\u202e")


def no_raw_control(text: str) -> None:
    assert not (UNSAFE - {"\n"}) & set(text), repr(text)


def test_a_multiline_reason_does_not_forge_history_lines_in_record_show(work):
    proc = flowdoc(["record", "submit", str(leave(work, FORGED)), "--as", "赵敏"], work)
    assert proc.returncode == 0, proc.stderr
    number = proc.stdout.strip()
    shown = flowdoc(["record", "show", number, "--archive", "records"], work)
    assert shown.returncode == 0, shown.stderr
    no_raw_control(shown.stdout)
    lines = shown.stdout.splitlines()
    assert [line for line in lines if line.startswith("  [")] == [
        line for line in lines if line.startswith("  [") and " submit " in line]  # no [9]
    assert "  reason: 家中有事\\n  [9] 2026-11-30" in shown.stdout
    assert "\\r\\x1b[2K\\u202e" in shown.stdout
    # the JSON view is data: exact, and safe because JSON escapes control characters itself
    data = json.loads(flowdoc(["record", "show", number, "--json", "--archive", "records"],
                              work).stdout)
    assert data["fields"]["reason"] == FORGED.strip()


def test_record_check_and_search_print_values_and_messages_escaped(work):
    record = leave(work, FORGED)
    checked = flowdoc(["record", "check", str(record)], work)
    assert checked.returncode == 0, checked.stderr
    no_raw_control(checked.stdout)
    assert "请假事由: 家中有事\\n  [9]" in checked.stdout
    assert flowdoc(["record", "submit", str(record), "--as", "赵敏"], work).returncode == 0
    found = flowdoc(["search", "家中有事"], work)
    assert found.returncode == 0, found.stderr
    no_raw_control(found.stdout)
    assert "1 record(s)" in found.stdout
    # a message that quotes a value: the value cannot rewrite the line it is on
    bad = pay(work, budget='"12\\e[2J\\r\\u202e34"', name="bad.yaml")  # YAML's escapes
    proc = flowdoc(["record", "check", str(bad)], work)
    assert proc.returncode == 1
    no_raw_control(proc.stderr)
    assert "'12\\x1b[2J\\r\\u202e34' is not a number" in proc.stderr
    proc = flowdoc(["record", "submit", str(bad), "--as", "郑丽"], work)
    no_raw_control(proc.stderr)
    assert one_line_error(proc).endswith("'12\\x1b[2J\\r\\u202e34' is not a number")


# -- duplicate keys ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "key"), [
    ('{"flow": "EC-HR-015", "fields": {"reason": "病", "reason": "事"}}', "reason"),
    ('{"flow": "EC-HR-015", "flow": "EC-HR-009", "fields": {}}', "flow"),
])
def test_a_json_record_with_a_duplicate_key_is_refused_naming_file_and_key(work, text, key):
    record = work / "dup.json"
    record.write_text(text, encoding="utf-8")
    assert one_line_error(flowdoc(["record", "check", str(record)], work)) == (
        f"flowdoc: {record}: duplicate key '{key}'")
    before = log_of(work)
    assert one_line_error(flowdoc(["record", "submit", str(record), "--as", "赵敏"], work)) == (
        f"flowdoc: {record}: duplicate key '{key}'")
    assert log_of(work) == before


def test_a_json_record_nested_a_hundred_thousand_deep_is_one_line_not_a_recursion_error(
        tmp_path):
    record = tmp_path / "deep.json"
    record.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert one_line_error(flowdoc(["record", "check", str(record)], tmp_path)) == (
        f"flowdoc: {record}: nested too deeply to be a record")


def test_a_yaml_record_with_a_duplicate_key_is_refused_too(tmp_path):
    record = tmp_path / "dup.yaml"
    record.write_text("flow: EC-HR-015\nfields:\n  reason: 病\n  reason: 事\n", encoding="utf-8")
    message = one_line_error(flowdoc(["record", "check", str(record)], tmp_path))
    assert message.startswith(f"flowdoc: {record}:4:") and "duplicate key 'reason'" in message


# -- the passphrase file -------------------------------------------------------------------

def test_a_non_utf8_passphrase_file_names_the_file_and_no_byte_of_it(work):
    secret = b"Qz\xffJx\xfe\x97W"
    path = work / "pw.bin"
    path.write_bytes(secret)
    proc = flowdoc(["record", "submit", str(leave(work, "事")), "--as", "赵敏",
                    "--passphrase-file", str(path)], work, passphrase=None)
    message = one_line_error(proc)
    assert message == f"flowdoc: {path}: the passphrase file is not UTF-8 text"
    shown = (proc.stdout + proc.stderr).replace(str(path), "")
    for i in range(len(secret) - 1):  # no two neighbouring bytes, as text or as hex
        assert secret[i:i + 2].decode("latin-1") not in shown
        assert secret[i:i + 2].hex() not in shown.replace("\\x", "")
    assert "0xff" not in shown and "position" not in shown and "byte" not in shown
    assert not [e for e in entries(work) if e["type"] == "submit"]


# -- the applicant -------------------------------------------------------------------------

def test_a_record_file_naming_another_applicant_is_refused_not_signed_by_the_submitter(work):
    record = leave(work, "家中有事", applicant="赵敏")
    before = log_of(work)
    message = one_line_error(flowdoc(["record", "submit", str(record), "--as", "李强"], work))
    assert message == (f"flowdoc: {record}: applicant: 赵敏 in the file, but --as 李强; a record "
                       "is submitted by its applicant")
    assert log_of(work) == before
    assert one_line_error(flowdoc(["record", "check", str(record), "--as", "李强"], work)) == \
        message
    # the same file submitted by its applicant, and a file without applicant:, are fine
    assert flowdoc(["record", "submit", str(record), "--as", "赵敏"], work).returncode == 0
    anyone = leave(work, "家中有事", "anyone.json")
    assert flowdoc(["record", "submit", str(anyone), "--as", "李强"], work).returncode == 0
    applicants = [e["applicant"] for e in entries(work) if e["type"] == "submit"]
    assert applicants == ["赵敏", "李强"]


def test_an_import_with_a_file_naming_another_applicant_imports_nothing(work):
    folder = work / "batch"
    folder.mkdir()
    leave(folder, "家中有事", "a.json")
    other = leave(folder, "家中有事", "b.json", applicant="赵敏")
    before = log_of(work)
    message = one_line_error(flowdoc(["record", "import", str(folder), "--as", "李强"], work))
    assert message.startswith(f"flowdoc: {other}: applicant: 赵敏 in the file, but --as 李强")
    assert log_of(work) == before
