"""People at a front door: who may log in, enrolment by a one-time invitation, the keys a
registrar has still to vouch for, and what each person sees.

Logging in is the person's name from org.yaml plus the passphrase that unlocks their signing
key (two components, 21 CFR 11.200): there is no second password store to leak or drift from
the keys. An invitation is a random token whose sha256 alone is kept, with its person and
expiry, in the archive folder (0600); it opens one enrolment, in which the person chooses the
passphrase their new key is encrypted with, so the secret never passes through anybody else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..archive import keyring
from ..archive.keyring import unlock_stored
from ..archive.store import ArchiveError, active_key, key_table, write_private
from ..errors import FlowdocError
from ..seal import keys
from .records import UsageError
from .workspace import Workspace

INVITES = "invites.json"
INVITE_HOURS = 72
AUDITOR, DOC_CONTROL = "auditor", "doc_control"  # roles of org.yaml a front door opens to
LOGIN_FAILED = "姓名或口令不正确"  # one message, whichever part was wrong


class LoginRefused(FlowdocError):
    """The name and passphrase do not unlock a signing key (or too many tries)."""

    code = "refused"


class InviteError(FlowdocError):
    """The enrolment link is unknown, used or expired, or the passphrase is too weak."""

    code = "refused"


@dataclass(frozen=True)
class Person:
    """Who is logged in, and what their roles open to them."""

    name: str
    title: str
    department: str
    auditor: bool
    doc_control: bool
    registrar: bool


def person(ws: Workspace, name: str) -> Person | None:
    org = ws.library.org
    who = org.person(name) if org else None
    if who is None or org is None:
        return None
    trust = ws.library.trust
    registrar = bool(trust is not None and trust.registrar_person(name) is not None)
    return Person(name, who.title, org.department_name(name), AUDITOR in who.roles,
                  DOC_CONTROL in who.roles, registrar)


def login(ws: Workspace, name: str, passphrase: str) -> Person:
    """``name`` when the passphrase unlocks their active (vouched, unrevoked) key; else
    LoginRefused with one message for every reason, so a guesser learns nothing."""
    who = person(ws, name)
    archive = ws.archive()
    try:
        if who is None or archive.checkpoint() is None:
            raise keys.KeyError_("unknown")
        kid = active_key(key_table(archive.key_entries(), ws.library.trust), name)
        if kid is None:
            raise keys.KeyError_("no key")
        unlock_stored(archive, kid, passphrase)
    except (keys.KeyError_, ArchiveError):
        raise LoginRefused(LOGIN_FAILED) from None
    return who


def passphrase_problem(name: str, passphrase: str) -> str | None:
    """Why a new passphrase is too weak, in Chinese, or None."""
    if len(passphrase) < max(keys.MIN_PASSPHRASE, 10):
        return "口令至少 10 个字符"
    if name and name in passphrase:
        return "口令不能包含自己的姓名"
    if len(set(passphrase)) < 5:
        return "口令过于简单（不同字符太少）"
    return None


def invite(ws: Workspace, name: str, now: dt.datetime | None = None) -> str:
    """A one-time enrolment token for ``name`` (a person of org.yaml), valid 72 hours."""
    if person(ws, name) is None:
        raise InviteError(f"'{name}' is not a person in org.yaml")
    token = secrets.token_urlsafe(24)
    moment = now or dt.datetime.now(dt.UTC)
    table = _invites(_folder(ws))
    table[_digest(token)] = {"person": name, "expires": (moment + dt.timedelta(
        hours=INVITE_HOURS)).isoformat(), "used": None}
    _save(_folder(ws), table)
    return token


def invited(ws: Workspace, token: str, now: dt.datetime | None = None) -> str:
    """The person an unused, unexpired token was made for; else InviteError."""
    entry = _invites(_folder(ws)).get(_digest(token))
    moment = now or dt.datetime.now(dt.UTC)
    if entry is None or entry["used"] is not None or \
            dt.datetime.fromisoformat(entry["expires"]) < moment:
        raise InviteError("邀请链接无效、已使用或已过期")
    return entry["person"]


def enrol(ws: Workspace, token: str, passphrase: str) -> str:
    """Redeem ``token``: a new key for its person, encrypted with ``passphrase`` (waiting
    for a registrar's countersignature, as ``keys new`` makes it); the token is spent."""
    from . import keys as service_keys

    name = invited(ws, token)
    why = passphrase_problem(name, passphrase)
    if why:
        raise InviteError(why)
    service_keys.new(ws, name, passphrase)
    table = _invites(_folder(ws))
    table[_digest(token)]["used"] = dt.datetime.now(dt.UTC).isoformat()
    _save(_folder(ws), table)
    return name


class PassphraseRefused(FlowdocError):
    """A passphrase change refused: the old one does not unlock the key, or the new is weak."""

    code = "refused"


def change_passphrase(ws: Workspace, name: str, old: str, new: str) -> str:
    """Wrap ``name``'s signing key with ``new`` instead of ``old`` (the same key, so what it
    signed stays signed; the old passphrase unlocks nothing from now on). The new one must
    pass the enrolment's strength rule. Returns the key id."""
    why = passphrase_problem(name, new)
    if why:
        raise PassphraseRefused(why)
    if new == old:
        raise PassphraseRefused("新口令与原口令相同")
    archive = ws.archive()
    kid = active_key(key_table(archive.key_entries(), ws.library.trust), name)
    try:
        if kid is None:
            raise keys.KeyError_("no key")
        keyring.change_passphrase(archive, kid, old, new)
    except (keys.KeyError_, ArchiveError):
        raise PassphraseRefused(f"{name}: 原口令不正确，或没有有效的签名密钥") from None
    return kid


def waiting_keys(ws: Workspace) -> list[str]:
    """People whose newest key waits for a registrar's countersignature."""
    table = key_table(ws.archive().key_entries(), ws.library.trust)
    return sorted({k["person"] for k in table.values()
                   if k["vouched"] is None and k["revoked"] is None})


def session_secret(ws: Workspace) -> bytes:
    """The key a web front door signs its session cookies with: made once, kept beside the
    invitations in this machine's folder of the store (0600), so sessions survive a restart.
    Two servers starting at once agree: the first one's file wins (a hard link fails on an
    existing name, where a rename would replace it under the other's feet)."""
    folder = _folder(ws)
    path = folder / "web.secret"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".web.secret.{secrets.token_hex(4)}")
        write_private(tmp, secrets.token_bytes(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


SESSION_SECRET_MIN = 32  # bytes: an HMAC key as long as its hash


def session_secret_from(path: Path) -> bytes:
    """A session secret given as a file, which every server behind one load balancer shares
    (else a login made on one is not a login on the other); a usage error naming the file when
    it cannot be read or is too short to sign with."""
    try:
        secret = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the session secret ({exc.strerror})") from None
    if len(secret) < SESSION_SECRET_MIN:
        raise UsageError(f"{path}: a session secret needs at least {SESSION_SECRET_MIN} bytes "
                         f"(head -c {SESSION_SECRET_MIN} /dev/urandom > {path})")
    return secret


def _folder(ws: Workspace) -> Path:
    """Where invitations are kept: the archive folder, or for an archive in PostgreSQL this
    machine's folder of the store (invite and enrol on the same server)."""
    return ws.archive().local_dir


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invites(folder: Path) -> dict:
    path = folder / INVITES
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InviteError(f"{path} cannot be read") from None


def _save(folder: Path, table: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / INVITES
    tmp = path.with_name(f".{INVITES}.{secrets.token_hex(4)}")
    write_private(tmp, json.dumps(table, ensure_ascii=False, indent=1).encode())
    tmp.replace(path)  # readable by its owner only from the first byte, replaced whole
