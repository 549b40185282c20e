"""Search: exact Chinese substring search on both backends, derived from a real archive."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import shutil
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import pytest
from conftest import OPERATOR_SECRET, ROOT, UNBOUND, cli
from conftest import secret as pw

from generator.archive import events as R
from generator.archive.store import Archive
from generator.archive.trusting import unlock_operator
from generator.records import RecordInput
from generator.search import RecordIndex, parse
from generator.search import analysis as A
from generator.search.package import export_package, verify_package
from generator.search.query import QueryError

LIBRARY = UNBOUND  # the flows under the tests' trust root (conftest.trusted)
TRUSTED = UNBOUND
FLOWS = UNBOUND


T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
BACKENDS = ["whoosh", "tantivy"]  # the test extra installs tantivy: both meet the same contract

REASONS = ["感冒发烧，医生建议休息", "家里有事需要处理", "孩子生病住院", "同意调休安排", "陪同家人看病",
           "腰椎不适需复查", "参加亲属婚礼", "搬家", "不同意的事项另行说明", "身体不适"]
DESCRIPTIONS = ["收到的iPhone外壳破损", "物流配送延误三天", "商品质量问题，屏幕有划痕", "客服态度差",
                "发错货：规格不符", "价格争议，要求退差价", "快递丢件", "包装破损但商品完好"]
CUSTOMERS = ["尹红梅", "尹红", "梅红", "刘红梅", "王小明", "Alice Wang", "陈静怡", "张伟"]




def leave(i: int, rng: random.Random) -> RecordInput:
    start = dt.date(2026, 11, 1) + dt.timedelta(days=rng.randrange(40))
    end = start + dt.timedelta(days=rng.randrange(3))
    return RecordInput("EC-HR-015", {"leave_type": rng.choice(["事假", "病假", "年假", "调休"]),
                                     "start": start.isoformat(), "end": end.isoformat(),
                                     "reason": rng.choice(REASONS)}, f"leave{i}.yaml")


def complaint(i: int, rng: random.Random) -> RecordInput:
    return RecordInput("EC-CS-021", {
        "ticket_no": f"SH-2026-{i:04d}", "order_no": f"TB2026{rng.randrange(10**6):06d}",
        "customer": rng.choice(CUSTOMERS), "complaint_date": "2026-11-05",
        "issue_type": rng.choice(["产品质量", "物流配送", "服务态度", "价格争议", "其他"]),
        "description": rng.choice(DESCRIPTIONS), "remedy": rng.choice(["退款", "补发", "优惠券"]),
        "amount": rng.randrange(500)}, f"cs{i}.yaml")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A real archive: 40 leave requests (some approved, some refused) and 30 complaints."""
    rng = random.Random(7)
    root = tmp_path_factory.mktemp("search") / "records"
    archive = TRUSTED.fresh(root, ("赵敏", "李强", "王芳"))
    R.import_records(archive, LIBRARY, [(leave(i, rng), f"l{i}".encode()) for i in range(40)],
                     "赵敏", pw("赵敏"), T0)
    R.import_records(archive, LIBRARY, [(complaint(i, rng), f"c{i}".encode()) for i in range(30)],
                     "王芳", pw("王芳"), T0 + dt.timedelta(days=3))
    for i in range(1, 16):
        decision = "不同意" if i % 3 == 0 else "同意"
        R.sign_step(archive, LIBRARY, f"EC-HR-015-2026-{i:04d}", "head_approve", "李强", pw("李强"),
                    decision, "人手紧张" if decision == "不同意" else "", T0 + dt.timedelta(days=i))
    return root


def fresh_copy(corpus: Path, tmp_path: Path) -> Archive:
    shutil.copytree(corpus, tmp_path / "records", ignore=shutil.ignore_patterns("index"))
    return Archive(tmp_path / "records", unlock_operator(tmp_path / "records", OPERATOR_SECRET))


