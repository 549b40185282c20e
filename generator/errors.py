"""One error hierarchy for the whole package.

Every problem a user can cause is a :class:`Problem` with a place (file, line, and where it is
known the path of the offending key), so that the CLI can print it as one line and never as a
traceback. Loading and checking collect problems instead of stopping at the first one, because a
document controller fixing a flow wants to see all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem: ``file:line: where: message``."""

    file: str
    line: int
    where: str
    message: str
    severity: str = "error"  # "warning": reported, but the input is still usable

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line else self.file
        if self.severity != "error":
            place += f": {self.severity}"
        text = f"{place}: {self.where}: {self.message}" if self.where else f"{place}: {self.message}"
        return one_line(text)

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "where": self.where, "message": self.message,
                "severity": self.severity}


def one_line(text: str) -> str:
    """Control characters shown escaped: a problem is always exactly one line, whatever a
    hostile file put into a key or value."""
    return "".join(ch if ch.isprintable() or ch == "\u3000" else repr(ch)[1:-1] for ch in text)


class FlowdocError(Exception):
    """Base of every error flowdoc raises on purpose; a front door shows it as one line.

    ``code`` says what kind of failure it is, the same for every front door: the command
    line maps it to an exit status (``usage`` is 2, every other 1), the web application to an
    HTTP status. ``invalid``: the input is wrong; ``refused``: a rule forbids it (authority,
    sequence, an unlock that failed); ``not_found``; ``busy``: try again; ``usage``: the
    request itself is malformed."""

    code = "error"


class ProblemsError(FlowdocError):
    """Input was rejected; ``problems`` says where and why, all at once."""

    code = "invalid"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
