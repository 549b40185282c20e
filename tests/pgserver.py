"""A throwaway PostgreSQL cluster for the tests: Debian's binaries, ``initdb`` into a temporary
folder, a Unix socket there and a free TCP port on 127.0.0.1 (password auth), stopped at the
end. PostgreSQL refuses to run as root, so as root the cluster is run as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl (the newest installed), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).parent if which else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running cluster; :meth:`database` makes a new empty database for one test."""

    def __init__(self) -> None:
        bin_dir = binaries()
        if bin_dir is None:
            raise FileNotFoundError("PostgreSQL's initdb is not installed (Debian: apt-get "
                                    "install postgresql)")
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="flowdoc-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.user = "postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                raise FileNotFoundError("running as root, and there is no postgres user to "
                                        "run PostgreSQL as") from None
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        # fsync off, synchronous_commit on: a commit is acknowledged once its WAL is written
        # to the kernel, which keeps it when the server's processes are killed (the crash
        # tests); fsync only guards against the machine itself going down, which no test
        # can do. With it on, the crash test's end-of-recovery checkpoint waited seconds on
        # the disk when the other test process was writing too.
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.folder} -c fsync=off "
                   "-c synchronous_commit=on -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w",
                  "-t", "60", "-o", options, "start")
        self._maker = None  # the connection that makes the next database ahead
        self._ahead: str | None = None  # its name, while the server makes it
        self._made: list[str] = []  # made ahead, not given yet

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bin / program), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.folder)

    def url(self, database: str = "postgres", user: str | None = None) -> str:
        """The superuser's URL through the Unix socket (trusted: no password)."""
        return (f"postgresql://{user or self.user}@/{database}?host={self.folder}"
                f"&port={self.port}")

    def tcp_url(self, database: str, user: str, password: str) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres", params: tuple = ()) -> list:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else []

    def database(self) -> str:
        """A new, empty database; its name.

        Each is asked for one ahead: the server makes it (a copy of template1 through the
        WAL and a checkpoint, a tenth of a second or more) while the test that asked for the
        one before runs, on a connection of its own, so the next test finds it made."""
        self._finish_ahead()
        if self._made:
            name = self._made.pop()
        else:
            name = "t_" + uuid.uuid4().hex[:12]
            self.sql(f"CREATE DATABASE {name}")
        self._ask_ahead()
        return name

    def _ask_ahead(self) -> None:
        import psycopg

        if self._maker is None:
            self._maker = psycopg.connect(self.url(), autocommit=True)
        self._ahead = "t_" + uuid.uuid4().hex[:12]
        self._maker.pgconn.send_query(f"CREATE DATABASE {self._ahead}".encode())

    def _finish_ahead(self) -> None:
        """Wait for the database asked for ahead, if any; kept if the server made it."""
        from psycopg import pq

        if self._ahead is None or self._maker is None:
            return
        made = True
        while (result := self._maker.pgconn.get_result()) is not None:
            made = made and result.status == pq.ExecStatus.COMMAND_OK
        if made:
            self._made.append(self._ahead)
        self._ahead = None

    def _settle(self) -> None:
        """Nothing left being made ahead, and its connection closed (a restart or a stop
        would cut it)."""
        with contextlib.suppress(Exception):
            self._finish_ahead()
        if self._maker is not None:
            self._maker.close()
            self._maker = None

    def restart(self) -> None:
        """Crash and restart the server (``-m immediate``: its processes stop at once, with
        no clean shutdown, as a crash of the server leaves it; recovery replays the WAL)."""
        self._settle()
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60",
                  "restart")

    def stop(self) -> None:
        self._settle()
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        # a few hundred files a database: removed by a process of its own, which the test
        # session does not wait for (a shell that starts it in the background and ends)
        subprocess.run(["sh", "-c", 'rm -rf -- "$1" &', "sh", str(self.folder)],
                       start_new_session=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
