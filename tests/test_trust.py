"""verify against an insider: each attack of the trust issue, tried with the project's own
primitives (tests/forgery.py), refused by the writer and reported by verify.

The insider here can write to the archive folder, holds a registered key and knows the
operator passphrase (they run the command line). What stops them is what a clone of the
repository holds: the trust root (flows/trust.yaml) and the signed flows and org.yaml.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path

import forgery as F
import pytest
from conftest import OPERATOR_SECRET, cli, secret
from pypdf import PdfReader

from generator.archive import events as R
from generator.archive.store import CHECKPOINT, Archive, ArchiveError, Checkpoint, parse_checkpoint
from generator.archive.trusting import add_key, unlock_key_file, witness
from generator.archive.verify import verify
from generator.checks import check_paths
from generator.records import RecordInput, check_record
from generator.seal import keys
from generator.seal.signoff import Signer
from generator.trust import TRUST_FILE

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def leave(days: int = 3, kind: str = "病假") -> RecordInput:
    end = dt.date(2026, 11, 2) + dt.timedelta(days=days - 1)
    return RecordInput("EC-HR-015", {"leave_type": kind, "start": "2026-11-02",
                                     "end": end.isoformat(), "reason": "家里有事"}, "leave.yaml")


@pytest.fixture
def repo(trusted, tmp_path):
    """A copy of the trusted flows (so a test may edit them) and a small archive under them."""
    shutil.copytree(trusted.flows, tmp_path / "flows")
    lib = check_paths([tmp_path / "flows"], base=tmp_path).library
    archive = trusted.fresh(tmp_path / "records", ("赵敏", "孙磊", "李强", "周婷", "张伟"))
    return tmp_path, lib, archive


def findings(archive: Archive, library) -> list[str]:
    return [m for _, m in verify(archive, library).findings]


def flowdoc(args: list[str], cwd: Path, passphrase: str | None = None, flows: Path | None = None):
    env = {"FLOWDOC_OPERATOR_PASSPHRASE": OPERATOR_SECRET}
    if passphrase:
        env["FLOWDOC_PASSPHRASE"] = passphrase
    extra = ["--flows", str(flows)] if flows else []
    return cli([*args, *extra], cwd, env)


# -- 1. keys in another person's name -----------------------------------------------------------

def test_a_key_made_in_someone_elses_name_signs_nothing(repo):
    _, lib, archive = repo
    number = R.submit(archive, lib, leave(), b"x", "赵敏", secret("赵敏"), T0)
    R.new_person_key(archive, lib, "郑丽", secret("郑丽"))  # 赵敏 at the keyboard, for 郑丽
    with pytest.raises(ArchiveError, match="郑丽: no signing key of theirs unlocks"):
        R.sign_step(archive, lib, number, "head_approve", "郑丽", secret("郑丽"), "同意")
    seq = F.append(archive, lib.trust, "郑丽", F.sign_event(archive, number, "head_approve",
                                                            "郑丽", "同意"))
    assert any(f"entry {seq} is signed with key" in m and "which no registrar had vouched for"
               in m for m in findings(archive, lib))


def test_a_second_key_is_refused_even_with_the_index_edited(repo):
    _, lib, archive = repo
    with sqlite3.connect(archive.root / "index.sqlite") as db:
        db.execute("DELETE FROM keys WHERE person = '李强'")
    with pytest.raises(ArchiveError, match=r"李强 has key \w+ already"):
        R.new_person_key(archive, lib, "李强", secret("李强"))


def test_a_non_registrar_cannot_vouch_and_a_forged_vouch_is_reported(repo):
    _, lib, archive = repo
    kid = R.new_person_key(archive, lib, "郑丽", secret("郑丽"))
    with pytest.raises(ArchiveError, match=r"赵敏 is not a registrar"):
        R.approve_key(archive, lib, "郑丽", "赵敏", secret("赵敏"))
    public = F.key_table(archive.key_entries(), lib.trust)[kid]["public"]
    mine = F.any_key(archive, lib.trust, "赵敏")
    private = keys.unlock(archive.private_key(mine), secret("赵敏"))
    vouch = keys.sign(private, R.vouch_message("郑丽", kid, public, "2026-11-03T00:00:00+00:00"))
    seq = F.append(archive, lib.trust, "赵敏", {
        "type": "approve", "person": "赵敏", "subject": "郑丽", "key_id": kid,
        "public_key": public, "vouch_by": mine, "vouch": vouch,
        "time": "2026-11-03T00:00:00+00:00"})
    assert any(f"entry {seq} (approve): 赵敏 is not a registrar" in m
               for m in findings(archive, lib))
    # and the key it claims to vouch for still signs nothing
    with pytest.raises(ArchiveError, match="郑丽: no signing key"):
        R.submit(archive, lib, leave(), b"x", "郑丽", secret("郑丽"), T0)


def test_a_registrar_cannot_give_a_person_a_second_active_key(repo):
    _, lib, archive = repo
    # the first key of 李强 was vouched for; an insider registers another in his name
    R.revoke_key(archive, lib, "李强", secret("李强"))
    R.new_person_key(archive, lib, "李强", "another-pass-2026")
    R.approve_key(archive, lib, "李强", "王芳", secret("王芳"))  # after a revocation: fine
    R.new_person_key(archive, lib, "郑丽", secret("郑丽"))
    R.approve_key(archive, lib, "郑丽", "王芳", secret("王芳"))
    # a third key for 李强 while one is active: the writer refuses to register it at all
    with pytest.raises(ArchiveError, match=r"has key \w+ already"):
        R.new_person_key(archive, lib, "李强", "third-pass-2026")


def test_flow_signoffs_with_keys_nobody_vouched_for_leave_the_flow_a_draft(repo):
    root, _, _ = repo
    flows = root / "flows"
    path = flows / "15-leave.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("超过5天", "超过50天"),
                    encoding="utf-8")
    flow = check_paths([flows], base=root).library.flow("EC-HR-015")
    assert flow.effective_status == "草稿"
    # the insider makes keys "for" the three signers, outside any archive, and signs anew
    from generator.lifecycle import render_signoff, replace_signoff_block
    from generator.model import PublicKey, Signature, Signoff
    from generator.seal.signoff import render_keys, signoff_message

    made, entries = [], {}
    for key, meaning, entry in flow.signoff.entries():
        private = keys.generate()
        public = keys.public_of(private)
        signer = Signer(PublicKey(keys.key_id(public), entry.by, public), private)
        made.append(signer.key)
        entries[key] = Signature(entry.by, entry.on, flow.content_hash, signer.key.id,
                                 signer.sign(signoff_message(flow.code, meaning, entry.by,
                                                             entry.on, flow.content_hash)))
    path.write_text(replace_signoff_block(path.read_text(encoding="utf-8"),
                                          render_signoff(Signoff(**entries))), encoding="utf-8")
    old = (flows / "keys.yaml").read_text(encoding="utf-8")
    (flows / "keys.yaml").write_text(old + "".join(render_keys(tuple(made)).splitlines(True)[5:]),
                                     encoding="utf-8")
    result = check_paths([flows], base=root)
    assert result.library.flow("EC-HR-015").effective_status == "草稿"
    unvouched = [str(p) for p in result.problems if "not vouched for by a registrar" in p.message]
    assert len(unvouched) == 3


# -- 2. checkpoints ----------------------------------------------------------------------------

def test_a_checkpoint_signed_by_a_person_key_is_reported(repo):
    _, lib, archive = repo
    R.submit(archive, lib, leave(), b"x", "赵敏", secret("赵敏"), T0)
    cp = archive.checkpoint()
    mine = F.any_key(archive, lib.trust, "赵敏")
    private = keys.unlock(archive.private_key(mine), secret("赵敏"))
    from generator.archive.store import checkpoint_message
    from generator.seal.canonical import canonical

    forged = Checkpoint(cp.size, cp.bytes, cp.root, cp.time, mine, "")
    forged = Checkpoint(**{**forged.body(), "signature": keys.sign(private,
                                                                   checkpoint_message(forged))})
    (archive.root / CHECKPOINT).write_bytes(canonical(forged.as_dict()))
    assert any("which is not an operator key of the trust root" in m
               for m in findings(archive, lib))


def test_log_and_checkpoint_rolled_back_together_are_a_rollback_for_a_kept_checkpoint(repo):
    root, lib, archive = repo
    number = R.submit(archive, lib, leave(), b"x", "赵敏", secret("赵敏"), T0)
    earlier = root / "earlier"
    shutil.copytree(archive.root, earlier)
    R.sign_step(archive, lib, number, "head_approve", "李强", secret("李强"), "同意")
    kept = root / "kept.json"
    proc = flowdoc(["checkpoint"], root)
    assert proc.returncode == 0
    kept.write_text(proc.stdout, encoding="utf-8")
    for name in ("log.jsonl", CHECKPOINT):  # the insider puts back an earlier pair
        shutil.copy(earlier / name, archive.root / name)
    # the checkpoint history still holds the later checkpoint: the head was rolled back
    assert any("of the history follow the head" in m for m in findings(archive, lib))
    shutil.copy(earlier / "checkpoints.jsonl", archive.root / "checkpoints.jsonl")
    assert verify(archive, lib).ok  # alone, an earlier archive (history too) is a valid one
    proc = flowdoc(["verify", "--since", str(kept)], root, flows=root / "flows")
    assert proc.returncode == 1 and "rollback: the archive holds" in proc.stdout, proc.stdout
    proc = flowdoc(["verify", "--since", str(kept), "--json"], root, flows=root / "flows")
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and not report["ok"]
    assert any(f["problem"].startswith("rollback:") for f in report["findings"])
    kept.write_text('{"size": "x"}', encoding="utf-8")  # a damaged kept checkpoint: a finding
    proc = flowdoc(["verify", "--since", str(kept), "--json"], root, flows=root / "flows")
    assert proc.returncode == 1 and "not a checkpoint" in json.loads(proc.stdout)["findings"][0][
        "problem"]


def test_a_rewritten_history_is_a_fork_to_a_kept_checkpoint_and_to_the_witness(repo, tmp_path):
    root, lib, archive = repo
    _, wid = add_key(root / "flows" / TRUST_FILE, archive, lib, "王芳", secret("王芳"),
                     "witness", "审计部见证机", "witness-pass-2026", tmp_path / "witness.key")
    lib = check_paths([root / "flows"], base=root).library
    assert any("has co-signed no checkpoint" in m for m in findings(archive, lib))
    R.submit(archive, lib, leave(), b"x", "赵敏", secret("赵敏"), T0)
    earlier = root / "earlier"
    shutil.copytree(archive.root, earlier)
    R.submit(archive, lib, leave(5), b"y", "赵敏", secret("赵敏"), T0)
    signer = unlock_key_file(tmp_path / "witness.key", "witness-pass-2026", "witness")
    state = tmp_path / "witness-state.json"
    witness(archive, lib.trust, signer, state)
    assert verify(archive, lib).ok
    kept = archive.root.joinpath(CHECKPOINT).read_bytes()
    # the insider rewrites: back to the earlier log, then another second record, all with
    # the operator key — a valid archive on its own
    for name in ("log.jsonl", CHECKPOINT, "index.sqlite"):
        shutil.copy(earlier / name, archive.root / name)
    R.submit(archive, lib, leave(7), b"z", "赵敏", secret("赵敏"), T0)
    assert parse_checkpoint(archive.root.joinpath(CHECKPOINT).read_bytes()).size == \
        parse_checkpoint(kept).size
    found = findings(archive, lib)
    assert any("that this log does not extend" in m for m in found), found
    with pytest.raises(ArchiveError, match="refused: fork"):
        witness(archive, lib.trust, signer, state)
    (tmp_path / "kept.json").write_bytes(kept)
    proc = flowdoc(["verify", "--since", str(tmp_path / "kept.json")], root, flows=root / "flows")
    assert proc.returncode == 1 and "fork: the archive's first" in proc.stdout, proc.stdout
    del wid


# -- 3. one rule book, applied twice -----------------------------------------------------------

def closed_without_rendition(archive, lib) -> str:
    number = R.submit(archive, lib, leave(), b"x", "赵敏", secret("赵敏"), T0)
    R.sign_step(archive, lib, number, "head_approve", "李强", secret("李强"), "同意")
    F.append(archive, lib.trust, "周婷", F.sign_event(archive, number, "hr_approve", "周婷", "同意",
                                                    "complete", "人力资源部"))
    return number


def _writer_and_forgery(case: str, archive: Archive, lib):
    """``(what the writer is asked, the same event forged, the rule's words)`` for ``case``."""
    number = R.submit(archive, lib, leave(), b"x", "赵敏", secret("赵敏"), T0)
    if case == "decision":
        return (lambda: R.sign_step(archive, lib, number, "head_approve", "李强", secret("李强"),
                                    "随便"),
                ("李强", F.sign_event(archive, number, "head_approve", "李强", "随便")),
                "decision must be one of 同意/不同意, not '随便'")
    if case == "status":  # the head's approval claims to close the record, skipping HR
        return (None, ("李强", F.sign_event(archive, number, "head_approve", "李强", "同意",
                                            "complete")),
                "the event says the record is complete; its route makes it in progress")
    if case == "sequence":
        return (lambda: R.sign_step(archive, lib, number, "hr_approve", "周婷", secret("周婷"),
                                    "同意"),
                ("周婷", F.sign_event(archive, number, "hr_approve", "周婷", "同意",
                                     role="人力资源部")),
                "waits for step 'head_approve', not 'hr_approve'")
    if case == "authority":
        return (lambda: R.sign_step(archive, lib, number, "head_approve", "孙磊", secret("孙磊"),
                                    "同意"),
                ("孙磊", F.sign_event(archive, number, "head_approve", "孙磊", "同意")),
                "孙磊 may not sign step 'head_approve'")
    if case == "correct-other":
        return (lambda: R.correct(archive, lib, number, "李强", secret("李强"), {"days": 1}, "x"),
                ("李强", F.event(archive, number, "correct", person="李强", fields={"days": 1},
                                 previous={"days": 3}, reason="改")),
                "only the applicant 赵敏 may correct")
    if case == "void-other":
        return (lambda: R.void(archive, lib, number, "李强", secret("李强"), "作废"),
                ("李强", F.event(archive, number, "void", person="李强", reason="作废")),
                "only the applicant 赵敏 may void")
    if case == "correct-closed":
        R.sign_step(archive, lib, number, "head_approve", "李强", secret("李强"), "同意")
        R.sign_step(archive, lib, number, "hr_approve", "周婷", secret("周婷"), "同意")
        return (lambda: R.correct(archive, lib, number, "赵敏", secret("赵敏"),
                                  {"leave_type": "年假"}, "改"),
                ("赵敏", F.event(archive, number, "correct", person="赵敏",
                                 fields={"leave_type": "年假"}, previous={"leave_type": "病假"},
                                 reason="改")),
                "is complete; it can no longer be corrected")
    if case == "derived":  # a correction whose derived value is not the flow's
        return (None, ("赵敏", F.event(archive, number, "correct", person="赵敏",
                                      fields={"days": 1}, previous={"days": 3}, reason="改")),
                "the corrected values are not the ones its flow gives")
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["decision", "status", "sequence", "authority", "correct-other",
                                  "void-other", "correct-closed", "derived"])