def haystacks(archive: Archive) -> dict[str, str]:
    """What a record says, for brute-force matching: its state as JSON, its flow's name and the
    text of every step signed in it. Built without the search package."""
    flows = {f.code: f for f in LIBRARY.flows}
    out = {}
    for number, state in R.states(archive.entries()).items():
        flow = flows[state.flow_code]
        steps = {s.id: s.text for s in flow.steps}
        signed = [steps.get(s.get("step", ""), "") for s in state.signatures]
        text = json.dumps({"fields": state.fields, "signatures": state.signatures,
                           "number": number, "applicant": state.applicant},
                          ensure_ascii=False) + " " + flow.name + " " + " ".join(signed)
        out[number] = unicodedata.normalize("NFKC", text).lower()
    return out


def brute(hay: dict[str, str], term: str) -> set[str]:
    term = unicodedata.normalize("NFKC", term).lower()
    if re.search(r"[a-z0-9]", term):
        pattern = re.compile(r"(?<![a-z0-9])" + re.escape(term) + r"(?![a-z0-9])")
        return {n for n, h in hay.items() if pattern.search(h)}
    return {n for n, h in hay.items() if term in h}


def numbers(index: RecordIndex, query: str) -> set[str]:
    found = index.search(parse(query), limit=10_000)
    assert found.total == len(found.hits)
    return {h.number for h in found.hits}


QUERIES = ["病", "梅", "烧", "假",  # one character
           "病假", "同意", "红梅", "破损", "调休",  # two
           "不同意", "尹红梅", "质量问", "看病",  # three
           "感冒发烧", "物流配送", "包装破损",  # four and more
           "李强", "赵敏", "张伟",  # names
           "iphone", "alice", "iPhone外壳", "wang"]  # Latin, mixed


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_term_finds_exactly_the_records_containing_it(corpus, tmp_path, backend):
    archive = fresh_copy(corpus, tmp_path)
    hay = haystacks(archive)
    index = RecordIndex(archive, LIBRARY, backend)
    for term in QUERIES:
        expected = brute(hay, term)
        assert numbers(index, term) == expected, term
    # the cases a word segmenter gets wrong: 不同意 is not 同意, 尹红梅 is not 尹红 or 红梅 alone
    assert numbers(index, "不同意") < numbers(index, "同意")
    assert numbers(index, "尹红梅") < numbers(index, "红梅")
    # several terms: both must match
    both = brute(hay, "病假") & brute(hay, "李强")
    assert both and numbers(index, "病假 李强") == both
    assert numbers(index, "病假 OR 年假") == brute(hay, "病假") | brute(hay, "年假")
    assert numbers(index, "请假 -病假") == brute(hay, "请假") - brute(hay, "病假")


