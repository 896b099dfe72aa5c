"""A PostgreSQL server of a test's own, migrated, that the test can stop and start again on the
same data directory (the database-restart drills): the embedded one (pgserver, on a Unix socket)
or Debian's (`apt-get install postgresql`, on 127.0.0.1). The shared test server is never
restarted: other tests use it."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest

from leadflood.db import embedded, migrate
from tests.support.smtp_server import free_port

DATABASE = "leadflood"


class RestartablePostgres(Protocol):
    url: str  # the migrated database
    kind: str

    def stop(self, mode: str = "fast") -> None: ...

    def start(self) -> None: ...


class EmbeddedPostgres:
    kind = "embedded (pgserver, Unix socket)"

    def __init__(self, data_dir: Path) -> None:
        self.server: Any
        self.server, self.url = embedded.start(data_dir, database=DATABASE)

    def stop(self, mode: str = "fast") -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def close(self) -> None:
        self.server.cleanup()


def debian_bindir() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not found:
        pytest.fail(
            "Debian's PostgreSQL server is missing: `make test` installs it "
            "(apt-get install postgresql)"
        )
    return found[-1].parent


class DebianPostgres:
    """Debian's server binaries run as a child of the test, in a directory of their own (under
    /tmp, which the `postgres` user can reach when the tests run as root: PostgreSQL refuses to
    run as root). The package's own cluster and service are never used."""

    kind = "Debian postgresql (TCP 127.0.0.1)"

    def __init__(self) -> None:
        self.bindir = debian_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="leadflood-pg-"))
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            account = pwd.getpwnam(self.user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.data = self.root / "data"
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--no-sync")  # fmt: skip
        self.start()
        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        embedded.ensure_database(admin, DATABASE)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.bindir / program), *args],
            check=True,
            capture_output=True,
            user=self.user,
            timeout=60,
        )

    def stop(self, mode: str = "fast") -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")
        except subprocess.TimeoutExpired:
            # pg_ctl can wait on a slow machine for the last backend to go: end the server as a
            # crash would (what an immediate stop stands for), and wait until it is gone.
            self._kill()

    def _kill(self) -> None:
        pid_file = self.data / "postmaster.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                os.kill(pid, 0)  # ProcessLookupError once it is gone
                time.sleep(0.1)

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.root / "log"),
                  "-o", options, "start")  # fmt: skip

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        self._kill()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def restartable_postgres(kind: str, directory: Path) -> Iterator[RestartablePostgres]:
    server: EmbeddedPostgres | DebianPostgres = (
        EmbeddedPostgres(directory) if kind == "embedded" else DebianPostgres()
    )
    try:
        migrate.upgrade(server.url)
        yield server
    finally:
        server.close()