def test_what_the_writer_refuses_verify_reports_when_forged(repo, case):
    _, lib, archive = repo
    ask, (signer, entry), rule = _writer_and_forgery(case, archive, lib)
    if ask is not None:
        before = archive.raw_log()
        with pytest.raises(ArchiveError, match=rule.replace("(", r"\(").replace(")", r"\)")):
            ask()
        assert archive.raw_log() == before
    seq = F.append(archive, lib.trust, signer, entry)
    found = findings(archive, lib)
    assert any(f"entry {seq}" in m and rule in m for m in found), found


def test_a_submission_by_someone_outside_the_start_lane_is_refused_and_reported(repo):
    _, lib, archive = repo
    record = RecordInput("EC-HR-002", {"department": "电子商务部", "apply_date": "2026-11-02",
                                       "current_headcount": 12, "reason": "业务增长"}, "hc.yaml")
    assert check_record(lib.flow("EC-HR-002"), lib.org, record).ok
    R.submit(archive, lib, leave(), b"x", "赵敏", secret("赵敏"), T0)  # the org put in force
    with pytest.raises(ArchiveError, match="赵敏 does not hold the lane 各用人部门"):
        R.submit(archive, lib, record, b"x", "赵敏", secret("赵敏"), T0)
    flow = lib.flow("EC-HR-002")
    with archive.writing() as w:  # the flow's source goes in as a blob, as the writer puts it
        blob = w.put_blob(Path(flow.origin.source).read_bytes())
        w.commit()
    result = check_record(flow, lib.org, record)
    seq = F.append(archive, lib.trust, "赵敏", {
        "type": "submit", "record": "EC-HR-002-2026-0001", "flow": flow.code,
        "revision": flow.revision, "flow_hash": flow.content_hash, "flow_blob": blob,
        "original_blob": blob, "fields": R.json_values(result.values), "applicant": "赵敏",
        "step": flow.start.id, "role": flow.lane(flow.start.lane).name, "meaning": "编制",
        "time": T0.isoformat(), "state": R.state_digest(None)})
    found = findings(archive, lib)
    assert any(f"entry {seq}: 赵敏 does not hold the lane 各用人部门" in m for m in found), found


