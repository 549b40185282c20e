"""The archive from the command line, as staff and auditors use it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import OPERATOR_SECRET, ROOT, UNBOUND, cli, secret

FLOWS = UNBOUND  # the flows under the tests' trust root (conftest.trusted)




def flowdoc(args: list[str], cwd: Path, passphrase: str | None = None) -> subprocess.CompletedProcess:
    env = {"FLOWDOC_OPERATOR_PASSPHRASE": OPERATOR_SECRET}
    if passphrase:
        env["FLOWDOC_PASSPHRASE"] = passphrase
    flows = [] if args[:2] in (["record", "show"], ["record", "export"]) or args[0] in (
        "checkpoint",) else ["--flows", str(FLOWS)]
    return cli([*args, *flows], cwd, env)


def test_keys_submit_sign_verify_show_export(tmp_path, trusted):
    import shutil

    shutil.copytree(trusted.seed, tmp_path / "records")  # 李强 and 周婷 have vouched keys
    pw = tmp_path / "pw"
    pw.write_text("correct horse battery\n", encoding="utf-8")
    proc = flowdoc(["keys", "new", "赵敏", "--passphrase-file", str(pw)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    # her key signs nothing until the registrar vouches for it
    proc = flowdoc(["record", "submit", str(ROOT / "examples/leave.yaml"), "--as", "赵敏"],
                   tmp_path, "correct horse battery")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "flowdoc: 赵敏: no signing key of theirs unlocks with that passphrase"
    proc = flowdoc(["keys", "approve", "赵敏", "--as", "王芳"], tmp_path, secret("王芳"))
    assert proc.returncode == 0, proc.stderr
    proc = flowdoc(["record", "submit", str(ROOT / "examples/leave.yaml"), "--as", "赵敏"],
                   tmp_path, "correct horse battery")
    assert proc.returncode == 0, proc.stderr
    number = proc.stdout.strip()
    assert number.startswith("EC-HR-015-") and number.endswith("-0001")
    kept = tmp_path / "kept.json"
    proc = flowdoc(["checkpoint"], tmp_path)
    assert proc.returncode == 0
    kept.write_text(proc.stdout, encoding="utf-8")
    wrong = flowdoc(["record", "sign", number, "--step", "head_approve", "--as", "李强",
                     "--decision", "同意"], tmp_path, "not the passphrase")
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == "flowdoc: 李强: no signing key of theirs unlocks with that passphrase"
    assert "not the passphrase" not in wrong.stderr + wrong.stdout
    # a 10-day leave: head, then 分管总监 — 李强 signs, then the record waits
    assert flowdoc(["record", "sign", number, "--step", "head_approve", "--as", "李强",
                    "--decision", "同意", "--comment", "同意"], tmp_path,
                   secret("李强")).returncode == 0
    proc = flowdoc(["verify", "--proof", number, "--since", str(kept), "--json"], tmp_path)
    assert proc.returncode == 0, proc.stdout
    report = json.loads(proc.stdout)
    assert report["ok"] and report["consistency"]["consistent"]
    proof = report["inclusion"]
    assert proof["record"] == number and proof["proof"]
    from generator.archive import merkle  # the proof an auditor can check with RFC 9162 alone

    assert merkle.verify_inclusion(proof["index"], proof["size"], bytes.fromhex(proof["leaf"]),
                                   [bytes.fromhex(h) for h in proof["proof"]],
                                   bytes.fromhex(proof["root"]))
    shown = json.loads(flowdoc(["record", "show", number, "--json"], tmp_path).stdout)
    assert shown["status"] == "in progress" and shown["decisions"] == {"head_approve": ["同意"]}
    proc = flowdoc(["record", "export", number, "-o", str(tmp_path / "x.pdf")], tmp_path)
    assert proc.returncode == 1 and "no archived rendition" in proc.stderr
    # tamper with one byte: verify names the problem and exits 1
    log = tmp_path / "records/log.jsonl"
    data = bytearray(log.read_bytes())
    data[len(data) // 2] ^= 1
    log.write_bytes(bytes(data))
    proc = flowdoc(["verify"], tmp_path)
    assert proc.returncode == 1
    assert "完整性: " in proc.stdout and "Merkle root" in proc.stdout


def test_no_passphrase_and_no_terminal_is_a_clear_error(tmp_path):
    proc = flowdoc(["keys", "new", "赵敏"], tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("flowdoc: no passphrase: give --passphrase-file or "
                                   "FLOWDOC_PASSPHRASE")
    assert not (tmp_path / "records").exists() or not any((tmp_path / "records").iterdir())
