"""A real `leadflood up` process on the test database, and Debian's Chromium driven by
Playwright (never a downloaded browser)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import free_port
from tests.support.processes import leadflood_env, start, stop, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@asynccontextmanager
async def running(
    database_url: str, tmp_path: Path, *args: str, command: str = "up", **env: str
) -> AsyncIterator[tuple[str, Path]]:
    """`leadflood up ARGS` on a free port, once it answers /health: (base URL, data dir).
    `command="serve"` runs the API and pages without a worker, for a test that runs the jobs
    itself. `env` adds variables; PUBLIC_URL defaults to the server's own address."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    variables = leadflood_env(database_url, data_dir, **{"PUBLIC_URL": base, **env})
    process = start([command, *args, "--port", str(port)], variables, tmp_path / "server.log")

    async def ready() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{base}/health")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await wait_for(ready, timeout=60, what=f"leadflood up {' '.join(args)} to answer")
        yield base, data_dir
    finally:
        stop(process)


@pytest.fixture
async def live_server(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    async with running(database_url, tmp_path) as (base, _):
        yield base


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
        )
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
def screenshots() -> Iterator[Path]:
    folder = Path(__file__).resolve().parents[2] / "screenshots"
    folder.mkdir(exist_ok=True)
    yield folder


def console_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


async def sign_in(page: Any, base: str, account: Any) -> None:
    """Sign in through the login form, as a person would."""
    await page.goto(f"{base}/login")
    await page.get_by_label("Email").fill(account.email)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/login" not in url)


async def demo_leads_found(runtime: Any) -> None:
    """Wait until the demo's first leads are in (its ICP's sandbox search, started by
    `up --demo`): leads a test adds afterwards are the workspace's newest."""
    from sqlalchemy import select

    from leadflood.models import SearchRun, SearchRunState

    async def done() -> bool:
        async with runtime.db.session() as session:
            states = (await session.scalars(select(SearchRun.state))).all()
        return bool(states) and all(s == SearchRunState.completed for s in states)

    await wait_for(done, timeout=60, what="the demo's first leads", interval=0.3)