def test_a_yaml_blob_as_the_rendition_is_reported(repo):
    _, lib, archive = repo
    number = closed_without_rendition(archive, lib)
    assert any("closed without an archived rendition" in m for m in findings(archive, lib))
    with archive.writing() as w:
        blob = w.put_blob(b"leave_type: \xe5\xb9\xb4\xe5\x81\x87\n")
        w.commit()
    seq = F.append(archive, lib.trust, "周婷", {"type": "rendition", "record": number,
                                               "blob": blob, "time": T0.isoformat()})
    assert any(f"entry {seq}" in m and "is not the PDF its record renders to" in m
               for m in findings(archive, lib))


def test_a_doctored_rendition_is_found_by_rendering_again(repo):
    """The state digest a rendition carries is checked by default; ``--renditions`` renders
    each closed record again and compares bytes, which finds a PDF edited around it."""
    _, lib, archive = repo
    number = closed_without_rendition(archive, lib)
    state = R.record_state(archive, number)
    flow = R.record_flow(archive, state)
    genuine = R.render_state(flow, state)
    doctored = genuine.replace(b"%%EOF", b"%%EOF\n% not approved\n%%EOF")
    with archive.writing() as w:
        blob = w.put_blob(doctored)
        w.commit()
    F.append(archive, lib.trust, "周婷", {"type": "rendition", "record": number, "blob": blob,
                                         "time": T0.isoformat()})
    assert verify(archive, lib).ok  # it carries the digest of the right state
    deep = [m for _, m in verify(archive, lib, renditions=True).findings]
    assert any("is not the PDF its record renders to" in m for m in deep), deep