@pytest.mark.parametrize("backend", BACKENDS)
def test_fields_filters_identifiers_sorting_and_paging(corpus, tmp_path, backend):
    archive = fresh_copy(corpus, tmp_path)
    states = R.states(archive.entries())
    index = RecordIndex(archive, LIBRARY, backend)
    assert numbers(index, "flow:EC-CS-021") == {n for n, s in states.items() if s.flow_code == "EC-CS-021"}
    assert numbers(index, "signer:李强") == {f"EC-HR-015-2026-{i:04d}" for i in range(1, 16)}
    refused = {n for n, s in states.items() if s.status == "rejected"}
    assert refused and numbers(index, "status:驳回") == refused == numbers(index, "status:rejected")
    assert numbers(index, "decision:不同意") == refused
    assert numbers(index, "meaning:审批 lane:部门负责人") == numbers(index, "signer:李强")
    assert numbers(index, "dept:客服部") == set()  # nobody of 客服部 made a record
    # identifiers: exact, and by prefix
    order = states["EC-CS-021-2026-0007"].fields["order_no"]
    assert numbers(index, f"id:{order}") == {n for n, s in states.items()
                                             if s.fields.get("order_no") == order}
    assert numbers(index, f"id:{order.lower()}") == numbers(index, f"id:{order}")
    assert numbers(index, "id:SH-2026-001*") == {n for n, s in states.items()
                                                 if s.fields.get("ticket_no", "").startswith("SH-2026-001")}
    assert len(numbers(index, "id:EC-HR-015*")) == 40
    # dates: record i was signed on 11-02 + i days, so 11-04..11-06 holds records 2, 3 and 4
    assert numbers(index, "signed:2026-11-04..2026-11-06") == {
        f"EC-HR-015-2026-{i:04d}" for i in (2, 3, 4)} | {
        n for n, s in states.items() if s.flow_code == "EC-CS-021"}  # submitted on 11-05
    assert numbers(index, "created:2026-11-05..") == numbers(index, "flow:EC-CS-021")
    # newest first, then paging through everything gives every record once, in order
    first = index.search(parse(""), limit=10)
    assert first.total == 70 and first.hits[0].flow == "EC-CS-021"
    pages = [h.number for p in range(7) for h in index.search(parse(""), limit=10, offset=10 * p).hits]
    assert len(pages) == len(set(pages)) == 70
    oldest = index.search(parse(""), limit=1, newest_first=False).hits[0]
    assert oldest.number == "EC-HR-015-2026-0001"
    hit = index.search(parse("感冒发烧")).hits[0]
    assert "【感冒发烧】" in hit.snippet


def test_a_snippet_shows_the_text_as_written_while_terms_match_as_the_index_folds_them():
    from generator.search.snippet import snippet

    # found through NFKC (a half-width query finds full-width text) but shown as written:
    # the full-width comma and letters stay, as the person typed them
    assert snippet("感冒发烧，医生建议休息。ＴＢ２０２６单号", ["发烧", "tb2026"]) == \
        "感冒【发烧】，医生建议休息。【ＴＢ２０２６】单号"
    long = "前" * 70 + "感冒发烧，医生建议休息"
    shown = snippet(long, ["发烧"], width=20)
    assert shown.startswith("…") and "【发烧】，医生" in shown and len(shown) < 30
    assert snippet("没有命中", ["发烧"]) == "没有命中"


def test_both_backends_give_the_same_answers_in_the_same_order(corpus, tmp_path):
    archive = fresh_copy(corpus, tmp_path)
    w, t = RecordIndex(archive, LIBRARY, "whoosh"), RecordIndex(archive, LIBRARY, "tantivy")
    for query in ["", "病假", "status:完成", "id:TB2026*", "-破损 flow:EC-CS-021", "(病假 OR 事假) 同意"]:
        a, b = w.search(parse(query), limit=15), t.search(parse(query), limit=15)
        assert a.total == b.total and [h.number for h in a.hits] == [h.number for h in b.hits], query


def test_facets_count_the_matches_by_value_the_same_in_both_backends(corpus, tmp_path):
    archive = fresh_copy(corpus, tmp_path)
    w, t = RecordIndex(archive, LIBRARY, "whoosh"), RecordIndex(archive, LIBRARY, "tantivy")
    field_of = {"flow": "flow", "status": "status", "department": "dept", "signer": "signer"}
    for query in ["", "同意", "-破损 flow:EC-CS-021", "status:完成"]:
        facets = w.facets(parse(query))
        assert facets == t.facets(parse(query)), query
        total = len(numbers(w, query))
        assert sum(n for _, n in facets["flow"]) == total == sum(n for _, n in facets["month"])
        assert sum(n for _, n in facets["status"]) == total
        # each count is what narrowing the query by that value finds
        for facet, field in field_of.items():
            for value, n in facets[facet]:
                assert len(numbers(w, f'{query} {field}:"{value}"')) == n, (query, facet, value)
        narrowed = w.search(parse(query), limit=10_000).hits
        for month, n in facets["month"]:
            assert sum(1 for h in narrowed if h.created[:7] == month) == n, (query, month)
        assert [m for m, _ in facets["month"]] == sorted((m for m, _ in facets["month"]),
                                                         reverse=True)
    assert w.facets(parse("没有这个词组合的记录")) == {
        "flow": [], "status": [], "department": [], "signer": [], "month": []}


