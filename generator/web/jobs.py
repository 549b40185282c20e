"""Long work started from a page (a rebuild of the publication, a verify of the archive): one
at a time per kind, in a thread of this process, with how far it got for the page to poll.

A request must not wait minutes for a verify of a large archive or a build; the page starts
the job, shows its progress (a script polls ``as_dict``; without scripts a reload does) and
then its result. A job that fails shows its one-line error, never a dead thread."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import FlowdocError

Work = Callable[[Callable[[int, int, str], None]], Any]


class Job:
    """One kind of long work: at most one run at a time; the last run's result or error."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = False
        self.done = self.total = 0
        self.name = self.error = self.finished = ""
        self.started = 0.0
        self.result: Any = None

    def start(self, work: Work) -> bool:
        """Run ``work(progress)`` in a thread unless a run is going on; whether it started."""
        with self._lock:
            if self.running:
                return False
            self.running, self.done, self.total, self.name, self.error = True, 0, 0, "", ""
            self.started, self.result = time.monotonic(), None
        threading.Thread(target=self._run, args=(work,), daemon=True).start()
        return True

    def _progress(self, done: int, total: int, name: str) -> None:
        self.done, self.total, self.name = done, total, name

    def _run(self, work: Work) -> None:
        try:
            self.result = work(self._progress)
        except FlowdocError as exc:
            self.error = str(exc)
        except Exception as exc:  # shown on the page: the thread must not die silently
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            self.running = False

    @property
    def seconds(self) -> int:
        """How long the run going on (or the last) has taken so far."""
        return int(time.monotonic() - self.started) if self.started else 0

    def as_dict(self) -> dict[str, Any]:
        return {"running": self.running, "done": self.done, "total": self.total,
                "name": self.name, "error": self.error, "finished": self.finished,
                "seconds": self.seconds}