def test_a_draft_flow_can_be_tried_but_not_archived(repo):
    _root, lib, archive = repo
    flow = lib.flow("EC-OP-005")
    assert flow.status == "草稿"
    record = RecordInput("EC-OP-005", _minimal(flow), "o.yaml")
    assert check_record(flow, lib.org, record).ok  # what `flowdoc record check` says
    R.new_person_key(archive, lib, "彭飞", secret("彭飞"))
    R.approve_key(archive, lib, "彭飞", "王芳", secret("王芳"))
    before = archive.raw_log()
    with pytest.raises(ArchiveError, match="EC-OP-005 is 草稿, not 受控"):
        R.submit(archive, lib, record, b"o", "彭飞", secret("彭飞"), T0)
    assert archive.raw_log() == before


def _minimal(flow) -> dict:
    """Values a flow accepts: the record check of a draft works as for any flow."""
    sample = {"text": "测试", "date": "2026-11-02", "number": 1, "bool": True}
    out = {}
    for f in flow.fields:
        if not f.required or f.derive is not None:
            continue
        if f.type == "table":
            out[f.id] = [{c.id: sample.get(c.type, c.options[0] if c.options else "测试")
                          for c in f.columns}]
        else:
            out[f.id] = f.options[0] if f.type == "choice" else sample[f.type]
    return out


