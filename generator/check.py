"""Load and check in one call: what ``flowdoc check`` and ``flowdoc build`` both start with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .checks import check_library
from .errors import Problem
from .loader import flow_files, load_library
from .model import Library


@dataclass(frozen=True)
class CheckResult:
    library: Library
    problems: list[Problem]
    files: int

    @property
    def ok(self) -> bool:
        """No errors (warnings do not stop a build)."""
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def check_paths(paths: Iterable[Path], base: Path | None = None) -> CheckResult:
    """Check the flows named by ``paths`` (files or folders).

    References between flows are resolved against every flow in the folder of the first path,
    so checking one file still knows the rest of the manual; problems are reported only for
    the files asked about (and org.yaml / manual.yaml / keys.yaml, which every flow depends on).
    """
    paths = list(paths)
    missing = [Problem(str(p), 0, "", "no such file or folder") for p in paths if not p.exists()]
    if missing:
        return CheckResult(Library(None, None, ()), missing, 0)
    asked, home = flow_files(paths)
    loaded = load_library([home] if home is not None else [], base)
    problems = loaded.problems + check_library(loaded.library)
    if any(p.is_file() for p in paths):
        wanted = {_norm(p) for p in asked}
        problems = [p for p in problems if _norm(Path(p.file), base) in wanted
                    or Path(p.file).name in ("org.yaml", "manual.yaml", "keys.yaml", "trust.yaml")]
    return CheckResult(loaded.library, sorted(set(problems)), len(asked))


def _norm(path: Path, base: Path | None = None) -> Path:
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return path.resolve()
