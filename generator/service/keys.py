"""People's keys and the root of trust: enrol, vouch, revoke; start and change trust.yaml."""

from __future__ import annotations

from pathlib import Path

from ..archive import events as archive_records
from ..archive import trusting
from ..trust import TRUST_FILE, TrustRoot, load_trust
from .workspace import Workspace


def new(ws: Workspace, person: str, passphrase: str) -> str:
    """An enrolment request: ``person``'s new key, which signs once a registrar vouches."""
    return archive_records.new_person_key(ws.archive(write=True), ws.library, person, passphrase)


def approve(ws: Workspace, person: str, registrar: str, passphrase: str) -> str:
    """A registrar vouches for ``person``'s waiting key (after checking who they are)."""
    kid, _ = archive_records.approve_key(ws.archive(write=True), ws.library, person, registrar,
                                         passphrase)
    return kid


def revoke(ws: Workspace, person: str, passphrase: str, by: str | None = None) -> str:
    """Revoke ``person``'s key (by them or a registrar): earlier signatures stay valid."""
    return archive_records.revoke_key(ws.archive(write=True), ws.library, person, passphrase, by)


def trust_path(ws: Workspace) -> Path:
    """The trust root file of the workspace's flows."""
    return ws.flows_dir / TRUST_FILE


def trust_init(ws: Workspace, person: str, passphrase: str, operator_passphrase: str) -> TrustRoot:
    """Start a trust root: ``person`` becomes its first registrar (their key signs itself)
    and the archive's operator key is added under them."""
    return trusting.init_trust(trust_path(ws), ws.archive(), ws.library, person, passphrase,
                               operator_passphrase)


def trust_add(ws: Workspace, registrar: str, passphrase: str, role: str, holder: str,
              new_passphrase: str | None, key_file: Path | None) -> str:
    """A registrar in office adds a registrar, operator or witness key to the trust root."""
    _, kid = trusting.add_key(trust_path(ws), ws.archive(), ws.library, registrar, passphrase,
                              role, holder, new_passphrase, key_file)
    return kid


def trust_remove(ws: Workspace, registrar: str, passphrase: str, kid: str) -> TrustRoot:
    """A registrar in office removes a key from the trust root (later statements only)."""
    return trusting.remove_key(trust_path(ws), ws.archive(), registrar, passphrase, kid)


def trust_show(flows_dir: Path) -> TrustRoot:
    """The trust root's statements and the keys in office now."""
    return load_trust(flows_dir / TRUST_FILE)