# -- 4. only signed definitions govern ----------------------------------------------------------

def test_an_org_edited_in_the_working_copy_is_refused_and_forged_it_is_reported(repo):
    root, lib, archive = repo
    number = R.submit(archive, lib, leave(), b"x", "孙磊", secret("孙磊"), T0)
    org = root / "flows" / "org.yaml"
    original = org.read_text(encoding="utf-8")
    edited = original.replace("head: 李强, director: 张伟", "head: 赵敏, director: 张伟", 1)
    assert edited != original
    org.write_text(edited, encoding="utf-8")
    hacked = check_paths([root / "flows"], base=root).library
    with pytest.raises(ArchiveError, match=r"org\.yaml is not signed off"):
        R.sign_step(archive, hacked, number, "head_approve", "赵敏", secret("赵敏"), "同意")
    # forged: the edited org put in force by her own entry, then her approval
    with archive.writing() as w:
        blob = w.put_blob(edited.encode())
        w.commit()
    org_seq = F.append(archive, lib.trust, "赵敏", {"type": "org", "blob": blob, "person": "赵敏",
                                                    "time": T0.isoformat()})
    seq = F.append(archive, lib.trust, "赵敏", F.sign_event(archive, number, "head_approve",
                                                            "赵敏", "同意"))
    org.write_text(original, encoding="utf-8")
    found = findings(archive, lib)
    assert any(f"entry {org_seq}: org.yaml is not signed off" in m for m in found), found
    assert any(f"entry {seq}: 赵敏 may not sign step 'head_approve'" in m for m in found), found


# -- 5. a correction reopens what it touches ----------------------------------------------------

