"""The key behind the passphrase: private keys wrapped with a memory-hard KDF (Argon2id at
RFC 9106's second recommended setting) and an AEAD, old PKCS#8 keys re-wrapped the first time
their owner unlocks them, and a passphrase that can be changed.

The rest of the suite wraps keys at a test cost (conftest: FLOWDOC_KEY_COST=test); here keys
are made at the standard cost a user's are, with the variable unset."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import OPERATOR_SECRET, ROOT, UNBOUND, cli, secret
from cryptography.hazmat.primitives import serialization

from generator.seal import keys

FLOWS = UNBOUND  # the flows under the tests' trust root (conftest.trusted)
PASSPHRASE = "correct horse battery"


@pytest.fixture
def standard_cost(monkeypatch):
    monkeypatch.delenv("FLOWDOC_KEY_COST")
    assert keys.cost_in_force() == keys.STANDARD


def flowdoc(args: list[str], cwd: Path, **env: str):
    env = {"FLOWDOC_OPERATOR_PASSPHRASE": OPERATOR_SECRET, **env}
    return cli([*args, "--flows", str(FLOWS)], cwd, env)


def test_a_new_key_is_wrapped_with_argon2id_at_the_standard_cost(standard_cost):
    public, data, private = keys.new_key(PASSPHRASE)
    wrapped = json.loads(data)
    assert wrapped["format"] == "flowdoc-key" and wrapped["version"] == 1
    assert wrapped["kdf"] | {"salt": None} == {"name": "argon2id", "t": 3, "m": 65536, "p": 4,
                                               "salt": None}
    assert wrapped["aead"]["name"] == "chacha20-poly1305" and wrapped["public"] == public.hex()
    assert PASSPHRASE.encode() not in data and keys.wrap_problem(data) is None
    assert keys.public_of(keys.unlock(data, PASSPHRASE)) == public == keys.public_of(private)
    with pytest.raises(keys.KeyError_, match=r"^the passphrase does not unlock this key$"):
        keys.unlock(data, "not the passphrase")
    # the same key wrapped twice shares no salt or nonce
    again = json.loads(keys.encrypt(private, PASSPHRASE))
    assert again["kdf"]["salt"] != wrapped["kdf"]["salt"]
    assert again["aead"]["nonce"] != wrapped["aead"]["nonce"]


def test_an_edited_wrapping_does_not_unlock_and_an_absurd_cost_is_refused_unobeyed():
    _, data, _ = keys.new_key(PASSPHRASE)
    wrapped = json.loads(data)
    # the cost, the salt and the public key are bound to the sealed seed (associated data)
    cheaper = {**wrapped, "kdf": {**wrapped["kdf"], "t": wrapped["kdf"]["t"] + 1}}
    other = {**wrapped, "public": keys.public_of(keys.generate()).hex()}
    for edited in (cheaper, other):
        with pytest.raises(keys.KeyError_, match=r"^the passphrase does not unlock this key$"):
            keys.unlock(json.dumps(edited).encode(), PASSPHRASE)
    # 1 TiB of memory asked for: refused before any derivation starts
    greedy = {**wrapped, "kdf": {**wrapped["kdf"], "m": 1 << 30}}
    with pytest.raises(keys.KeyError_, match="out of bounds"):
        keys.unlock(json.dumps(greedy).encode(), PASSPHRASE)
    with pytest.raises(keys.KeyError_, match=r"^not a flowdoc key file"):
        keys.unlock(b'{"format": "something else"}', PASSPHRASE)


def _legacy(private) -> bytes:
    """A key file as flowdoc wrote it before: PKCS#8, PBKDF2 at OpenSSL's default cost."""
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.BestAvailableEncryption(secret("李强").encode()))


def _submitted(tmp_path: Path, trusted) -> str:
    """An archive where 赵敏 and 李强 have vouched keys and 赵敏's leave waits for 李强."""
    trusted.archive(tmp_path / "records", ("赵敏", "李强"))
    proc = flowdoc(["record", "submit", str(ROOT / "examples/leave.yaml"), "--as", "赵敏"],
                   tmp_path, FLOWDOC_PASSPHRASE=secret("赵敏"))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _key_file(tmp_path: Path, trusted, person: str) -> Path:
    from generator.archive.store import Archive, active_key, key_table

    archive = Archive(tmp_path / "records")
    kid = active_key(key_table(archive.key_entries(), trusted.library.trust), person)
    return tmp_path / "records" / "keys" / f"{kid}.key"