def test_an_index_kept_open_across_commits_counts_and_orders_what_a_new_one_does(
        corpus, tmp_path):
    """A server keeps one index open: its facet and order columns are kept per segment,
    and a commit adds segments and deletes the documents of records that changed. After
    each round of signatures and new records, what it answers — totals, facets, the first
    page newest and oldest first — is what an index opened afresh answers."""
    archive = fresh_copy(corpus, tmp_path)
    kept = RecordIndex(archive, LIBRARY, "whoosh")
    queries = ["", "同意", "status:完成", "-破损 flow:EC-CS-021", "病假 OR 事假"]

    def answers(index):
        return [(index.facets(parse(q)), [(r.total, [h.number for h in r.hits])
                                          for r in (index.search(parse(q), limit=7),
                                                    index.search(parse(q), limit=7,
                                                                 newest_first=False),
                                                    index.search(parse(q), limit=5, offset=5))])
                for q in queries]

    first = answers(kept)
    rng = random.Random(3)
    for round_ in range(3):
        for i in range(16 + 4 * round_, 20 + 4 * round_):
            R.sign_step(archive, LIBRARY, f"EC-HR-015-2026-{i:04d}", "head_approve", "李强",
                        pw("李强"), "同意", "", T0 + dt.timedelta(days=20 + i))
        R.import_records(archive, LIBRARY, [(leave(100 + round_, rng), b"n")], "赵敏", pw("赵敏"),
                         T0 + dt.timedelta(days=30 + round_))
        now = answers(kept)
        fresh = RecordIndex(archive, LIBRARY, "whoosh")
        assert now == answers(fresh), round_
        fresh.close()
    assert now != first  # the commits changed what it answers
    agreed = dict(now[1][0]["status"])  # 同意: at least the 12 records signed so since
    assert sum(agreed.values()) == now[1][1][0][0] >= first[1][1][0][0] + 12


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_index_catches_up_and_rebuilds_from_the_archive(corpus, tmp_path, backend):
    archive = fresh_copy(corpus, tmp_path)
    index = RecordIndex(archive, LIBRARY, backend)
    assert numbers(index, "同意") and not numbers(index, "批量补录")
    # records archived while nobody searched (as after a crash between archiving and indexing)
    number = R.submit(archive, LIBRARY, RecordInput("EC-HR-015", {
        "leave_type": "事假", "start": "2026-12-01", "end": "2026-12-01", "reason": "批量补录测试"},
        "x"), b"x", "赵敏", pw("赵敏"), T0 + dt.timedelta(days=30))
    assert numbers(index, "批量补录") == {number}
    assert numbers(index, "status:进行中 批量补录") == {number}
    R.sign_step(archive, LIBRARY, number, "head_approve", "李强", pw("李强"), "不同意", "",
                T0 + dt.timedelta(days=31))
    assert numbers(index, "status:驳回 批量补录") == {number}  # its earlier events were kept
    assert numbers(index, "status:进行中 批量补录") == set()
    before = {q: numbers(index, q) for q in QUERIES[:8]}
    assert index.reindex() == len(archive.entries())
    assert {q: numbers(index, q) for q in QUERIES[:8]} == before
    # an index of another archive (restored from a backup, say) is noticed and rebuilt
    other = fresh_copy(corpus, tmp_path / "other")
    shutil.copytree(archive.root / "index", other.root / "index")
    assert numbers(RecordIndex(other, LIBRARY, backend), "批量补录") == set()


