"""The web application through Flask's test client: what each kind of user can do, and the
security rules of every request (issue 17). The real browser runs in test_web_browser.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import OPERATOR_SECRET, secret

from generator.archive.store import Archive
from generator.archive.verify import verify
from generator.web import create_app

PEOPLE = ("赵敏", "李强", "张伟", "周婷", "方圆", "王芳", "郑丽", "马超")


@pytest.fixture(scope="module")
def seeded(trusted, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("web") / "records"
    trusted.archive(target, PEOPLE)
    return target


@pytest.fixture
def site(trusted, seeded, tmp_path):
    import shutil

    from generator.web import security

    security.THROTTLE.failures.clear()
    shutil.copytree(seeded, tmp_path / "records")
    app = create_app(trusted.flows, tmp_path / "records", operator_passphrase=OPERATOR_SECRET,
                     testing=True)
    app.archive_dir = tmp_path / "records"
    return app


def token(page: bytes) -> str:
    found = re.search(rb'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1).decode()


def login(app, name: str, passphrase: str | None = None):
    client = app.test_client()
    page = client.get("/login").data
    response = client.post("/login", data={"csrf": token(page), "name": name,
                                           "passphrase": passphrase or secret(name)})
    assert response.status_code == 302, response.data.decode()[:400]
    return client


def csrf_of(client, path: str = "/") -> str:
    return token(client.get(path).data)


def leave_form(days: int = 10, reason: str = "家中有事") -> dict[str, str]:
    return {"leave_type": "事假", "start": "2026-12-01",
            "end": f"2026-12-{days:02d}", "reason": reason}


def submit_leave(client, days: int = 10, reason: str = "家中有事", who: str = "赵敏",
                 passphrase: str | None = None) -> str:
    form = {"csrf": csrf_of(client, "/new/EC-HR-015"), **leave_form(days, reason)}
    confirm = client.post("/new/EC-HR-015", data=form)
    assert confirm.status_code == 200, confirm.data.decode()[:600]
    html = confirm.data.decode()
    assert "签名并提交" in html and ("分管总监" in html) == (days > 5)
    payload = re.search(r'name="payload" value="([^"]+)"', html).group(1)
    import html as h

    done = client.post("/new/EC-HR-015/submit", data={
        "csrf": token(confirm.data), "payload": h.unescape(payload),
        "passphrase": passphrase or secret(who)})
    assert done.status_code == 302, done.data.decode()[:600]
    return done.headers["Location"].rsplit("/", 1)[1]


def sign(client, number: str, step: str, decision: str = "同意", person: str | None = None,
         passphrase: str | None = None):
    page = client.get(f"/records/{number}")
    assert page.status_code == 200
    return client.post(f"/records/{number}/sign", data={
        "csrf": token(page.data), "step": step, "decision": decision, "comment": "",
        "passphrase": passphrase or secret(person)})


# -- staff fill and sign ---------------------------------------------------------------------------

def test_a_leave_is_filled_submitted_and_approved_by_the_applicants_own_head(site):
    zhao = login(site, "赵敏")
    preview = zhao.post("/api/preview/EC-HR-015", data=leave_form(10),
                        headers={"X-CSRF-Token": csrf_of(zhao)})
    answer = preview.get_json()
    assert answer["values"]["days"] == "10"
    assert answer["route"].startswith("部门负责人（李强） → 分管总监（张伟） → 人力资源部")
    number = submit_leave(zhao)
    assert number.startswith("EC-HR-015-")
    assert number in zhao.get("/").data.decode()  # 我发起的

    li = login(site, "李强")
    inbox = li.get("/").data.decode()
    waiting = inbox.split('id="waiting"')[1].split("</section>")[0]
    assert number in waiting and "审批（部门负责人）" in waiting
    zheng = login(site, "郑丽")  # a head of another department: not hers, not even to look at
    assert number not in zheng.get("/").data.decode()
    assert zheng.get(f"/records/{number}").status_code == 403

    refused = sign(li, number, "head_approve", passphrase="wrong passphrase")
    assert refused.status_code == 302 and "error=" in refused.headers["Location"]
    assert sign(li, number, "head_approve", person="李强").status_code == 302
    assert sign(login(site, "张伟"), number, "director_approve", person="张伟").status_code == 302
    page = login(site, "周婷").get(f"/records/{number}").data.decode()
    assert "审批（人力资源部）" in page or "人力资源部" in page
    assert 'id="sign"' in page  # 周婷 (人力资源部) may sign now
    assert verify(Archive(site.archive_dir), site.config["FLOWDOC_WORKSPACE"].library).ok


def test_field_errors_are_shown_next_to_the_field_in_chinese_terms(site):
    zhao = login(site, "赵敏")
    form = {"csrf": csrf_of(zhao, "/new/EC-HR-015"), "leave_type": "事假",
            "start": "2026-12-05", "end": "2026-12-01"}
    page = zhao.post("/new/EC-HR-015", data=form)
    assert page.status_code == 422
    html = page.data.decode()
    assert 'data-error-for="reason"' in html and "请假事由" in html


def test_values_with_markup_are_shown_as_text(site):
    zhao = login(site, "赵敏")
    hostile = '<script>alert(1)</script> "{{ 7*7 }}"'
    number = submit_leave(zhao, 3, hostile)
    html = zhao.get(f"/records/{number}").data.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "{{ 7*7 }}" in html
    assert "49" not in html.split('id="history"')[0].split("请假事由")[1][:200]


# -- security --------------------------------------------------------------------------------------

def test_login_is_throttled_after_five_failures_and_one_message_for_every_reason(site):
    client = site.test_client()
    messages = []
    for name, passphrase in (("无此人", "x"), ("赵敏", "nope!"), ("赵敏", ""), ("王芳", "nope!"),
                             ("赵敏", "nope!")):
        page = client.get("/login").data
        r = client.post("/login", data={"csrf": token(page), "name": name,
                                        "passphrase": passphrase})
        assert r.status_code == 401
        messages.append(re.search(r'role="alert">([^<]+)<', r.data.decode()).group(1))
    assert set(messages) == {"姓名或口令不正确"}  # unknown name, wrong passphrase: one message
    page = client.get("/login").data
    r = client.post("/login", data={"csrf": token(page), "name": "赵敏",
                                    "passphrase": secret("赵敏")})
    assert r.status_code == 401 and "15 分钟" in r.data.decode()  # right, but locked out


def test_the_live_preview_shows_the_grade_the_total_gives(site):
    wang = login(site, "王芳")
    form = {"kpis.0.weight": "60", "kpis.0.score": "55", "kpis.1.weight": "40",
            "kpis.1.score": "30", "grade": "A"}  # a grade typed in is not read: it is computed
    answer = wang.post("/api/preview/EC-HR-016", data=form,
                       headers={"X-CSRF-Token": csrf_of(wang)}).get_json()
    assert answer["values"]["total_score"] == "85" and answer["values"]["grade"] == "B"
    page = wang.get("/new/EC-HR-016").data.decode()
    assert 'data-derived="grade"' in page


def test_every_state_changing_request_needs_the_csrf_token(site):
    zhao = login(site, "赵敏")
    for path in ("/new/EC-HR-015", "/logout", "/api/preview/EC-HR-015"):
        assert zhao.post(path, data=leave_form()).status_code == 400
    client = site.test_client()
    assert client.post("/login", data={"name": "赵敏", "passphrase": secret("赵敏")}
                       ).status_code == 400


def test_headers_cookies_and_no_passphrase_in_the_session(site):
    zhao = login(site, "赵敏")
    r = zhao.get("/")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Cache-Control"] == "no-store"
    # the web font is the same for everyone: kept a day, not fetched again by every page
    font = zhao.get("/fonts/FlowdocSansSC-Regular.ttf")
    assert font.status_code == 200 and "max-age=86400" in font.headers["Cache-Control"]
    font.close()
    client = site.test_client()
    page = client.get("/login").data
    r = client.post("/login", data={"csrf": token(page), "name": "赵敏",
                                    "passphrase": secret("赵敏")})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    with client.session_transaction() as session:
        assert secret("赵敏") not in repr(dict(session))
        assert set(session) == {"person", "seen", "csrf"}


ROUTES = [("/", ()), ("/new", ()), ("/new/EC-HR-015", ()), ("/search", ("auditor", "doc")),
          ("/flows/EC-HR-015", ()), ("/publication", ("doc",)),
          ("/publication/progress.json", ("doc",)),
          ("/search.csv", ("auditor", "doc")), ("/search.xlsx", ("auditor", "doc")),
          ("/archive", ("auditor", "doc")),
          ("/flows", ("doc",)), ("/keys", ("doc",)),  # 王芳 is the registrar and the 文控
          ("/passphrase", ())]


@pytest.mark.parametrize(("path", "allowed"), ROUTES)
def test_every_route_by_role(site, path, allowed):
    anonymous = site.test_client().get(path)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for kind, person in (("staff", "赵敏"), ("auditor", "方圆"), ("doc", "王芳")):
        status = login(site, person).get(path).status_code
        expected = 200 if (not allowed or kind in allowed) else 403
        assert status == expected, (path, person, status)


def test_an_auditor_searches_exports_csv_with_a_bom_and_a_package(site, tmp_path):
    import html as h

    zhao = login(site, "赵敏")
    number = submit_leave(zhao, 3, "孩子发烧需要照顾")
    submit_leave(zhao, 2, "家中装修")
    song = login(site, "方圆")
    page = song.get("/search?q=发烧").data.decode()
    assert "共 1 条记录" in page and number in page and "【发烧】" in page
    # facets count the matches; a facet's link narrows the search to its value
    everything = song.get("/search").data.decode()
    panel = everything.split('id="facets"')[1].split("</aside>")[0]
    assert "员工请假管理</a> <span class=\"count\">2</span>" in panel
    assert "办理中</a> <span class=\"count\">2</span>" in panel
    link = re.search(r'href="([^"]*status=[^"]*)">办理中', panel).group(1)
    narrowed = song.get(h.unescape(link)).data.decode()
    assert "共 2 条记录" in narrowed and 'class="chosen"><a' in narrowed
    csv = song.get("/search.csv?q=发烧")
    assert csv.data.startswith("\ufeff编号".encode()) and number.encode() in csv.data
    assert 'id="xlsx"' in page
    xlsx = song.get("/search.xlsx?q=发烧")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(xlsx.data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert number in sheet and "【发烧】" in sheet and "家中装修" not in sheet
    package = song.post("/search/package?q=发烧", data={"csrf": csrf_of(song, "/search")})
    assert package.status_code == 200 and package.data[:2] == b"PK"
    (tmp_path / "p.zip").write_bytes(package.data)
    from generator.service import audit

    report = audit.verify_package(site.config["FLOWDOC_WORKSPACE"].flows_dir, tmp_path / "p.zip")
    assert report.problems == [] and report.independent, report.problems
    assert song.get(f"/records/{number}").status_code == 200  # auditors read every record


def test_enrolment_by_invitation_then_a_registrar_approves_then_login(site):
    from generator.service import people

    ws = site.config["FLOWDOC_WORKSPACE"]
    link = people.invite(ws, "孙磊")
    client = site.test_client()
    page = client.get(f"/enrol/{link}")
    assert page.status_code == 200 and "孙磊" in page.data.decode()
    weak = client.post(f"/enrol/{link}", data={"csrf": token(page.data),
                                               "passphrase": "孙磊孙磊孙磊孙磊孙磊1",
                                               "again": "孙磊孙磊孙磊孙磊孙磊1"})
    assert weak.status_code == 422 and "姓名" in weak.data.decode()
    good = "晴天-霹雳-2026-盐"
    done = client.post(f"/enrol/{link}", data={"csrf": token(page.data), "passphrase": good,
                                               "again": good})
    assert "已登记" in done.data.decode()
    assert client.get(f"/enrol/{link}").status_code == 404  # used once
    assert (site.archive_dir / "invites.json").stat().st_mode & 0o077 == 0
    page = site.test_client().get("/login").data
    assert site.test_client().post("/login", data={"csrf": token(page), "name": "孙磊",
                                                   "passphrase": good}).status_code == 400
    wang = login(site, "王芳")
    keys_page = wang.get("/keys")
    assert "孙磊" in keys_page.data.decode()
    approved = wang.post("/keys", data={"csrf": token(keys_page.data), "person": "孙磊",
                                        "passphrase": secret("王芳")})
    assert approved.status_code == 302
    login(site, "孙磊", good)


def test_the_cookie_is_secure_when_the_request_came_over_https(trusted, seeded, tmp_path):
    import shutil

    shutil.copytree(seeded, tmp_path / "records")
    app = create_app(trusted.flows, tmp_path / "records", operator_passphrase=OPERATOR_SECRET,
                     behind_proxy=True, testing=True)
    client = app.test_client()
    page = client.get("/login", headers={"X-Forwarded-Proto": "https"}).data
    r = client.post("/login", data={"csrf": token(page), "name": "赵敏",
                                    "passphrase": secret("赵敏")},
                    headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in r.headers["Set-Cookie"]
    plain = app.test_client()
    page = plain.get("/login").data
    r = plain.post("/login", data={"csrf": token(page), "name": "赵敏",
                                   "passphrase": secret("赵敏")})
    assert "Secure" not in r.headers["Set-Cookie"]


def test_clients_at_once_against_a_running_server_lose_nothing(site):
    """Eight clients submit and two holders race for one step, all through waitress: every
    acknowledged record is in the archive, one signature of the race wins, verify passes."""
    import threading

    from waitress.server import create_server

    server = create_server(site, host="127.0.0.1", port=0, threads=8)
    port = server.effective_port
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        import http.cookiejar
        import urllib.error
        import urllib.parse
        import urllib.request

        base = f"http://127.0.0.1:{port}"

        def opener_for(name):
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            page = opener.open(base + "/login").read()
            opener.open(base + "/login", urllib.parse.urlencode(
                {"csrf": token(page), "name": name, "passphrase": secret(name)}).encode())
            return opener

        numbers, errors = [], []

        def submit(i):
            try:
                opener = opener_for("赵敏")
                page = opener.open(base + "/new/EC-HR-015").read()
                confirm = opener.open(base + "/new/EC-HR-015", urllib.parse.urlencode(
                    {"csrf": token(page), **leave_form(2, f"并发提交 {i}")}).encode()).read()
                import html

                payload = html.unescape(re.search(rb'name="payload" value="([^"]+)"',
                                                  confirm).group(1).decode())
                done = opener.open(base + "/new/EC-HR-015/submit", urllib.parse.urlencode(
                    {"csrf": token(confirm), "payload": payload,
                     "passphrase": secret("赵敏")}).encode())
                numbers.append(done.geturl().rsplit("/", 1)[1])
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors and len(set(numbers)) == 8, (errors, numbers)
        target = numbers[0]
        sign(login(site, "李强"), target, "head_approve", person="李强")
        results = []
        ready = threading.Barrier(2)

        def race(name):
            opener = opener_for(name)
            page = opener.open(f"{base}/records/{target}").read()
            ready.wait()  # both have the page: now both sign
            try:
                answer = opener.open(f"{base}/records/{target}/sign", urllib.parse.urlencode(
                    {"csrf": token(page), "step": "hr_approve", "decision": "同意",
                     "comment": "", "passphrase": secret(name)}).encode())
                results.append((answer.geturl(), ""))
            except urllib.error.HTTPError as exc:  # the loser may no longer open the record
                results.append(("refused", exc.read().decode()))

        racers = [threading.Thread(target=race, args=(n,)) for n in ("周婷", "马超")]
        for t in racers:
            t.start()
        for t in racers:
            t.join(timeout=120)
        won = [u for u, _ in results if u.endswith(target)]
        lost = [(u, body) for u, body in results if not u.endswith(target)]
        assert len(won) == 1 and len(lost) == 1, results
        url, body = lost[0]
        told = urllib.parse.unquote(url) + body
        assert "该环节已由" in told and ("周婷" in told or "马超" in told), told
    finally:
        server.close()
    archive = Archive(site.archive_dir)
    from generator.archive.events import states

    archived = states(archive.entries())
    assert all(n in archived for n in numbers)
    assert archived[target].status == "complete"
    assert verify(archive, site.config["FLOWDOC_WORKSPACE"].library).ok


def test_the_record_page_proves_the_record_is_in_the_signed_log(site):
    zhao = login(site, "赵敏")
    number = submit_leave(zhao, 2, "体检")
    page = zhao.get(f"/records/{number}").data.decode()
    assert "已验证：提交条目为档案第" in page
    log = site.archive_dir / "log.jsonl"
    data = log.read_bytes()
    log.write_bytes(data.replace("体检".encode(), "休假".encode()))  # an insider edits the log
    page = zhao.get(f"/records/{number}").data.decode()
    line = page.split('id="integrity"')[1].split("</dd>")[0]
    assert "未通过" in line and "does not lead to the checkpoint" in line


def test_a_head_returns_a_record_and_the_applicant_sends_it_on_again(site):
    zhao = login(site, "赵敏")
    number = submit_leave(zhao, 3, "家中有事")
    li = login(site, "李强")
    page = li.get(f"/records/{number}")
    r = li.post(f"/records/{number}/return", data={
        "csrf": token(page.data), "step": "head_approve", "reason": "请写明具体事由",
        "passphrase": secret("李强")})
    assert r.status_code == 302 and "error=" not in r.headers["Location"]
    page = zhao.get(f"/records/{number}").data.decode()
    assert "已退回" in page and 'id="resubmit"' in page and "请写明具体事由" in page
    r = zhao.post(f"/records/{number}/resubmit", data={
        "csrf": token(page.encode()), "reason": "已补充", "passphrase": secret("赵敏")})
    assert r.status_code == 302
    assert number in li.get("/").data.decode().split('id="waiting"')[1].split("</section>")[0]


def test_a_filled_pdf_form_can_be_uploaded_and_a_hostile_file_is_refused_in_one_line(site):
    import io

    from formfill import fill_with_pikepdf

    from generator.service import documents

    ws = site.config["FLOWDOC_WORKSPACE"]
    blank = documents.form(ws, "EC-HR-015", site.archive_dir / "leave.pdf").read_bytes()
    zhao = login(site, "赵敏")
    csrf = csrf_of(zhao, "/new/EC-HR-015")
    page = zhao.post("/new/EC-HR-015/upload", data={
        "csrf": csrf, "pdf": (io.BytesIO(fill_with_pikepdf(blank, UPLOAD)), "请假单.pdf")},
        content_type="multipart/form-data")
    assert page.status_code == 200, page.data.decode()[:800]
    html = page.data.decode()
    assert "签名并提交" in html and "上传测试" in html and "分管总监" in html
    bad = zhao.post("/new/EC-HR-015/upload", data={
        "csrf": csrf, "pdf": (io.BytesIO(b"%PDF-1.7\n" + b"\x00" * 100), "坏.pdf")},
        content_type="multipart/form-data")
    assert bad.status_code == 422
    message = re.search(r'role="alert">([^<]+)<', bad.data.decode()).group(1)
    assert "坏.pdf" in message and "\n" not in message


UPLOAD = {"fields.leave_type": "病假", "fields.start": "2026-12-01", "fields.end": "2026-12-08",
          "fields.reason": "上传测试"}


def test_a_person_changes_their_passphrase_and_the_old_one_no_longer_logs_in(site):
    zhao = login(site, "赵敏")
    new = "spring rain over the west lake"
    page = zhao.get("/passphrase").data.decode()
    assert "修改口令" in page and 'autocomplete="current-password"' in page
    refused = zhao.post("/passphrase", data={"csrf": csrf_of(zhao), "old": secret("赵敏"),
                                             "new": "赵敏的口令12345", "again": "赵敏的口令12345"})
    assert refused.status_code == 422 and "口令不能包含自己的姓名" in refused.data.decode()
    wrong = zhao.post("/passphrase", data={"csrf": csrf_of(zhao), "old": "not her passphrase",
                                           "new": new, "again": new})
    assert wrong.status_code == 422 and "原口令不正确" in wrong.data.decode()
    done = zhao.post("/passphrase", data={"csrf": csrf_of(zhao), "old": secret("赵敏"),
                                          "new": new, "again": new})
    assert done.status_code == 302
    assert "口令已修改" in zhao.get("/").data.decode()
    client = site.test_client()
    page = client.get("/login").data
    old = client.post("/login", data={"csrf": token(page), "name": "赵敏",
                                      "passphrase": secret("赵敏")})
    assert old.status_code == 401
    number = submit_leave(login(site, "赵敏", new), passphrase=new)
    assert number.startswith("EC-HR-015-")


def test_the_record_page_draws_the_path_taken_over_the_chart(site):
    import io

    from PIL import Image

    zhao = login(site, "赵敏")
    number = submit_leave(zhao, 10, "体检")
    page = zhao.get(f"/records/{number}").data.decode()
    src = re.search(r'<img src="(/records/[^"]+/chart-1\.png)"', page)
    assert src and "已走路径" in page
    chart = zhao.get(src.group(1))
    assert chart.status_code == 200 and chart.mimetype == "image/png"
    colours = {c for _, c in Image.open(io.BytesIO(chart.data)).convert("RGB").getcolors(1 << 20)}
    assert (0x1F, 0x6F, 0xD1) in colours and (0xE0, 0x7B, 0x00) in colours  # path, waiting step
    assert zhao.get(f"/records/{number}/chart-99.png").status_code == 404
    # someone with no part in the record sees neither the record nor its chart
    assert login(site, "马超").get(src.group(1)).status_code == 403


@pytest.fixture
def own_site(trusted, seeded, tmp_path):
    """A site on a copy of the flows, which a test signs (the publication, built beside
    them, is the browser scenario's: tests/test_web_browser.py)."""
    import shutil

    from generator.web import security

    security.THROTTLE.failures.clear()
    root = tmp_path / "site"
    shutil.copytree(trusted.flows, root / "flows")
    shutil.copytree(trusted.root / "templates", root / "templates")
    shutil.copytree(seeded, root / "records")
    return create_app(root / "flows", root / "records", operator_passphrase=OPERATOR_SECRET,
                      testing=True)


def test_a_process_owner_signs_a_flow_in_its_signature_dialog(own_site):
    from generator.checks import check_paths

    li = login(own_site, "李强")
    page = li.get("/flows/EC-MK-022").data.decode()
    assert "签署本流程" in page and "审核</dt><dd>—" in page
    wrong = li.post("/flows/EC-MK-022", data={"csrf": csrf_of(li, "/flows/EC-MK-022"),
                                             "meaning": "审核", "passphrase": "not his"})
    assert wrong.status_code == 422 and "no signing key of theirs unlocks" in wrong.data.decode()
    path = own_site.config["FLOWDOC_WORKSPACE"].flows_dir / "22-new-product-marketing.yaml"
    assert "reviewed:" not in path.read_text(encoding="utf-8")  # nothing written
    done = li.post("/flows/EC-MK-022", data={"csrf": csrf_of(li, "/flows/EC-MK-022"),
                                            "meaning": "审核", "passphrase": secret("李强")})
    assert done.status_code == 302
    page = li.get("/flows/EC-MK-022").data.decode()
    assert "已签署 EC-MK-022 的审核" in page and "审核</dt><dd>李强" in page
    assert "签名已验证" in page.split("审核</dt>")[1].split("</dd>")[0]
    text = path.read_text(encoding="utf-8")
    assert "reviewed: {by: 李强" in text and "sig: " in text.split("reviewed:")[1]
    assert check_paths([path.parent]).ok


def test_the_applicant_corrects_a_value_and_the_history_shows_before_and_after(site):
    zhao = login(site, "赵敏")
    number = submit_leave(zhao, 3, "家中有事")
    page = zhao.get(f"/records/{number}").data.decode()
    assert 'id="correct"' in page and 'name="set-end" value="2026-12-03"' in page
    unchanged = zhao.post(f"/records/{number}/correct", data={
        "csrf": csrf_of(zhao, f"/records/{number}"), "set-end": "2026-12-03",
        "reason": "无", "passphrase": secret("赵敏")})
    assert "没有改动任何字段" in zhao.get(unchanged.headers["Location"]).data.decode()
    done = zhao.post(f"/records/{number}/correct", data={
        "csrf": csrf_of(zhao, f"/records/{number}"), "set-end": "2026-12-05",
        "set-reason": "家中有事", "reason": "多请两天", "passphrase": secret("赵敏")})
    page = zhao.get(done.headers["Location"]).data.decode()
    assert "已更正：结束日期" in page
    row = page.split("多请两天")[1].split("</td>")[0]
    assert "结束日期：<del>2026-12-03</del> → 2026-12-05" in row
    assert "<dt>请假天数</dt><dd>5天</dd>" in page  # derived again from the new end
    # a value the flow refuses is refused in one line, and nothing is archived
    log = (site.archive_dir / "log.jsonl").read_bytes()
    bad = zhao.post(f"/records/{number}/correct", data={
        "csrf": csrf_of(zhao, f"/records/{number}"), "set-end": "2026-11-01",
        "reason": "试试", "passphrase": secret("赵敏")})
    assert "error=" in bad.headers["Location"]
    assert (site.archive_dir / "log.jsonl").read_bytes() == log
    # nobody but the applicant is offered the form, nor may post it
    li = login(site, "李强")
    assert 'id="correct"' not in li.get(f"/records/{number}").data.decode()
    refused = li.post(f"/records/{number}/correct", data={
        "csrf": csrf_of(li, f"/records/{number}"), "set-end": "2026-12-09", "reason": "x",
        "passphrase": secret("李强")})
    assert "error=" in refused.headers["Location"]
    assert (site.archive_dir / "log.jsonl").read_bytes() == log


def test_a_head_hands_a_step_on_and_names_a_deputy(site):
    import datetime as dt

    from generator.service import records

    zhao = login(site, "赵敏")
    number = submit_leave(zhao, 3, "家中有事")
    li = login(site, "李强")
    page = li.get(f"/records/{number}").data.decode()
    form = page.split('id="transfer-to"')[1].split("</select>")[0]
    assert "<option>吴刚</option>" in form and "李强" not in form and "赵敏" not in form
    done = li.post(f"/records/{number}/transfer", data={
        "csrf": csrf_of(li, f"/records/{number}"), "step": "head_approve", "to": "吴刚",
        "reason": "出差一周", "passphrase": secret("李强")})
    assert "已转交 吴刚" in li.get(done.headers["Location"]).data.decode()
    found = records.waiting(site.config["FLOWDOC_WORKSPACE"], number)
    assert found.signers.people == ("吴刚",) and not found.may_sign("李强")
    assert number not in li.get("/").data.decode().split('id="waiting"')[1].split('id="mine"')[0]
    # 代理: 李强 names 张伟 for the next days; the next leave waits for 李强 or 张伟 for him
    page = li.get("/delegate").data.decode()
    assert "<option>张伟</option>" in page and "<option>李强</option>" not in page
    today = dt.date.today()
    bad = li.post("/delegate", data={"csrf": csrf_of(li, "/delegate"), "deputy": "张伟",
                                     "from": str(today), "until": str(today - dt.timedelta(1)),
                                     "passphrase": secret("李强")})
    assert bad.status_code == 422 and "ends" in bad.data.decode()
    ok = li.post("/delegate", data={"csrf": csrf_of(li, "/delegate"), "deputy": "张伟",
                                    "from": str(today), "until": str(today + dt.timedelta(3)),
                                    "reason": "休假", "passphrase": secret("李强")})
    assert ok.status_code == 302
    second = submit_leave(zhao, 2, "体检")
    inbox = login(site, "张伟").get("/").data.decode()
    waiting = inbox.split('id="waiting"')[1].split('id="mine"')[0]
    assert second in waiting and "代 李强" in waiting


def test_verify_runs_in_the_background_one_at_a_time_and_shows_the_four_properties(site):
    import time

    fang = login(site, "方圆")
    assert fang.get("/archive/verify.json").get_json()["running"] is False
    started = fang.post("/archive", data={"csrf": csrf_of(fang, "/archive")})
    assert started.status_code == 302
    deadline = time.monotonic() + 120
    while fang.get("/archive/verify.json").get_json()["running"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    page = fang.get("/archive").data.decode()
    assert 'id="report"' in page and "通过" in page and "校验完成于" in page
    # an insider edits the log: the next verify says so
    log = site.archive_dir / "log.jsonl"
    data = bytearray(log.read_bytes())
    data[len(data) // 2] ^= 1
    log.write_bytes(bytes(data))
    fang.post("/archive", data={"csrf": csrf_of(fang, "/archive")})
    while fang.get("/archive/verify.json").get_json()["running"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    report = fang.get("/archive").data.decode().split('id="report"')[1]
    assert "<strong>完整性</strong>" in report and "通过：" not in report


def test_a_job_runs_once_at_a_time_and_shows_why_it_failed():
    import threading
    import time

    from generator.errors import FlowdocError
    from generator.web.jobs import Job

    gate, job = threading.Event(), Job()

    def first(progress):
        progress(1, 2, "EC-HR-015")
        gate.wait(10)
        return "done"

    assert job.start(first)
    assert not job.start(lambda progress: "second")  # refused while the first runs
    deadline = time.monotonic() + 10
    while job.as_dict()["done"] != 1:
        assert time.monotonic() < deadline
    assert job.as_dict() | {"seconds": 0} == {"running": True, "done": 1, "total": 2,
                                               "name": "EC-HR-015", "error": "", "finished": "",
                                               "seconds": 0}
    gate.set()
    while job.running:
        assert time.monotonic() < deadline
    assert job.result == "done" and job.error == "" and job.finished

    def broken(progress):
        raise FlowdocError("templates/manual.docx: missing")

    assert job.start(broken)
    while job.running:
        assert time.monotonic() < deadline
    assert job.error == "templates/manual.docx: missing" and job.result is None


def test_the_inbox_counts_every_step_waiting_and_lists_the_oldest(site, monkeypatch):
    from generator.service import inbox

    zhao = login(site, "赵敏")
    numbers = [submit_leave(zhao, 2, f"事由{i}") for i in range(3)]
    monkeypatch.setattr(inbox, "LIST", 2)  # a page lists the LIST that waited longest
    page = login(site, "李强").get("/").data.decode()
    waiting = page.split('id="waiting"')[1].split('id="mine"')[0]
    assert "待我审批（3）" in waiting and "仅显示等待最久的 2 条" in waiting
    assert numbers[0] in waiting and numbers[1] in waiting and numbers[2] not in waiting
    assert waiting.index(numbers[0]) < waiting.index(numbers[1])


def test_two_servers_with_one_session_secret_share_logins_and_each_catches_up_with_the_log(
        trusted, seeded, tmp_path, request):
    """Two `flowdoc serve` behind one load balancer, over one archive in PostgreSQL, each with
    its own machine folder: started with the same --session-secret-file, a login made on one
    is a login on the other; a record archived by a third writer shows in 李强's 待办 on both
    (each server's waiting list catches up with the shared log by position). A secret too
    short to sign with stops the server, naming it."""
    import datetime as dt
    import http.cookiejar
    import os
    import shutil
    import urllib.parse
    import urllib.request

    from conftest import as_store, cli, location, start_server

    from generator.archive import events
    from generator.archive.trusting import unlock_operator
    from generator.records import RecordInput

    shutil.copytree(seeded, tmp_path / "records")
    archive = as_store(Archive(tmp_path / "records",
                               unlock_operator(tmp_path / "records", OPERATOR_SECRET)),
                       "postgresql", request)
    short = tmp_path / "short.secret"
    short.write_bytes(b"0123456789")
    result = cli(["serve", "--archive", str(tmp_path / "records"), "--flows", str(trusted.flows),
                  "--session-secret-file", str(short)], tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (f"flowdoc: {short}: a session secret needs at least 32 "
                                     f"bytes (head -c 32 /dev/urandom > {short})")
    shared = tmp_path / "session.secret"
    shared.write_bytes(os.urandom(32))

    servers = []
    try:
        for k in (1, 2):
            servers.append(start_server(
                tmp_path, "--archive", location(archive), "--flows", str(trusted.flows),
                env={"FLOWDOC_SESSION_SECRET_FILE": str(shared),
                     "FLOWDOC_OPERATOR_KEY": str(tmp_path / "records" / "operator.key"),
                     "FLOWDOC_STATE_DIR": str(tmp_path / f"machine{k}")}))
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        (_, a), (_, b) = servers
        page = opener.open(a + "/login").read()
        opener.open(a + "/login", urllib.parse.urlencode(
            {"csrf": token(page), "name": "李强", "passphrase": secret("李强")}).encode())
        # the jar sends the session cookie to either: a cookie is the host's, not the port's
        before = [opener.open(url + "/").read().decode() for url in (a, b)]
        assert all("待我审批" in page and "李强" in page for page in before)

        number = events.submit(
            archive, trusted.library, RecordInput("EC-HR-015", {
                "leave_type": "事假", "start": "2026-12-01", "end": "2026-12-02",
                "reason": "两台服务器"}, "leave.yaml"), b"x", "赵敏", secret("赵敏"),
            dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC))
        after = [opener.open(url + "/").read().decode() for url in (a, b)]
        assert all(number in page for page in after) and not any(number in p for p in before)
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=10)
