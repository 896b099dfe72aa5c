"""The API under load: N leads (1,000,000 by default) in one workspace, C concurrent clients
(50) on the leads list and the lead detail through a real `leadflood serve` process, against a
bare endpoint in the same run: a minimal Starlette app served by uvicorn the same way (one
process), running the same SQL with psycopg from a pool of the same size, with no
authentication, no session and no ORM.

Prints p50/p95 per endpoint for both and the ratio of the p95s (target: at most 1.3).

    python bench/api_load.py [--rows 1000000] [--clients 50] [--requests 3000]

Uses DATABASE_URL when set, else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"
sys.path[:0] = [str(SRC), str(BENCH)]

from leads_list import SEED  # noqa: E402  (the seeding of bench/leads_list.py)

PAGE = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def statements(workspace_id: uuid.UUID) -> dict[str, Any]:
    """The SQL the API runs for the list's first page and for one lead, compiled by the same
    query code, with its parameters (the lead id left to fill)."""
    from sqlalchemy.dialects import postgresql

    from leadflood.db.scope import scoped
    from leadflood.leads import queries
    from leadflood.leads.schemas import LeadFilter, LeadRead
    from leadflood.models import Lead

    dialect = postgresql.psycopg.dialect()  # type: ignore[attr-defined]
    listing = (
        queries.filtered(scoped(Lead, workspace_id), LeadFilter())
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .limit(PAGE + 1)
    )
    one = scoped(Lead, workspace_id).where(Lead.id == uuid.UUID(int=0))
    out: dict[str, Any] = {"fields": list(LeadRead.model_fields)}
    for name, stmt in (("list", listing), ("detail", one)):
        compiled = stmt.compile(dialect=dialect)
        out[name] = {
            "sql": str(compiled),
            "params": {
                k: str(v) if isinstance(v, uuid.UUID) else v for k, v in compiled.params.items()
            },
        }
    return out


def bare_app(url: str, pool_size: int, spec: dict[str, Any]) -> Any:
    """The floor: the same statements on a psycopg pool, rows to JSON."""
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    pool = AsyncConnectionPool(url, min_size=pool_size, max_size=2 * pool_size, open=False)
    fields = spec["fields"]
    id_param = next(k for k, v in spec["detail"]["params"].items() if v == str(uuid.UUID(int=0)))

    def shaped(row: dict[str, Any]) -> dict[str, Any]:
        return {f: row.get(f) for f in fields}

    async def rows(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, params)
            return await cur.fetchall()

    def as_json(body: Any) -> Response:
        return Response(json.dumps(body, default=str), media_type="application/json")

    async def listing(request: Request) -> Response:
        found = await rows(spec["list"]["sql"], spec["list"]["params"])
        return as_json({"items": [shaped(r) for r in found[:PAGE]], "next": len(found) > PAGE})

    async def detail(request: Request) -> Response:
        params = {**spec["detail"]["params"], id_param: request.path_params["lead_id"]}
        found = await rows(spec["detail"]["sql"], params)
        if not found:
            return JSONResponse({"error": "not found"}, status_code=404)
        return as_json(shaped(found[0]))

    async def lifespan(app: Any) -> Any:
        await pool.open()
        yield
        await pool.close()

    from contextlib import asynccontextmanager

    return Starlette(
        routes=[Route("/v1/leads", listing), Route("/v1/leads/{lead_id}", detail)],
        lifespan=asynccontextmanager(lifespan),
    )


def serve_bare(port: int) -> None:
    import uvicorn

    spec = json.loads(os.environ["BENCH_SPEC"])
    app = bare_app(os.environ["DATABASE_URL"], int(os.environ.get("DB_POOL_SIZE", "10")), spec)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def wait_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 120
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{url} exited:\n{log.read_text()[-3000:]}")
            try:
                await client.get(url, timeout=2)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.3)
    raise SystemExit(f"{url} did not answer in 120s:\n{log.read_text()[-3000:]}")


async def load(
    base: str, headers: dict[str, str], ids: list[str], *, clients: int, requests: int
) -> dict[str, list[float]]:
    """`requests` calls of each endpoint, spread over `clients` concurrent clients, each
    alternating list and detail; latencies in ms per endpoint."""
    import httpx

    times: dict[str, list[float]] = {"list": [], "detail": []}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    todo = iter(range(2 * requests))
    rng = random.Random(7)

    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as http:

        async def client() -> None:
            for n in todo:
                kind = "list" if n % 2 == 0 else "detail"
                path = "/v1/leads" if kind == "list" else f"/v1/leads/{rng.choice(ids)}"
                t0 = time.perf_counter()
                response = await http.get(path, timeout=60)
                times[kind].append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{base}{path}: {response.status_code} {response.text[:300]}")

        await asyncio.gather(*(client() for _ in range(clients)))
    return times


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if values else 0.0  # type: ignore[call-overload]


async def seed(url: str, rows: int, settings: Any) -> tuple[uuid.UUID, str, list[str]]:
    from leadflood.auth import api_keys
    from leadflood.auth import service as accounts
    from leadflood.auth.principal import CurrentMember
    from leadflood.db.engine import connect
    from leadflood.models import Role

    db = connect(settings, url=url)
    async with db.session() as session:
        user = await accounts.create_user(session, email="bench@example.com", password="x" * 16)
        ws = await accounts.create_workspace(session, name="Bench")
        await accounts.add_member(session, ws.id, user.id, Role.owner)
        actor = CurrentMember(workspace=ws, role=Role.owner, user=user)
        _, secret = await api_keys.create(session, actor, name="bench", role=Role.owner)
    await db.dispose()
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED, {"ws": ws.id, "rows": rows})
        conn.execute("VACUUM ANALYZE leads")
        ids = [
            str(r[0])
            for r in conn.execute(
                "SELECT id FROM leads TABLESAMPLE SYSTEM (1) WHERE workspace_id = %s LIMIT 5000",
                (ws.id,),
            )
        ]
    print(f"seeded {rows:,} leads in {time.perf_counter() - started:.1f}s", flush=True)
    return ws.id, secret, ids


async def main(rows: int, clients: int, requests: int) -> None:
    from leadflood.db import embedded, migrate
    from leadflood.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="lf-bench-api-"))
    os.chmod(work, 0o755)  # the embedded server runs as its own system user
    url = os.environ.get("DATABASE_URL")
    server = None
    if not url:
        server, url = embedded.start(work / "data")
    migrate.upgrade(url)
    settings = load_settings(database_url=url, data_dir=work, log_level="error")
    ws, secret, ids = await seed(url, rows, settings)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADFLOOD_", "PYTEST"))}
    env.update(
        DATABASE_URL=url,
        LEADFLOOD_DATA_DIR=str(work),
        SECRET_KEY="b" * 48,
        LOG_LEVEL="warning",
        API_KEY_REQUESTS_PER_MINUTE=str(10_000_000),
        PYTHONPATH=str(SRC),
        BENCH_SPEC=json.dumps(statements(ws)),
        DB_POOL_SIZE=str(settings.db_pool_size),
    )
    api_port, bare_port = free_port(), free_port()
    log = work / "servers.log"
    out = log.open("ab")
    api = subprocess.Popen(
        [sys.executable, "-m", "leadflood", "serve", "--port", str(api_port)],
        env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    bare = subprocess.Popen(
        [sys.executable, __file__, "--serve-bare", str(bare_port)],
        env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        api_base, bare_base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{bare_port}"
        await wait_up(f"{api_base}/healthz", api, log)
        await wait_up(f"{bare_base}/v1/leads", bare, log)
        auth = {"X-API-Key": secret}
        for base, headers in ((api_base, auth), (bare_base, {})):  # warm both up
            await load(base, headers, ids, clients=clients, requests=200)
        # Alternating rounds, so that neither side gets the quieter minute.
        results: dict[str, dict[str, list[float]]] = {
            "api": {"list": [], "detail": []},
            "bare": {"list": [], "detail": []},
        }
        for _ in range(2):
            for name, base, headers in (("api", api_base, auth), ("bare", bare_base, {})):
                got = await load(base, headers, ids, clients=clients, requests=requests // 2)
                for kind in got:
                    results[name][kind] += got[kind]
        print(f"{rows:,} leads, {clients} concurrent clients, {requests} requests per endpoint")
        print(f"{'endpoint':<14}{'api p50':>10}{'api p95':>10}{'bare p50':>10}{'bare p95':>10}"
              f"{'p95 ratio':>11}")  # fmt: skip
        for kind, label in (("list", "leads list"), ("detail", "lead detail")):
            a, b = results["api"][kind], results["bare"][kind]
            print(
                f"{label:<14}{pct(a, 50):>8.1f}ms{pct(a, 95):>8.1f}ms{pct(b, 50):>8.1f}ms"
                f"{pct(b, 95):>8.1f}ms{pct(a, 95) / pct(b, 95):>10.2f}x"
            )
    finally:
        for process in (api, bare):
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        out.close()
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--serve-bare", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare is not None:
        serve_bare(args.serve_bare)
    else:
        asyncio.run(main(args.rows, args.clients, args.requests))
