"""The web application in a real browser (Debian's Chromium through Selenium) against a real
`flowdoc serve` process: an invitation, an enrolment, a registrar's approval, a leave filled
and signed, approved by the applicant's own head and director, found by an auditor, exported
and verified, and the publication rebuilt and downloaded. Staff work at a phone's width, the
registrar, the auditor and the document controller at a desk's. Every page must fit a 390 px
phone's width (no sideways scrolling); with FLOWDOC_SHOTS naming a folder, each is also saved
there as a screenshot, desktop and phone width, for a person to look at."""

from __future__ import annotations

import io
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import cli, secret, start_server
from pypdf import PdfReader

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
if not (CHROMIUM.exists() and DRIVER.exists()):
    pytest.fail("the browser tests need Debian's chromium and chromium-driver: run ./tools/test "
                "(it installs them) or apt-get install chromium chromium-driver",
                pytrace=False)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


def waiting(driver, seconds: float) -> WebDriverWait:
    """A wait that looks again when the page it read went away under it: a submit's answer
    can replace the page between finding an element and reading its text. It looks every
    50 ms, not Selenium's default 500: the scenario waits some thirty times for pages that
    come in a tenth of a second."""
    return WebDriverWait(driver, seconds, poll_frequency=0.05,
                         ignored_exceptions=(NoSuchElementException,
                                             StaleElementReferenceException))