def test_a_correction_after_an_approval_voids_it_and_the_rendition_shows_both(repo, tmp_path):
    _, lib, archive = repo
    number = R.submit(archive, lib, leave(3, "事假"), b"x", "孙磊", secret("孙磊"), T0)
    R.sign_step(archive, lib, number, "head_approve", "李强", secret("李强"), "同意")
    state = R.correct(archive, lib, number, "孙磊", secret("孙磊"),
                      {"leave_type": "婚假", "end": "2026-11-06"}, "改为婚假五天")
    assert state.decisions == {} and state.status == "in progress"
    with pytest.raises(ArchiveError, match="waits for step 'head_approve', not 'hr_approve'"):
        R.sign_step(archive, lib, number, "hr_approve", "周婷", secret("周婷"), "同意")
    R.sign_step(archive, lib, number, "head_approve", "李强", secret("李强"), "同意")
    final = R.sign_step(archive, lib, number, "hr_approve", "周婷", secret("周婷"), "同意")
    assert final.status == "complete" and verify(archive, lib).ok
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(archive.blob(final.rendition))
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "更正记录" in text and "事假" in text and "婚假" in text
    assert text.count("更正后失效") == 1  # 李强's first approval, given to the 3-day 事假


# -- 6. packages that cannot lie ----------------------------------------------------------------

def test_a_package_is_checked_against_a_trust_root_from_outside(repo, tmp_path, trusted):
    import hashlib
    import zipfile

    from generator.search.package import export_package, verify_package

    root, lib, archive = repo
    number = closed_without_rendition(archive, lib)
    del number
    closed = R.submit(archive, lib, leave(), b"y", "赵敏", secret("赵敏"), T0)
    R.sign_step(archive, lib, closed, "head_approve", "李强", secret("李强"), "同意")
    R.sign_step(archive, lib, closed, "hr_approve", "周婷", secret("周婷"), "同意")
    package = tmp_path / "p.zip"
    export_package(archive, [closed], package, "", root / "flows")
    keys_ = {k.id: k for k in lib.keys}
    report = verify_package(package, lib.trust, keys_)
    assert report.problems == [] and report.independent
    with zipfile.ZipFile(package) as z:
        files = {i.filename: z.read(i) for i in z.infolist()}

    def checked(files_: dict, trust=lib.trust) -> list[str]:
        target = tmp_path / "x.zip"
        with zipfile.ZipFile(target, "w") as z:
            for name, data in files_.items():
                z.writestr(name, data)
        return verify_package(target, trust, keys_ if trust is not None else None).problems

    extra = {**files, "说明.txt": "本包完整".encode()}
    assert "说明.txt: in the package but not in the manifest" in checked(extra)
    manifest = json.loads(files["manifest.json"])
    manifest["files"]["说明.txt"] = hashlib.sha256("本包完整".encode()).hexdigest()
    extra["manifest.json"] = json.dumps(manifest).encode()
    assert "manifest.json: not signed by an operator key of the trust root" in checked(extra)
    # the closing events dropped (the record would read as in progress)
    last = sorted(n for n in files if n.startswith("entries/"))[-2:]
    dropped = {k: v for k, v in files.items() if k not in last}
    assert any("of the record are not in the package" in p for p in checked(dropped))
    # a wholly fabricated archive with its own trust root and keys for the same people
    other = tmp_path / "other"
    shutil.copytree(trusted.flows, other / "flows")
    from generator.service.bootstrap import sign_folder

    fake = sign_folder(other / "flows", other / "records", lambda p: "fake-" + secret(p),
                       "fake-operator-2026")
    fake_lib = check_paths([other / "flows"], base=other).library
    R.new_person_key(fake, fake_lib, "赵敏", "fake-赵敏-pass")
    R.approve_key(fake, fake_lib, "赵敏", "王芳", "fake-" + secret("王芳"))
    n = R.submit(fake, fake_lib, leave(), b"f", "赵敏", "fake-赵敏-pass", T0)
    export_package(fake, [n], tmp_path / "fake.zip", "", other / "flows")
    against_ours = verify_package(tmp_path / "fake.zip", lib.trust, keys_)
    assert any("not an operator key of the trust root" in p for p in against_ours.problems)
    alone = verify_package(tmp_path / "fake.zip")
    assert alone.problems == [] and not alone.independent
    assert alone.anchor.startswith("ONLY the trust root inside the package")
    proc = flowdoc(["verify", "--package", str(tmp_path / "fake.zip")], tmp_path,
                   flows=root / "flows")
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == "checked against the trust root given"
    assert "完整性说明" in proc.stdout