def test_a_killed_indexer_leaves_an_index_that_still_answers_exactly(corpus, tmp_path):
    archive = fresh_copy(corpus, tmp_path)
    expected = brute(haystacks(archive), "病假")
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from generator.archive.store import Archive\n"
            "from generator.checks import check_paths\n"
            "from generator.search import RecordIndex\n"
            f"lib = check_paths([{str(FLOWS)!r}]).library\n"
            f"ix = RecordIndex(Archive({str(archive.root)!r}), lib)\n"
            "while True:\n"
            "    ix.reindex(); print('done', flush=True)\n")
    for delay in (0.3, 0.8, 1.5):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.kill()
        proc.wait()
        assert numbers(RecordIndex(archive, LIBRARY), "病假") == expected


def test_analysis_turns_terms_into_exact_lookups():
    assert A.segments("感冒发烧，医生建议 iPhone15外壳") == [
        ["感", "冒", "发", "烧"], ["医", "生", "建", "议"], ["iphone15", "外", "壳"]]
    assert A.streams("不同意") == {"units": "不 同 意", "grams": "不同 同意", "tris": "不同意"}
    assert A.term_parts("不同意") == [("tris", ["不同意"])]  # one term, no phrase to check
    assert A.term_parts("质量问题") == [("tris", ["质量问", "量问题"])]  # a phrase of trigrams
    assert A.term_parts("病假") == [("grams", ["病假"])]
    assert A.term_parts("梅") == [("units", ["梅"])]
    assert A.term_parts("ＴＢ２０２６") == [("units", ["tb2026"])]  # full width folds
    assert A.segments("EC-HR-015-2026-0001 单号") == [["ec-hr-015-2026-0001"], ["单", "号"]]
    # no phrase spans punctuation: the joining n-gram is never made, and a gap keeps the
    # trigrams on either side from being adjacent (红同梅。梅意红 does not contain 红同梅意红)
    assert A.streams("感冒发烧，医生说")["tris"] == "感冒发 冒发烧 | 医生说"
    assert A.streams("红同梅。梅意红 a")["tris"] == "红同梅 | 梅意红"


@pytest.mark.parametrize("query, message", [
    ('"病假', "unbalanced quote"),
    ("(病假 OR 事假", "never closed"),
    ("病假)", "unmatched closing bracket"),
    ("singer:张伟", "did you mean 'signer'"),
    ("created:2026-02-30", "not a date in the calendar"),
    ("created:2026-12-01..2026-11-01", "ends before it starts"),
    ("status:完结", "is not one of"),
    ("病假 OR", "OR needs a term"),
    ("，。", "nothing to search"),
    ("请" * 10_000, "10,000 characters long"),
])
def test_bad_queries_are_refused_with_one_line(query, message):
    with pytest.raises(QueryError) as err:
        parse(query)
    assert message.replace("nothing to search", "has no letters") in str(err.value)
    assert "\n" not in str(err.value)


