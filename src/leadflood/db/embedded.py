"""The embedded PostgreSQL (pgserver) used when DATABASE_URL is unset.

A second process calling `get_server` on the same directory attaches to the running server;
pgserver counts handles per process and the last one to exit stops it.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import psycopg

DATABASE_NAME = "leadflood"


def start(data_dir: Path, *, database: str = DATABASE_NAME) -> tuple[Any, str]:
    """Start (or attach to) the server in `data_dir/pg`; return (handle, libpq URL)."""
    # pgserver keeps its lock file in the user's runtime directory and warns when it is unset.
    if "XDG_RUNTIME_DIR" not in os.environ:
        runtime_dir = Path(tempfile.gettempdir()) / f"runtime-{os.getuid()}"
        runtime_dir.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

        data_dir.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir / "pg", cleanup_mode="stop")
    admin_url = server.get_uri("postgres")
    ensure_database(admin_url, database)
    return server, server.get_uri(database)


def ensure_database(admin_url: str, database: str, *, template: str | None = None) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists:
            return
        sql = f'CREATE DATABASE "{database}"'
        if template:
            sql += f' TEMPLATE "{template}"'
        conn.execute(sql)