def test_an_export_takes_its_records_from_the_log_not_the_index(repo):
    root, lib, archive = repo
    numbers = [R.submit(archive, lib, leave(d), b"x", "赵敏", secret("赵敏"), T0) for d in (1, 2)]
    proc = flowdoc(["search", "病假"], root, flows=root / "flows")
    assert proc.stdout.startswith("2 record(s)"), proc.stdout + proc.stderr
    from whoosh.index import open_dir

    ix = open_dir(str(archive.root / "index" / "whoosh"))
    with ix.writer() as w:  # the insider deletes one record from the search index
        w.delete_by_term("number", numbers[0])
    proc = flowdoc(["search", "病假", "--export", "p.zip"], root, flows=root / "flows")
    assert proc.returncode == 0, proc.stderr
    assert "p.zip: 2 record(s)" in proc.stdout and "完整性说明" in proc.stdout


# -- 7. numbers from the log, files checked, keys private ----------------------------------------

def test_record_numbers_come_from_the_log_not_the_derived_count(repo):
    _, lib, archive = repo
    first = R.submit(archive, lib, leave(), b"x", "赵敏", secret("赵敏"), T0)
    with sqlite3.connect(archive.root / "index.sqlite") as db:
        db.execute("UPDATE counts SET n = 0")
    second = R.submit(archive, lib, leave(2), b"y", "赵敏", secret("赵敏"), T0)
    assert (first, second) == ("EC-HR-015-2026-0001", "EC-HR-015-2026-0002")
    with sqlite3.connect(archive.root / "index.sqlite") as db:
        db.execute("UPDATE counts SET n = 7")
    third = R.submit(archive, lib, leave(3), b"z", "赵敏", secret("赵敏"), T0)
    assert third == "EC-HR-015-2026-0003" and verify(archive, lib).ok


def test_record_export_refuses_a_replaced_rendition(repo):
    root, lib, archive = repo
    number = R.submit(archive, lib, leave(), b"x", "赵敏", secret("赵敏"), T0)
    R.sign_step(archive, lib, number, "head_approve", "李强", secret("李强"), "同意")
    state = R.sign_step(archive, lib, number, "hr_approve", "周婷", secret("周婷"), "同意")
    archive.blob_path(state.rendition).write_bytes(b"%PDF-1.4 another document")
    proc = flowdoc(["record", "export", number, "-o", "out.pdf"], root)
    assert proc.returncode == 1 and "was altered" in proc.stderr
    assert not (root / "out.pdf").exists()


def test_key_files_are_private_from_their_first_byte(repo, monkeypatch):
    import os

    import generator.archive.store as store

    _, lib, archive = repo
    modes = []
    real = store._write_all

    def watched(fd, data):
        modes.append(os.fstat(fd).st_mode & 0o777)
        return real(fd, data)

    monkeypatch.setattr(store, "_write_all", watched)
    kid = R.new_person_key(archive, lib, "郑丽", secret("郑丽"))
    assert modes and all(m == 0o600 for m in modes)
    assert (archive.root / "keys" / f"{kid}.key").stat().st_mode & 0o777 == 0o600


def test_one_message_for_every_failed_unlock(repo):
    _, lib, archive = repo
    number = R.submit(archive, lib, leave(), b"x", "赵敏", secret("赵敏"), T0)
    messages = set()
    for person, passphrase in (("无此人", "whatever-pass"), ("吴刚", "whatever-pass"),
                               ("李强", "wrong-passphrase")):
        with pytest.raises(ArchiveError) as info:
            R.sign_step(archive, lib, number, "head_approve", person, passphrase, "同意")
        messages.add(str(info.value).replace(person, "P"))
    assert messages == {"P: no signing key of theirs unlocks with that passphrase"}