def sign(number: str, tmp_path: Path, passphrase: str):
    return flowdoc(["record", "sign", number, "--step", "head_approve", "--as", "李强",
                    "--decision", "同意"], tmp_path, FLOWDOC_PASSPHRASE=passphrase)


def test_an_old_pkcs8_key_is_reported_then_rewrapped_when_its_owner_signs(tmp_path, trusted):
    number = _submitted(tmp_path, trusted)
    path = _key_file(tmp_path, trusted, "李强")
    kid = path.stem
    private = keys.unlock(path.read_bytes(), secret("李强"))
    path.write_bytes(_legacy(private))
    os.chmod(path, 0o600)
    out = flowdoc(["verify"], tmp_path)
    assert out.returncode == 1
    assert f"private key {kid} is wrapped with PBKDF2" in out.stdout
    assert "安全性: 1 个问题" in out.stdout
    # 李强 signs: his key unlocks as it is, signs, and is kept wrapped with Argon2id from now on
    proc = sign(number, tmp_path, secret("李强"))
    assert proc.returncode == 0, proc.stderr
    data = path.read_bytes()
    assert json.loads(data)["kdf"]["name"] == "argon2id" and keys.wrap_problem(data) is None
    assert path.stat().st_mode & 0o777 == 0o600
    assert not list(path.parent.glob("*.tmp"))
    assert keys.public_of(keys.unlock(data, secret("李强"))) == keys.public_of(private)
    out = flowdoc(["verify"], tmp_path)
    assert out.returncode == 0 and "安全性: 通过" in out.stdout, out.stdout


def test_a_key_wrapped_below_the_cost_in_force_is_reported(tmp_path, trusted, standard_cost):
    from generator.archive.store import Archive

    shutil.copytree(trusted.seed, tmp_path / "records")  # wrapped at the tests' cost
    archive = Archive(tmp_path / "records")
    out = flowdoc(["verify"], tmp_path)
    assert out.returncode == 1
    weak = [line for line in out.stdout.splitlines() if "below the cost in force" in line]
    assert len(weak) == len(archive.private_key_ids()) > 0


def test_a_passphrase_is_changed_on_the_command_line_and_the_old_one_signs_nothing(tmp_path,
                                                                                  trusted):
    number = _submitted(tmp_path, trusted)
    folder = tmp_path / "records" / "keys"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    new = "a much longer new passphrase 2027"
    weak = flowdoc(["keys", "passphrase", "李强"], tmp_path, FLOWDOC_PASSPHRASE=secret("李强"),
                   FLOWDOC_NEW_PASSPHRASE="李强2027abcdef")
    assert weak.returncode == 1 and weak.stderr.strip() == "flowdoc: 口令不能包含自己的姓名"
    wrong = flowdoc(["keys", "passphrase", "李强"], tmp_path, FLOWDOC_PASSPHRASE="not his at all",
                    FLOWDOC_NEW_PASSPHRASE=new)
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == "flowdoc: 李强: 原口令不正确，或没有有效的签名密钥"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing changed
    assert new not in weak.stderr + wrong.stderr and "not his at all" not in wrong.stderr
    done = flowdoc(["keys", "passphrase", "李强"], tmp_path, FLOWDOC_PASSPHRASE=secret("李强"),
                   FLOWDOC_NEW_PASSPHRASE=new)
    assert done.returncode == 0, done.stderr
    assert "now unlocks with the new passphrase only" in done.stdout
    old = sign(number, tmp_path, secret("李强"))
    assert old.returncode == 1
    assert old.stderr.strip() == "flowdoc: 李强: no signing key of theirs unlocks with that passphrase"
    assert sign(number, tmp_path, new).returncode == 0  # the same key: his signature counts
    assert flowdoc(["verify"], tmp_path).returncode == 0