def flowdoc(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return cli([*args, "--flows", str(FLOWS)], cwd,
               {"FLOWDOC_OPERATOR_PASSPHRASE": OPERATOR_SECRET})


def test_search_command_prints_json_csv_and_refuses_bad_queries(corpus, tmp_path):
    fresh_copy(corpus, tmp_path)
    out = flowdoc(["search", "不同意", "--signer", "李强", "--json"], tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["total"] == 5 and all(h["status"] == "rejected" for h in data["hits"])
    out = flowdoc(["search", "--flow", "EC-CS-021", "--from", "2026-11", "--limit", "3", "--csv"], tmp_path)
    rows = out.stdout.splitlines()  # with a BOM, so Excel reads it as UTF-8
    assert rows[0].startswith("\ufeff编号,流程") and len(rows) == 4
    # the words of the record's page and the inbox (one name per status everywhere)
    assert rows[1].split(",")[3] in ("办理中", "已完成", "已驳回", "已作废", "已退回", "已撤销")
    out = flowdoc(["search", "人手紧张", "--status", "驳回"], tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("5 record(s)"), out.stdout
    assert out.stdout.count("驳回") == 5 and out.stdout.count("【人手紧张】") == 5
    for bad in ['"病假', "(病假", "foo:1", "created:2026-13-01", "x" * 10_000]:
        out = flowdoc(["search", bad], tmp_path)
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "Traceback" not in out.stderr
    for backend in ("whoosh", "tantivy"):  # far past the end: no hits, and no huge allocation
        out = flowdoc(["search", "--backend", backend, "--limit", "10000", "--page", "1000000"],
                      tmp_path)
        assert out.returncode == 0 and out.stdout.startswith("70 record(s); showing none"), out.stderr
    out = flowdoc(["search", "--to", "2026-02-30"], tmp_path)
    assert out.returncode == 2 and "not a date" in out.stderr
    (tmp_path / "empty").mkdir()  # an archive folder nothing was written to yet
    out = flowdoc(["search", "病假", "--archive", "empty"], tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("0 record(s)"), out.stderr


def test_audit_package_verifies_offline_and_every_alteration_is_found(corpus, tmp_path):
    archive = fresh_copy(corpus, tmp_path)
    out = flowdoc(["search", "signer:李强", "--export", "pkg.zip"], tmp_path)
    assert out.returncode == 0, out.stderr
    same = flowdoc(["search", "signer:李强", "--backend", "tantivy", "--export", "t.zip"], tmp_path)
    assert same.returncode == 0, same.stderr
    assert (tmp_path / "t.zip").read_bytes() == (tmp_path / "pkg.zip").read_bytes()
    package = tmp_path / "pkg.zip"
    shutil.rmtree(archive.root)  # offline: the package alone
    out = flowdoc(["verify", "--package", "pkg.zip"], tmp_path)
    assert out.returncode == 0 and "15 record(s)" in out.stdout, out.stdout + out.stderr
    with zipfile.ZipFile(package) as z:
        files = {i.filename: z.read(i) for i in z.infolist()}
    assert sum(n.endswith(".pdf") for n in files) == 5  # the closed (refused) ones
    assert all(files[n].startswith(b"%PDF") for n in files if n.endswith(".pdf"))

    def altered(change) -> list[str]:
        changed = dict(files)
        change(changed)
        target = tmp_path / "bad.zip"
        with zipfile.ZipFile(target, "w") as z:
            for name, data in changed.items():
                z.writestr(name, data)
        problems = verify_package(target).problems
        return problems

    def rehash(changed: dict, name: str, data: bytes) -> None:
        """A forger who also fixes the manifest."""
        import hashlib

        changed[name] = data
        manifest = json.loads(changed["manifest.json"])
        manifest["files"][name] = hashlib.sha256(data).hexdigest()
        changed["manifest.json"] = json.dumps(manifest).encode()

    record = next(n for n in files if n.startswith("records/") and n.endswith(".json"))
    pdf = next(n for n in files if n.endswith(".pdf"))
    entry = sorted(n for n in files if n.startswith("entries/"))[-1]
    assert altered(lambda c: c.update({pdf: c[pdf] + b" "}))  # caught by the manifest
    assert any("differs from the record" in p for p in altered(
        lambda c: rehash(c, record, c[record].replace("同意".encode(), "拒绝".encode()))))
    assert any("not the rendition" in p for p in altered(lambda c: rehash(c, pdf, c[pdf] + b"%")))
    assert any("not proven" in p for p in altered(
        lambda c: rehash(c, entry, c[entry].replace(b'"time":"2026', b'"time":"2025'))))
    middle = next(n for n in files if n.startswith("entries/") and b'"type":"submit"' in files[n]
                  and b"EC-HR-015-2026-0003" in files[n])  # a record signed after it was submitted

    def drop_middle(changed: dict) -> None:
        """A forger who leaves out one event and takes it off the manifest."""
        changed.pop(middle)
        manifest = json.loads(changed["manifest.json"])
        del manifest["files"][middle]
        changed["manifest.json"] = json.dumps(manifest).encode()

    assert any("follows events not in the package" in p for p in altered(drop_middle))
    org = next(n for n in files if n.startswith("orgs/"))  # who held which lane, when
    assert b"people:" in files[org]
    assert any("the org.yaml it registers is missing or altered" in p for p in altered(
        lambda c: rehash(c, org, c[org].replace("李强".encode(), "李刚".encode()))))
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    out = flowdoc(["verify", "--package", "junk.zip"], tmp_path)
    assert out.returncode == 1 and "not a readable zip" in out.stdout


def test_same_records_give_the_same_package_bytes(corpus, tmp_path):
    archive = fresh_copy(corpus, tmp_path)
    wanted = ["EC-HR-015-2026-0003", "EC-CS-021-2026-0002"]
    export_package(archive, wanted, tmp_path / "a.zip", "", FLOWS)
    export_package(archive, list(reversed(wanted)), tmp_path / "b.zip", "", FLOWS)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert verify_package(tmp_path / "a.zip").problems == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_terms_over_a_small_alphabet_match_exactly_as_substrings(tmp_path, backend):
    """A dense corpus (few characters, so terms overlap and repeat in every way) and 300 random
    terms of one to six characters, half taken from the texts: the index answers exactly what
    brute-force substring search answers."""
    from generator.archive.events import RecordState
    from generator.search.documents import record_document
    from generator.search.index import open_backend

    rng = random.Random(2026)
    alphabet = "病假同意不尹红梅，。 "
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30))) for _ in range(400)]
    docs = []
    for i, text in enumerate(texts):
        state = RecordState(f"T-2026-{i:04d}", "T", "A/0", "", "", "", {"note": text}, "x",
                            "2026-11-02T09:00:00Z", history=[{"type": "submit", "seq": i}])
        docs.append(record_document(state, None, None, [i]))
    index = open_backend(backend, tmp_path / "ix")
    index.write(docs, {"seq": 0}, fresh=True)
    terms = [t[a:a + n] for t in rng.sample(texts, 150) for n in [rng.randrange(1, 7)]
             for a in [rng.randrange(max(1, len(t) - n + 1))]]
    terms += ["".join(rng.choice("病假同意不尹红梅") for _ in range(rng.randrange(1, 7))) for _ in range(150)]
    checked = 0
    for term in terms:
        if [list(term)] != A.segments(term):
            continue  # punctuation in a term separates its parts (tested above); here: plain terms
        expected = {f"T-2026-{i:04d}" for i, t in enumerate(texts) if term in t}
        total, hits = index.search(parse(f'"{term}"'), 1000, 0, True)
        assert {h["number"] for h in hits} == expected and total == len(expected), term
        checked += 1
    assert checked > 150
    # and without: "A -B" is what has A and not B (Whoosh's AndNot kept a document here)
    plain = [t for t in terms if [list(t)] == A.segments(t)]
    for a, b in zip(plain[::2], plain[1::2], strict=False):
        expected = {f"T-2026-{i:04d}" for i, t in enumerate(texts) if a in t and b not in t}
        total, hits = index.search(parse(f'"{a}" -"{b}"'), 1000, 0, True)
        assert {h["number"] for h in hits} == expected and total == len(expected), (a, b)


