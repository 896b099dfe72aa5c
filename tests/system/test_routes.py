from __future__ import annotations

import httpx

from leadflood.db.engine import connect
from leadflood.runtime import Runtime
from leadflood.web.app import create_app
from tests.factories import add_worker_heartbeat


async def test_health(client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_request_id_is_generated_or_kept(client) -> None:
    generated = await client.get("/health")
    assert len(generated.headers["x-request-id"]) >= 16
    kept = await client.get("/health", headers={"x-request-id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    hostile = await client.get("/health", headers={"x-request-id": "a b<script>"})
    assert hostile.headers["x-request-id"] != "a b<script>"


async def test_ready_is_503_before_any_worker_has_run(client) -> None:
    """Nothing sends until a worker runs: a new installation is not ready either."""
    response = await client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["db"] == "ok"
    assert body["worker"]["alive"] is False


async def test_ready_is_503_when_the_database_is_unreachable(settings, tmp_path) -> None:
    url = f"postgresql://postgres@/nowhere?host={tmp_path}&connect_timeout=1"
    runtime = Runtime(settings, connect(settings, url=url))
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/ready")
    await runtime.aclose()
    assert response.status_code == 503
    assert response.json()["db"] == "fail"


async def test_errors_follow_one_contract(client) -> None:
    missing = await client.get("/v1/nothing-here")
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == "not_found"
    assert error["request_id"] == missing.headers["x-request-id"]
    wrong_method = await client.delete("/health")
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


async def test_unhandled_errors_are_500_with_the_contract(app, client) -> None:
    @app.get("/test/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    response = await client.get("/test/boom")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error"
    assert "kaboom" not in error["message"]
    assert error["request_id"] == response.headers["x-request-id"]


async def test_metrics_are_prometheus_text(client) -> None:
    await client.get("/health")
    response = await client.get("/metrics/")
    assert response.status_code == 200
    assert "leadflood_http_requests_total" in response.text


def test_openapi_field_names_are_snake_case(app) -> None:
    import re

    schemas = app.openapi()["components"]["schemas"]
    for name, schema in schemas.items():
        for field in schema.get("properties", {}):
            assert re.fullmatch(r"[a-z][a-z0-9_]*", field), (name, field)


async def _worker_row(runtime: Runtime, *, seconds_ago: int) -> None:
    async with runtime.db.session() as session:
        await add_worker_heartbeat(session, seconds_ago=seconds_ago)


async def test_ready_is_503_when_every_worker_stopped_beating(client, runtime) -> None:
    await _worker_row(runtime, seconds_ago=600)  # it ran, then stopped (or died)
    response = await client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["db"] == "ok"
    assert body["worker"]["alive"] is False
    assert body["worker"]["last_heartbeat"] is not None


async def test_ready_is_200_while_a_worker_beats(client, runtime) -> None:
    await _worker_row(runtime, seconds_ago=600)
    await _worker_row(runtime, seconds_ago=0)
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["worker"]["alive"] is True