@pytest.fixture(scope="module")
def server(trusted, tmp_path_factory):
    """`flowdoc serve` on a free port over a copy of the trusted archive (李强, 张伟 and the
    auditor 方圆 have vouched keys; 赵敏 has none yet)."""
    root = tmp_path_factory.mktemp("served")
    trusted.archive(root / "records", ("李强", "张伟", "方圆"))
    proc, url = start_server(root, "--archive", str(root / "records"), "--flows",
                             str(trusted.flows), "--build", str(root / "build"))
    yield url, root
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--window-size=1280,900", "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def fetch(url: str, cookie: str, data: bytes | None = None) -> tuple[int, dict, bytes]:
    """A request as a logged-in person's own client makes it (their session's cookie):
    status, headers, body, for an error status too."""
    request = urllib.request.Request(url, data=data, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


PHONE, DESK = 390, 1280  # window widths, px


class Visit:
    """The browser with the scenario's helpers: log in as someone, fill, shoot each page."""

    def __init__(self, driver, url: str, shots: Path | None) -> None:
        self.d, self.url, self.shots = driver, url, shots
        self.n = 0
        self.width = DESK  # the browser fixture's window

    def go(self, path: str) -> None:
        self.d.get(self.url + path)

    def use(self, width: int) -> None:
        """The width the next steps happen at: staff enrol, fill and approve on a phone; the
        registrar, the auditor and the document controller work at a desk."""
        if width != self.width:
            self.d.set_window_size(width, 900)
            self.width = width

    def shoot(self, name: str) -> None:
        """The page at a 390 px phone width must not scroll sideways (a long hash or a table
        wider than the screen would); with FLOWDOC_SHOTS, a screenshot at desktop and at
        phone width (capturing them is a quarter of the scenario's time: asked for, not
        taken on every run)."""
        self.n += 1
        if self.width != PHONE:
            self.d.set_window_size(PHONE, 900)
        wide, seen = self.d.execute_script("return [document.documentElement.scrollWidth, "
                                           "document.documentElement.clientWidth]")
        assert wide <= seen, f"{name}: {wide} px wide on a {seen} px phone screen"
        for width, label in ((DESK, "desktop"), (PHONE, "phone")) if self.shots else ():
            self.d.set_window_size(width, 900)
            height = self.d.execute_script("return document.body.scrollHeight")
            self.d.set_window_size(width, min(max(height + 120, 600), 4000))
            self.d.save_screenshot(str(self.shots / f"{self.n:02d}-{name}-{label}.png"))
        if self.shots or self.width != PHONE:
            self.d.set_window_size(self.width, 900)

    def cookie(self) -> str:
        """The session of whoever is logged in now, for :func:`fetch`."""
        return "; ".join(f"{c['name']}={c['value']}" for c in self.d.get_cookies())

    def login(self, name: str, passphrase: str | None = None) -> None:
        self.d.delete_all_cookies()
        self.go("/login")
        self.d.find_element(By.ID, "name").send_keys(name)
        self.d.find_element(By.ID, "passphrase").send_keys(passphrase or secret(name))
        self.d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        waiting(self.d, 20).until(lambda d: "/login" not in d.current_url)

    def open_record(self, number: str) -> None:
        """Follow the link to a record and wait for its page (a click only starts it)."""
        self.d.find_element(By.LINK_TEXT, number).click()
        waiting(self.d, 30).until(
            lambda d: d.current_url.endswith(f"/records/{number}") and d.find_elements(By.ID, "history"))

    def text(self, css: str) -> str:
        return self.d.find_element(By.CSS_SELECTOR, css).text

    def set(self, element_id: str, value: str) -> None:
        """A value typed into a field (dates through the DOM: their widget is locale-bound)."""
        el = self.d.find_element(By.ID, element_id)
        self.d.execute_script("arguments[0].value = arguments[1];"
                              "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
                              el, value)

    def sign(self, passphrase: str, decision: str = "同意") -> None:
        Select(self.d.find_element(By.ID, "decision")).select_by_visible_text(decision)
        self.d.find_element(By.ID, "sign-passphrase").send_keys(passphrase)
        self.d.find_element(By.CSS_SELECTOR, "#sign button[type=submit]").click()
        waiting(self.d, 30).until(lambda d: "已签署" in d.page_source
                                        or "error=" in d.current_url)


def test_invite_enrol_fill_sign_approve_search_export(server, browser, tmp_path, trusted):
    url, root = server
    shots = Path(os.environ["FLOWDOC_SHOTS"]) if os.environ.get("FLOWDOC_SHOTS") else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    v = Visit(browser, url, shots)

    # the administrator invites 赵敏; she enrols with a passphrase of her own
    out = cli(["users", "invite", "赵敏", "--url", url, "--archive", root / "records",
               "--flows", trusted.flows], root)
    assert out.returncode == 0, out.stderr
    link = out.stdout.strip()
    assert link.startswith(url + "/enrol/")
    v.use(PHONE)
    browser.get(link)
    v.shoot("enrol")
    mine = "春天的-口令-2026-盐"
    browser.find_element(By.ID, "passphrase").send_keys(mine)
    browser.find_element(By.ID, "again").send_keys(mine)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # a submit's page comes when the server has answered: wait for it, never read the old one
    waiting(browser, 30).until(lambda d: "已登记" in d.find_element(By.TAG_NAME, "h1").text)

    # 王芳, the registrar, approves her key
    v.use(DESK)
    v.login("王芳")
    v.go("/keys")
    v.shoot("keys")
    browser.find_element(By.ID, "pp-1").send_keys(secret("王芳"))
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    waiting(browser, 30).until(lambda d: "已批准 赵敏" in d.page_source)

    # 赵敏 fills a 10-day leave: the days and the route appear as she types
    v.use(PHONE)
    v.login("赵敏", mine)
    staff = v.cookie()  # hers, for what staff may not fetch
    v.shoot("inbox-empty")
    v.go("/new")
    v.shoot("new")
    browser.find_element(By.LINK_TEXT, "员工请假管理").click()
    Select(browser.find_element(By.ID, "f-leave_type")).select_by_visible_text("事假")
    v.set("f-start", "2026-12-01")
    v.set("f-end", "2026-12-10")
    browser.find_element(By.ID, "f-reason").send_keys("陪同家人赴外地就医复诊")
    waiting(browser, 20).until(lambda d: d.find_element(By.ID, "f-days").text == "10")
    waiting(browser, 20).until(lambda d: "分管总监（张伟）" in d.find_element(By.ID, "route").text)
    assert v.text("#route").startswith("部门负责人（李强） → 分管总监（张伟）")
    v.shoot("fill")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    waiting(browser, 30).until(lambda d: d.find_elements(By.ID, "passphrase"))
    v.shoot("confirm")
    browser.find_element(By.ID, "passphrase").send_keys(mine)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    waiting(browser, 30).until(lambda d: "/records/" in d.current_url)
    number = browser.current_url.rsplit("/", 1)[1]
    assert "已提交" in browser.page_source
    v.shoot("record-submitted")

    # her own head, then the director of her department, find it in 待办 and approve
    for person in ("李强", "张伟"):
        v.login(person)
        assert number in v.text("#waiting")
        v.shoot(f"inbox-{person}")
        v.open_record(number)
        v.sign(secret(person))
        assert "error=" not in browser.current_url, browser.current_url
    v.shoot("record-approved")
    assert "人力资源部" in v.text("#waiting")

    # the auditor finds exactly that record by a word of its reason
    v.use(DESK)
    v.login("方圆")
    v.go("/search?q=就医")
    v.shoot("search")
    assert v.text("#total") == "共 1 条记录"
    assert "【就医】" in v.text("#hits")
    v.open_record(number)
    assert "填写请假条 → 审批（部门负责人） → 审批（分管总监） → 审批（人力资源部）" in v.text("#path")
    assert v.text("#integrity").startswith("已验证：提交条目为档案第")
    v.shoot("record-auditor")
    v.go("/archive")
    browser.find_element(By.ID, "verify").click()  # in the background; the page follows it
    waiting(browser, 120).until(lambda d: d.find_elements(By.ID, "report"))
    assert "通过" in v.text("#report")
    v.shoot("archive")
    v.go("/passphrase")
    assert "修改口令" in v.text("h1")
    v.shoot("passphrase")
    v.go("/delegate")
    assert "设置代理" in v.text("h1")
    v.shoot("delegate")

    # the exports, fetched with the auditor's session
    auditor = v.cookie()
    q = urllib.parse.quote("就医")
    status, _, csv = fetch(url + f"/search.csv?q={q}", auditor)
    assert status == 200 and csv.startswith("\ufeff编号".encode()) and number.encode() in csv
    v.go("/search?q=就医")
    csrf = browser.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
    status, _, package = fetch(url + f"/search/package?q={q}", auditor, f"csrf={csrf}".encode())
    assert status == 200, package[:300]
    (tmp_path / "package.zip").write_bytes(package)
    checked = cli(["verify", "--package", tmp_path / "package.zip", "--flows", trusted.flows],
                  tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # the document controller rebuilds the publication and watches it get made
    assert fetch(url + "/publication", staff)[0] == 403  # staff do not publish
    v.login("王芳")
    controller = v.cookie()
    v.go("/publication")
    assert "尚未生成" in v.text("main")
    v.shoot("publication-empty")
    browser.find_element(By.ID, "rebuild").click()
    waiting(browser, 20).until(lambda d: d.find_elements(By.ID, "job-progress"))
    v.shoot("publication-building")
    waiting(browser, 300).until(lambda d: d.find_elements(By.ID, "files"))
    for name in ("manual.pdf", "manual.docx", "forms/EC-HR-015.pdf"):
        assert name in v.text("#files"), name
    v.shoot("publication")
    job = json.loads(fetch(url + "/publication/progress.json", controller)[2])
    assert not job["running"] and job["error"] == "" and job["total"] == job["done"] > 20, job
    # the files are downloads: the manual as the document controller gets it, a form as the
    # auditor does; staff get none, and no path a URL gives reaches another file
    status, headers, manual = fetch(url + "/publication/files/manual.pdf", controller)
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    assert len(PdfReader(io.BytesIO(manual)).pages) > 20
    assert fetch(url + "/publication/files/forms/EC-HR-015.pdf", auditor)[2][:5] == b"%PDF-"
    assert fetch(url + "/publication/files/manual.pdf", staff)[0] == 403
    for name in ("../records/log.jsonl", "..%2Frecords%2Flog.jsonl", "stamp.json", "x.pdf"):
        assert fetch(url + f"/publication/files/{name}", controller)[0] == 404, name
    v.go("/flows/EC-HR-015")
    assert "签署本流程" in v.text("#sign")
    v.shoot("flow")

    # Chinese is drawn with the bundled web font, not as boxes
    browser.execute_cdp_cmd("DOM.enable", {})
    browser.execute_cdp_cmd("CSS.enable", {})
    doc = browser.execute_cdp_cmd("DOM.getDocument", {})
    node = browser.execute_cdp_cmd("DOM.querySelector", {"nodeId": doc["root"]["nodeId"],
                                                         "selector": "h1"})
    fonts = browser.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    families = {f["familyName"] for f in fonts["fonts"]}
    assert "Flowdoc Sans SC" in families, families
    assert v.n >= 19  # every page of the scenario was measured (and shot, if asked)
    if shots:
        assert len(list(shots.glob("*.png"))) >= 38
