"""Real `leadflood` processes for tests that kill and restart them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path


def leadflood_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "LEADFLOOD_", "PYTEST"))
    }
    env.update(
        DATABASE_URL=database_url,
        LEADFLOOD_DATA_DIR=str(data_dir),
        LEADFLOOD_ENV="test",
        SECRET_KEY="x" * 48,
        LOG_FORMAT="json",
        LOG_LEVEL="info",
        WORKER_HEARTBEAT_SECONDS="0.5",
        STALLED_JOB_SECONDS="2",
    )
    env.update(extra)
    return env


def run_cli(
    tmp_path: Path, database_url: str, *args: str, stdin: str = "", **extra: str
) -> subprocess.CompletedProcess[str]:
    """One `leadflood ...` command run to its end, as from a shell, on the test database."""
    return subprocess.run(
        [sys.executable, "-m", "leadflood", *args],
        env=leadflood_env(database_url, tmp_path / "data", LOG_LEVEL="warning", **extra),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "leadflood", *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def wait_for(
    check: Callable[[], Awaitable[bool]], *, timeout: float, what: str, interval: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
