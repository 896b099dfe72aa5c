"""Backups: a consistent `pg_dump` of the database (embedded or DATABASE_URL) and its restore.

pg_dump runs in one repeatable-read transaction, so the dump is a consistent snapshot while
the server and workers keep running. The embedded server ships pg_dump/pg_restore in pgserver's
`pginstall/bin`; for another server the tools on PATH are used (their major version must be at
least the server's).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from leadflood.errors import AppError


class BackupError(AppError):
    status = 500
    code = "backup_failed"
    message = "The backup failed."


class BackupToolMissing(BackupError):
    code = "backup_tool_missing"
    message = "pg_dump/pg_restore were not found: install the PostgreSQL client tools."


class BackupFileMissing(BackupError):
    status = 404
    code = "backup_file_missing"
    message = "The backup file does not exist."


class RestoreTargetNotEmpty(BackupError):
    status = 409
    code = "restore_target_not_empty"
    message = "The target database already holds tables."


class RestoreFailed(BackupError):
    code = "restore_failed"
    message = "The restore failed."


def tool(name: str) -> str:
    """The path of `pg_dump` or `pg_restore`: pgserver's own first (it matches the embedded
    server's version), then PATH."""
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
        if bundled.is_file():
            return str(bundled)
    except ImportError:  # pragma: no cover - pgserver is a core dependency
        pass
    found = shutil.which(name)
    if found is None:
        raise BackupToolMissing()
    return found


def _database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def dump(url: str, out: Path) -> int:
    """Write a custom-format dump of the database at `url` to `out`; return its size in bytes.
    The file is written next to `out` and moved into place only when pg_dump succeeded."""
    out = out.expanduser()
    if out.parent and not out.parent.is_dir():
        raise BackupError(f"The directory {out.parent} does not exist.")
    partial = out.with_name(out.name + ".partial")
    result = _run(
        [
            tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={partial}",
            f"--dbname={url}",
        ]
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    partial.replace(out)
    return out.stat().st_size


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    # No shell: the arguments are our tool's path, a URL and file names, passed as they are.
    return subprocess.run(command, capture_output=True, text=True)  # noqa: S603


def user_tables(url: str) -> int:
    """How many tables the database holds outside PostgreSQL's own schemas (0 = empty)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    return int(row[0]) if row else 0


def _ensure_database(url: str) -> None:
    """Create the target database when it does not exist yet (a new server or name)."""
    name = _database_of(url)
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def restore(url: str, source: Path, *, force: bool = False) -> None:
    """Restore the dump `source` into the database at `url`, creating it when missing.

    A database that already holds tables is refused unless `force`, which first drops the
    objects the dump recreates (`pg_restore --clean`): the rows of the dump replace the current
    ones entirely.
    """
    source = source.expanduser()
    if not source.is_file():
        raise BackupFileMissing(f"The backup file {source} does not exist.")
    _ensure_database(url)
    tables = user_tables(url)
    if tables and not force:
        raise RestoreTargetNotEmpty(
            f"The database {_database_of(url)!r} already holds {tables} table(s); restore into "
            "an empty database (a new data directory or DATABASE_URL), or pass --force to "
            "replace its contents with the backup.",
            details={"tables": tables},
        )
    command = [tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction",
               "--exit-on-error", f"--dbname={url}"]  # fmt: skip
    if tables:
        command += ["--clean", "--if-exists"]
    result = _run([*command, str(source)])
    if result.returncode != 0:
        raise RestoreFailed(f"pg_restore failed: {result.stderr.strip()}")
