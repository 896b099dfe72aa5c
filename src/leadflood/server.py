"""Running Lead Flood: everything in one process, the web tier alone, or a worker."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from leadflood.console import DataDir, build_runtime, console, err, run, settings_from
from leadflood.settings import Settings

if TYPE_CHECKING:
    from leadflood.runtime import Runtime


def up(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    concurrency: Annotated[int, typer.Option(help="Jobs run at once by the worker.")] = 4,
    demo: Annotated[
        bool, typer.Option("--demo", help="Create a demo workspace and user to sign in with.")
    ] = False,
) -> None:
    """Run everything: database (embedded unless DATABASE_URL is set), migrations, the API and
    web UI, and a worker. Ctrl-C stops all of it."""
    settings = served_at(settings_from(data_dir), host, port)
    runtime = build_runtime(settings, migrate=True, service="leadflood")
    demo_run = None
    if demo:
        from leadflood import demo as demo_mode

        demo_run = demo_mode.start(runtime, f"http://{host}:{port}")
    else:
        _print_sign_in_hint(runtime, f"http://{host}:{port}")
    console.print(
        f"[bold green]Lead Flood[/bold green] is running at [link]http://{host}:{port}[/link]"
        " — press Ctrl-C to stop."
    )
    try:
        run(lambda: _serve_all(runtime, host=host, port=port, concurrency=concurrency))
    finally:
        if demo_run is not None:
            demo_run.stop()


def served_at(settings: Settings, host: str, port: int) -> Settings:
    """Without PUBLIC_URL, links in emails and invitations point at the address this server
    listens on (the loopback one when it listens on every interface)."""
    if "public_url" in settings.model_fields_set:
        return settings
    shown = "127.0.0.1" if _listens_everywhere(host) else host
    return settings.model_copy(update={"public_url": f"http://{shown}:{port}"})


def _listens_everywhere(host: str) -> bool:
    try:
        return not host or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False  # a host name


def _print_sign_in_hint(runtime: Runtime, url: str) -> None:
    from leadflood.auth import service as accounts

    async def main() -> bool:
        async with runtime.db.session() as session:
            return await accounts.has_users(session)

    if not run(main):
        console.print(
            f"No account yet: open {url}/setup to create the first workspace and its owner "
            "(or run `leadflood users create`, or `leadflood up --demo`)."
        )


async def _serve_all(runtime: Runtime, *, host: str, port: int, concurrency: int) -> None:
    import uvicorn

    from leadflood.web.app import create_app

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # signals are handled below, for the server and the worker together

    server = Server(
        uvicorn.Config(
            create_app(runtime),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            proxy_headers=bool(runtime.settings.trusted_proxies),
            forwarded_allow_ips=runtime.settings.forwarded_allow_ips,
        )
    )
    worker_task = asyncio.create_task(_supervise_worker(runtime, concurrency))

    def stop() -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        await server.serve()
    finally:
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker_task
        await runtime.aclose()
        console.print("Stopped.")


@contextlib.asynccontextmanager
async def _imap_idle(runtime: Runtime) -> AsyncIterator[None]:
    """Beside a worker: the IMAP IDLE connections that hear replies within seconds (unless
    IMAP_IDLE=false; the polls read them anyway)."""
    if not runtime.settings.imap_idle:
        yield
        return
    from leadflood.inbox import idle

    task = asyncio.create_task(idle.run(runtime))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _supervise_worker(runtime: Runtime, concurrency: int) -> None:
    """The worker of `leadflood up`, started again (after a back-off) whenever it ends or fails
    while the server runs: the API must not keep serving while nothing sends."""
    async with _imap_idle(runtime):
        await _keep_worker(runtime, concurrency)


async def _keep_worker(runtime: Runtime, concurrency: int) -> None:
    from leadflood import worker as job_worker
    from leadflood.logging import get_logger

    log = get_logger("leadflood.server")
    backoff = job_worker.Backoff()
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        failure: Exception | None = None
        try:
            await job_worker.run(runtime, concurrency=concurrency, install_signal_handlers=False)
        except Exception as exc:  # whatever it was, the API keeps serving and the worker returns
            failure = exc
        if loop.time() - started >= job_worker.HEALTHY_SECONDS:
            backoff.reset()
        delay = backoff.next()
        reason = f"{failure.__class__.__name__}: {failure}" if failure else "the worker returned"
        log.error("worker.restarting", reason=reason, restart_in=delay, exc_info=failure)
        await asyncio.sleep(delay)


def serve(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    workers: Annotated[int, typer.Option(help="HTTP processes.")] = 1,
) -> None:
    """Run only the API and web UI (scale these out behind a load balancer)."""
    import os

    import uvicorn

    settings = served_at(settings_from(data_dir), host, port)
    os.environ["PUBLIC_URL"] = settings.public_url  # the HTTP processes build their own
    if settings.embedded:
        build_runtime(settings, migrate=True, service="leadflood-web")
        from leadflood.db import embedded

        _, url = embedded.start(settings.data_dir)
        os.environ["DATABASE_URL"] = url
    os.environ["LEADFLOOD_DATA_DIR"] = str(settings.data_dir)
    uvicorn.run(
        "leadflood.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def worker(
    data_dir: DataDir = None,
    concurrency: Annotated[int, typer.Option(help="Jobs run at once.")] = 4,
) -> None:
    """Run a job worker (run as many as you like, on any machine). It waits for a database
    that goes away; it exits with status 1 when the database stays away longer than
    WORKER_DATABASE_WAIT_SECONDS, 2 when it is set up wrong."""
    from leadflood import worker as job_worker
    from leadflood.db.outages import DatabaseMisconfigured

    settings = settings_from(data_dir)
    runtime = build_runtime(settings, service="leadflood-worker")

    async def main() -> None:
        try:
            async with _imap_idle(runtime):
                await job_worker.run(runtime, concurrency=concurrency)
        finally:
            await runtime.aclose()

    try:
        run(main)
    except (DatabaseMisconfigured, job_worker.WorkerGaveUp) as exc:
        err.print(f"[red]Worker stopped[/red]: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2 if isinstance(exc, DatabaseMisconfigured) else 1) from None


def openapi(
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the OpenAPI document (the contract committed as openapi.json)."""
    from leadflood.web.app import create_app

    text = json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"
    if out:
        out.write_text(text)
    else:
        sys.stdout.write(text)
