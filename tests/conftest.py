"""One embedded PostgreSQL per test run; every test gets its own database, copied from a
migrated template in ~30 ms, so tests can commit freely and run jobs in real workers."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from leadflood.db import embedded, migrate
from leadflood.db.engine import Database, connect
from leadflood.runtime import Runtime
from leadflood.settings import Settings, load_settings
from tests.support.accounts import Account, api_login, make_account
from tests.support.dovecot import DovecotServer
from tests.support.smtp_server import SmtpTestServer

TEMPLATE = "leadflood_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The admin URL of the run's embedded server, with a migrated template database."""
    data_dir = Path(tmp_path_factory.mktemp("pg", numbered=True))
    server, _ = embedded.start(data_dir, database="postgres")
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    migrate.upgrade(server.get_uri(TEMPLATE))
    yield admin_url
    server.cleanup()


@pytest.fixture
def database_url(pg_server: str) -> Iterator[str]:
    name = f"test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    yield pg_server.replace("/postgres?", f"/{name}?")
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="x" * 48,
        log_format="console",
        log_level="warning",
        worker_heartbeat_seconds=0.5,
        stalled_job_seconds=2,
    )


@pytest.fixture
async def runtime(settings: Settings, database_url: str) -> AsyncIterator[Runtime]:
    rt = Runtime(settings, connect(settings, url=database_url))
    yield rt
    await rt.aclose()


@pytest.fixture
def db(runtime: Runtime) -> Database:
    return runtime.db


@pytest.fixture
async def app(runtime: Runtime) -> Any:
    from leadflood.web.app import create_app

    return create_app(runtime)


@pytest.fixture
async def owner(runtime: Runtime) -> Account:
    """The owner of the workspace "Acme", whose API key the `client` fixture sends."""
    return await make_account(runtime, email="owner@example.com", workspace="Acme")


@pytest.fixture
async def other_workspace(runtime: Runtime) -> Account:
    """The owner of a second workspace, "Globex": none of its rows may show in "Acme"."""
    return await make_account(runtime, email="owner@globex.example", workspace="Globex")


@pytest.fixture
def make_user(runtime: Runtime) -> Any:
    """`await make_user(role="viewer", workspace=owner.workspace_id, email=...)`."""

    async def make(**options: Any) -> Account:
        return await make_account(runtime, **options)

    return make


@pytest.fixture
async def anon_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no credentials (and a cookie jar, for the browser pages)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def client(app: Any, owner: Account) -> AsyncIterator[httpx.AsyncClient]:
    """A client authenticated as the owner of "Acme" (by API key)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=owner.headers
    ) as c:
        yield c


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpTestServer]:
    """A test SMTP server that keeps what it receives under `tmp_path/caught`."""
    with SmtpTestServer(record_dir=tmp_path / "caught") as server:
        yield server


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """Debian's Dovecot on 127.0.0.1 for the whole run; each test takes its own `imap_user`.
    A missing Dovecot fails the tests that need it, saying to run `make dovecot`."""
    # Not under pytest's private temp dir: Dovecot's mail processes run as another user
    # (nobody, when the tests run as root) and must reach the Maildirs.
    root = Path(tempfile.mkdtemp(prefix="leadflood-dovecot-"))
    root.chmod(0o755)
    try:
        with DovecotServer(root) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_user(dovecot: DovecotServer) -> str:
    """A fresh mail account on the run's Dovecot (password `dovecot.passwords[user]`)."""
    username = f"u{uuid.uuid4().hex[:10]}"
    dovecot.add_user(username, f"pw-{uuid.uuid4().hex[:8]}")
    return username


@pytest.fixture
def login(anon_client: httpx.AsyncClient) -> Any:
    """`tokens = await login(account)`: signs in through `POST /v1/auth/login`."""

    async def sign_in(account: Account, **extra: Any) -> dict[str, Any]:
        return await api_login(anon_client, account, **extra)

    return sign_in


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