def test_the_fast_token_streams_equal_their_definition():
    """``streams`` slices Chinese-only segments for speed; it must give what the definition
    (units, their bigrams, their trigrams with a gap between segments) gives."""
    rng = random.Random(5)
    alphabet = "病假同意不尹红梅，。 ab1-Ｃ"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 25)))
        segs = A.segments(text)
        assert A.streams(text) == {
            "units": " ".join(u for s in segs for u in s),
            "grams": " ".join(g for s in segs for g in A.bigrams(s)),
            "tris": f" {A.GAP} ".join(" ".join(t) for s in segs if (t := A.ngrams(s, 3)))}, text


def test_verify_package_only_reports_on_damaged_zips(corpus, tmp_path):
    """Random damage to a package (bytes flipped, the file cut, members rewritten with random
    content) is reported, unless it left every member's content as it was; verify --package
    never raises."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    archive = fresh_copy(corpus, tmp_path)
    good = tmp_path / "good.zip"
    export_package(archive, ["EC-HR-015-2026-0003", "EC-CS-021-2026-0001"], good, "", FLOWS)
    data = good.read_bytes()
    with zipfile.ZipFile(good) as z:
        names = z.namelist()

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(draw) -> None:
        how = draw.draw(st.sampled_from(["flip", "cut", "member"]))
        target = tmp_path / "bad.zip"
        if how == "flip":
            at = draw.draw(st.integers(0, len(data) - 1))
            target.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:])
        elif how == "cut":
            target.write_bytes(data[:draw.draw(st.integers(0, len(data) - 1))])
        else:
            name = draw.draw(st.sampled_from(names))
            junk = draw.draw(st.binary(max_size=200))
            with zipfile.ZipFile(good) as z, zipfile.ZipFile(target, "w") as out:
                for n in names:
                    out.writestr(n, junk if n == name else z.read(n))
        problems = verify_package(target).problems
        assert all("\n" not in p for p in problems)
        if not problems:  # only a byte the zip format ignores changed: every member is intact
            with zipfile.ZipFile(good) as z, zipfile.ZipFile(target) as damaged:
                assert all(damaged.read(n) == z.read(n) for n in names)

    check()


def calc_rows(xlsx: Path) -> list[list[str]]:
    """The workbook as LibreOffice Calc reads it, row by row (through its CSV export)."""
    import csv

    out = xlsx.parent / "calc"
    subprocess.run(["soffice", "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(out), str(xlsx)],
                   capture_output=True, timeout=300, check=True,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(xlsx.parent)})
    with (out / (xlsx.stem + ".csv")).open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


@pytest.mark.skipif(not Path("/usr/lib/libreoffice/program/libsclo.so").exists(),
                    reason="LibreOffice Calc is installed by tools/test")
def test_search_results_export_to_a_workbook_calc_opens_as_written(corpus, tmp_path):
    fresh_copy(corpus, tmp_path)
    target = tmp_path / "results.xlsx"
    out = flowdoc(["search", "感冒发烧", "--limit", "5", "--xlsx", str(target)], tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{target}: 5 of ")
    shown = flowdoc(["search", "感冒发烧", "--limit", "5", "--json"], tmp_path)
    hits = json.loads(shown.stdout)["hits"]
    rows = calc_rows(target)
    assert rows[0] == ["编号", "流程", "流程名称", "状态", "申请人", "提交时间", "摘要"]
    assert [r[0] for r in rows[1:]] == [h["number"] for h in hits]
    assert all(r[3] in ("办理中", "已完成", "已驳回", "已作废", "已退回", "已撤销") for r in rows[1:])
    assert all("【感冒发烧】，医生" in r[6] for r in rows[1:])  # the text as written, marked
    again = tmp_path / "again.xlsx"
    flowdoc(["search", "感冒发烧", "--limit", "5", "--xlsx", str(again)], tmp_path)
    assert again.read_bytes() == target.read_bytes()  # same results, same bytes


def test_a_workbook_keeps_markup_and_control_characters_as_text(tmp_path):
    from generator.xlsx import workbook

    target = tmp_path / "odd.xlsx"
    target.write_bytes(workbook(["a", "b"], [["<b>&amp;\"x\"</b>", "响铃\x07与退格\x08"],
                                             ["=1+1", "全角，标点。"]]))
    if not Path("/usr/lib/libreoffice/program/libsclo.so").exists():
        pytest.skip("LibreOffice Calc is installed by tools/test")
    assert calc_rows(target)[1:] == [["<b>&amp;\"x\"</b>", "响铃\\x07与退格\\x08"],
                                     ["=1+1", "全角，标点。"]]  # a formula stays text