# -- forgeries at random ------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@pytest.fixture(scope="module")
def history(trusted, tmp_path_factory):
    """A valid history made by the writer: three records, one closed, one corrected."""
    root = tmp_path_factory.mktemp("history")
    lib = trusted.library
    archive = trusted.fresh(root / "records", ("赵敏", "孙磊", "李强", "周婷"))
    a = R.submit(archive, lib, leave(2), b"a", "赵敏", secret("赵敏"), T0)
    b = R.submit(archive, lib, leave(4, "事假"), b"b", "孙磊", secret("孙磊"), T0)
    R.sign_step(archive, lib, a, "head_approve", "李强", secret("李强"), "同意")
    R.sign_step(archive, lib, a, "hr_approve", "周婷", secret("周婷"), "同意")
    R.sign_step(archive, lib, b, "head_approve", "李强", secret("李强"), "同意")
    R.correct(archive, lib, b, "孙磊", secret("孙磊"), {"end": "2026-11-04"}, "少请一天")
    R.submit(archive, lib, leave(1), b"c", "赵敏", secret("赵敏"), T0)
    assert verify(archive, lib).ok
    return archive.root, lib


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_forgeries_with_a_registered_key_are_all_reported(history, data):
    """The insider holds 孙磊's registered key but not the operator's: they append, replace,
    reorder, drop or re-sign entries, and sign the checkpoint with the key they have."""
    import tempfile

    from generator.archive import merkle
    from generator.archive.store import checkpoint_message
    from generator.seal.canonical import canonical

    source, lib = history
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "records"
        shutil.copytree(source, root)
        archive = Archive(root)
        lines = (root / "log.jsonl").read_bytes().split(b"\n")[:-1]
        entries = [json.loads(line) for line in lines]
        kid = F.any_key(archive, lib.trust, "孙磊")
        private = keys.unlock(archive.private_key(kid), secret("孙磊"))
        how = data.draw(st.sampled_from(["append", "replace", "reorder", "drop", "resign"]))
        i = data.draw(st.integers(0, len(entries) - 1))
        if how == "append":
            e = {k: v for k, v in entries[i].items() if k not in ("seq", "sig")}
            e["time"] = "2026-12-01T00:00:00+00:00"
            entries.append(R.signed(e, private, kid, len(entries)))
        elif how == "replace":
            e = dict(entries[i])
            e["time"] = "2026-12-02T00:00:00+00:00"
            entries[i] = R.signed(e, private, kid, i)
        elif how == "reorder":
            j = data.draw(st.integers(0, len(entries) - 1).filter(lambda j: j != i))
            entries[i], entries[j] = entries[j], entries[i]
        elif how == "drop":
            entries.pop(i)
        entries = [R.signed({k: v for k, v in e.items() if k not in ("seq", "sig")}, private,
                            kid, n) if how == "resign" or n >= i else e
                   for n, e in enumerate(entries)]
        new = [canonical(e) for e in entries]
        (root / "log.jsonl").write_bytes(b"".join(line + b"\n" for line in new))
        frontier = merkle.Frontier()
        for line in new:
            frontier.append(merkle.leaf_hash(line))
        cp = Checkpoint(frontier.size, sum(len(x) + 1 for x in new), frontier.root().hex(),
                        "2026-12-03T00:00:00+00:00", kid, "")
        cp = Checkpoint(**{**cp.body(), "signature": keys.sign(private, checkpoint_message(cp))})
        (root / CHECKPOINT).write_bytes(canonical(cp.as_dict()))
        report = verify(archive, lib)
        assert not report.ok, how
        assert any("not an operator key" in m for _, m in report.findings)
        if how in ("append", "replace", "resign"):  # and each re-signed entry on its own
            assert any("which no registrar had vouched for" not in m and "entry" in m
                       for _, m in report.findings)


# -- the trust root itself ----------------------------------------------------------------------

def test_an_edited_or_extended_trust_chain_breaks_where_it_was_touched(repo, tmp_path):
    """Each statement is signed by a registrar in office and names the hash of the one before:
    an edited statement, or one added with any other key, breaks the chain there, and what
    follows does not count (a clone checks it from the first statement)."""
    root, lib, archive = repo
    trust = root / "flows" / TRUST_FILE
    original = trust.read_text(encoding="utf-8")
    operator = lib.trust.of_role("operator")[0]
    trust.write_text(original.replace(f'holder: "{operator.holder}"', 'holder: "别的服务"'),
                     encoding="utf-8")
    proc = flowdoc(["check"], root)
    assert proc.returncode == 1
    assert "statement 1: its signature does not verify" in proc.stderr
    edited = check_paths([root / "flows"], base=root).library
    assert edited.trust.of_role("operator") == ()
    assert any("not an operator key of the trust root" in m for m in findings(archive, edited))
    # a statement signed by a person's key (赵敏's, vouched for, but no registrar)
    from generator.trust import load_trust, render, statement

    trust.write_text(original, encoding="utf-8")
    mine = F.any_key(archive, lib.trust, "赵敏")
    private = keys.unlock(archive.private_key(mine), secret("赵敏"))
    forged = statement(load_trust(trust), "add", "registrar", "赵敏",
                       keys.public_of(private), private, mine)
    trust.write_text(render([*load_trust(trust).statements, forged]), encoding="utf-8")
    proc = flowdoc(["trust", "show"], root)
    assert proc.returncode == 1 and "which is not a registrar in office" in proc.stderr
    assert check_paths([root / "flows"], base=root).library.trust.registrar_person("赵敏") is None
