"""Sign-offs bound to content and signed with the signer's own key: a change after approval, an
altered or forged signature, or another person's key makes a 受控 flow print as 草稿."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import cli, secret

from generator.archive.events import active_key
from generator.archive.store import Archive
from generator.checks import check_paths
from generator.seal.keys import unlock
from generator.seal.signoff import signoff_message

SIGNERS = ("王芳", "李强", "陈静")


def run(args: list[str], cwd: Path, passphrase: str | None = None) -> subprocess.CompletedProcess:
    env = {}
    if passphrase is not None:
        env["FLOWDOC_PASSPHRASE"] = passphrase
    return cli(args, cwd, env)


@pytest.fixture
def repo(tmp_path: Path, trusted) -> Path:
    """The flows under the tests' trust root, and in records/ (the default archive) the
    vouched keys of everyone who signs them (conftest.trusted)."""
    shutil.copytree(trusted.flows, tmp_path / "flows")
    shutil.copytree(trusted.seed, tmp_path / "records")
    return tmp_path


@pytest.fixture
def keyring(repo: Path) -> Archive:
    return Archive(repo / "records")


def sign(repo: Path, person: str, meaning: str, on: str, passphrase: str | None = ""):
    return run(["flow", "sign", "EC-HR-015", "--as", person, "--meaning", meaning, "--on", on],
               repo, secret(person) if passphrase == "" else passphrase)


def library_of(repo: Path):
    return check_paths([repo / "flows"], base=repo).library


def set_entry(path: Path, key: str, entry: str) -> None:
    """Replace the sign-off line ``key`` of the flow file with ``entry``."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if line.startswith(f"  {key}: {{"))
    lines[i] = f"  {key}: {entry}\n"
    path.write_text("".join(lines), encoding="utf-8")


def warnings_of(repo: Path) -> list[str]:
    proc = run(["check"], repo)
    assert proc.returncode == 0, proc.stderr  # warnings: the manual can still be built
    return [line for line in proc.stderr.splitlines() if "15-leave" in line]


def leave(repo: Path):
    return check_paths([repo / "flows"], base=repo).library.flow("EC-HR-015")


def test_bundled_controlled_flows_are_bound_to_their_content(library):
    for flow in library.flows:
        if flow.status == "受控":
            assert flow.signoff.bound_to(flow.content_hash), flow.code
            assert flow.effective_status == "受控"


def test_a_change_after_approval_warns_and_prints_as_draft_until_signed_again(repo, keyring):
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
        proc = sign(repo, person, meaning, on)
        assert proc.returncode == 0, proc.stderr
        assert secret(person) not in proc.stdout + proc.stderr
    flow = leave(repo)
    assert flow.effective_status == "受控"
    assert flow.signoff.approved.on.isoformat() == "2026-11-22"
    assert flow.signoff.approved.key == active_key(keyring, library_of(repo), "陈静")
    registered = {k.person for k in check_paths([repo / "flows"], base=repo).library.keys}
    assert set(SIGNERS) <= registered  # the new public keys went into keys.yaml
    assert run(["check"], repo).stderr == ""
    assert "# HR checks the balance" in path.read_text(encoding="utf-8")  # comments survive
    # altered after the new approval: stale again
    path.write_text(path.read_text(encoding="utf-8").replace("text: 填写请假单", "text: 填写请假条"),
                    encoding="utf-8")
    assert len(warnings_of(repo)) == 3 and leave(repo).effective_status == "草稿"


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


def test_a_signature_altered_after_signing_does_not_count(repo):
    path = repo / "flows/15-leave.yaml"
    entry = leave(repo).signoff.approved
    forged = entry.sig[:-1] + ("0" if entry.sig[-1] != "0" else "1")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(entry.sig, forged), encoding="utf-8")
    warnings = warnings_of(repo)
    assert len(warnings) == 1 and "signature that does not verify" in warnings[0]
    assert leave(repo).effective_status == "草稿"
    # the signature is right but the date it covers was changed
    path.write_text(text.replace(f"on: {entry.on.isoformat()}, hash", "on: 2026-11-30, hash"),
                    encoding="utf-8")
    assert "does not verify" in " ".join(warnings_of(repo))
    assert leave(repo).effective_status == "草稿"


def test_a_bare_hash_stamp_is_not_a_signature(repo):
    path = repo / "flows/15-leave.yaml"
    entry = leave(repo).signoff.reviewed
    set_entry(path, "reviewed", f"{{by: {entry.by}, on: {entry.on.isoformat()}, hash: {entry.hash}}}")
    warnings = warnings_of(repo)
    assert len(warnings) == 1 and "carries no signature" in warnings[0]
    assert leave(repo).effective_status == "草稿"


def test_a_signature_made_with_another_persons_key_does_not_count(repo, keyring):
    # 王芳 signs, with her own valid key, an approval that names 陈静 as the approver
    flow = leave(repo)
    entry = flow.signoff.approved
    kid = active_key(keyring, library_of(repo), "王芳")
    private = unlock(keyring.private_key(kid), secret("王芳"))
    sig = private.sign(signoff_message(flow.code, "批准", "陈静", entry.on, flow.content_hash)).hex()
    assert sign(repo, "王芳", "编制", "2026-11-05").returncode == 0  # registers her key
    set_entry(repo / "flows/15-leave.yaml", "approved",
              f"{{by: 陈静, on: {entry.on.isoformat()}, hash: {flow.content_hash}, key: {kid}, "
              f"sig: {sig}}}")
    warnings = warnings_of(repo)
    assert len(warnings) == 1 and "which is 王芳's, not 陈静's" in warnings[0]
    assert leave(repo).effective_status == "草稿"
    # and a key keys.yaml does not hold is no better
    (repo / "flows/keys.yaml").write_text("keys: []\n", encoding="utf-8")
    assert all("not in keys.yaml" in w for w in warnings_of(repo))
    assert leave(repo).effective_status == "草稿"


@pytest.mark.parametrize(("setup", "passphrase"), [
    (True, "not the passphrase"), (False, secret("王芳"))])
def test_no_key_or_a_wrong_passphrase_is_one_line_and_writes_nothing(repo, setup, passphrase):
    # one message for both, so a failed attempt tells a guesser nothing
    message = "王芳: no signing key of theirs unlocks with that passphrase"
    if not setup:
        shutil.rmtree(repo / "records")
    before = {p: p.read_bytes() for p in (repo / "flows").iterdir()}
    proc = sign(repo, "王芳", "编制", "2026-11-03", passphrase)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"flowdoc: EC-HR-015: {message}")
    assert passphrase not in proc.stderr
    assert {p: p.read_bytes() for p in (repo / "flows").iterdir()} == before


def test_no_passphrase_and_no_terminal_is_one_line(repo, keyring):
    proc = sign(repo, "王芳", "编制", "2026-11-03", passphrase=None)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("flowdoc: no passphrase: give --passphrase-file or "
                                   "FLOWDOC_PASSPHRASE")


def test_a_wrong_key_registration_is_an_error_naming_the_file(repo):
    keys = repo / "flows/keys.yaml"
    lines = keys.read_text(encoding="utf-8").splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if line.startswith("  - {id: "))
    lines[i] = re.sub(r'id: "?[0-9a-f]{32}"?', "id: " + "f" * 32, lines[i])
    keys.write_text("".join(lines), encoding="utf-8")
    proc = run(["check"], repo)
    assert proc.returncode == 1
    error = [line for line in proc.stderr.splitlines() if ": warning:" not in line]
    fake = "f" * 32
    assert error == [f"flows/keys.yaml:{i + 1}: keys[0] '{fake}'.id: id {fake} is not the id of "
                     "this public key"]
