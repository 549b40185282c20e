"""Writing output files so that a failure never leaves half a file behind, and the one lock
loop every writer (the archive's, the search index's) waits in."""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path
from typing import IO


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows.

    ``os.umask`` can only be read by setting it, and a thread creating a file in between would
    get the wrong mode; Linux shows it in /proc, so that is asked first."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def stage(path: Path, data: bytes | str) -> Path:
    """The first half of :func:`write_atomic`: ``data`` written and fsynced to a temporary
    file beside ``path``, whose name is returned for :func:`os.replace` onto ``path`` later
    (or for removal): a build stages its files while it is still making others, and puts them
    all in place only once every one is made."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o666 & ~current_umask())
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it into place.

    A reader (or a crash) sees either the old file or the whole new one, never a prefix. The
    file gets the mode any file the user writes gets (0644 under umask 022): ``mkstemp``
    creates it 0600, which would keep a manual on a shared folder from its readers.
    """
    tmp = stage(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def lock_exclusive(handle: IO[bytes], timeout: float) -> bool:
    """Take an exclusive ``flock`` on ``handle``, waiting up to ``timeout`` seconds; False if
    another process still holds it then. Polled rather than blocking, so a stuck holder makes
    the caller give up with a message instead of hanging."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
