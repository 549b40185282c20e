"""A workspace: the flows folder a user works from and the archive they write to.

Opening one checks the flows (a library with errors is refused: nothing is archived under a
broken definition) and, for writing, unlocks the archive's operator key, which signs every
checkpoint. Verification opens the flows leniently instead: a broken keys.yaml is then one
more finding, never a reason not to look at the log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..checks import CheckResult, check_paths
from ..errors import Problem, ProblemsError
from ..loader import ORG_FILE, load_library
from ..model import Library

if TYPE_CHECKING:  # the archive's modules load when an archive is opened: a build,
    # a check or a form needs none of them (nor the cryptography they import)
    from ..archive.store import Store

T = TypeVar("T")


@dataclass
class Workspace:
    """The flows folder a user works from (checked) and the archive they read or write: what
    every service operation takes first."""

    flows_dir: Path
    archive_dir: Path | str = field(repr=False)  # a folder or a postgresql:// URL (a password)
    checked: CheckResult
    operator_passphrase: str | None = field(default=None, repr=False)
    _archive: Store | None = field(default=None, repr=False)
    _reader: Store | None = field(default=None, repr=False)
    _seen: tuple = field(default=(), repr=False)  # the flows folder's files when checked
    refused: list[Problem] = field(default_factory=list, repr=False)  # a later, broken check
    # what a long-running front door derives from the archive once (see kept)
    _kept: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _keeping: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def library(self) -> Library:
        return self.checked.library

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.checked.problems if p.severity != "error"]

    def archive(self, write: bool = False) -> Store:
        """The archive (a folder or a PostgreSQL store, :func:`open_store`); for writing, with
        the operator key unlocked (an archive opened without it refuses to commit, with a
        message that says how to give it)."""
        from ..archive.location import open_store
        from ..archive.trusting import unlock_operator

        if not write:
            if self._reader is None:
                self._reader = open_store(self.archive_dir)
            return self._reader
        if self._archive is None:
            store = open_store(self.archive_dir)
            self._archive = store.with_operator(
                unlock_operator(store.local_dir, self.operator_passphrase))
        return self._archive


    def kept(self, name: str, make: Callable[[], T]) -> T:
        """What ``make`` derives from the archive (a search index, the waiting list), made
        once and kept while this workspace lives: a server's requests share it, each bringing
        it up to the log itself."""
        with self._keeping:
            if name not in self._kept:
                self._kept[name] = make()
            return self._kept[name]

    def refresh(self) -> bool:
        """Check the flows folder again if a file in it changed since (a sign-off written, a
        ``git pull``): a long-running front door then serves what is on disk. A folder that no
        longer checks is not taken: the last good library stays, and ``refused`` says why.
        Whether the library changed."""
        seen = _files(self.flows_dir)
        if seen == self._seen:
            return False
        self._seen = seen
        checked = check_paths([self.flows_dir])
        if not checked.ok:
            self.refused = checked.errors
            return False
        self.checked, self.refused = checked, []
        return True


def _files(folder: Path) -> tuple:
    """What tells a change in a flows folder: each YAML file's name, size and mtime."""
    try:
        return tuple(sorted((p.name, st.st_size, st.st_mtime_ns) for p in folder.glob("*.yaml")
                            for st in (p.stat(),)))
    except OSError:
        return ()


def archive_location(value: str | Path) -> Path | str:
    """What ``--archive`` / ``FLOWDOC_ARCHIVE`` names: a ``postgresql://`` URL kept as text
    (a path would fold its ``//``), anything else a folder."""
    from ..archive.location import is_database_url

    return str(value) if is_database_url(str(value)) else Path(value)


def open_workspace(flows_dir: Path, archive_dir: Path | str = Path("records"), *,
                   operator_passphrase: str | None = None, strict: bool = True,
                   definitions_only: bool = False) -> Workspace:
    """The flows of ``flows_dir`` checked, and the archive at ``archive_dir``. ``strict``:
    refuse flows with errors (every operation but verify). ``definitions_only``: read only
    org.yaml, keys.yaml and trust.yaml (what keys, trust and witness commands need), not the
    24 flows and their checks: a registrar approving a key waits a third of the time."""
    seen = _files(flows_dir)
    checked = _definitions(flows_dir) if definitions_only else check_paths([flows_dir])
    if strict and not checked.ok:
        raise ProblemsError(checked.errors)
    return Workspace(flows_dir, archive_dir, checked, operator_passphrase, _seen=seen)


def _definitions(flows_dir: Path) -> CheckResult:
    loaded = load_library([flows_dir / ORG_FILE])
    problems = list(loaded.problems)
    if loaded.library.org is None:
        problems.append(Problem(str(flows_dir / ORG_FILE), 0, "", "org.yaml is missing: "
                                "nobody's key can be checked against a person"))
    return CheckResult(loaded.library, problems, 0)
