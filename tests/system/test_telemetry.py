"""Traces, error reports and webhooks leaving real processes: a `leadflood serve` and a
`leadflood worker` export OpenTelemetry spans over OTLP/HTTP to a receiver on 127.0.0.1, a
Sentry DSN on 127.0.0.1 receives an error report, and a webhook receiver on 127.0.0.1 (allowed
by WEBHOOK_ALLOWED_NETWORKS) gets events that verify with the Standard Webhooks reference
library."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from standardwebhooks.webhooks import Webhook

from tests.support.processes import leadflood_env, start, stop, wait_for
from tests.support.smtp_server import free_port

pytestmark = pytest.mark.slow


class Receiver:
    """An HTTP server on 127.0.0.1 keeping every POST (path, headers, body)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()

    def bodies(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        return [(headers, body) for at, headers, body in self.posts if at.startswith(path)]

    def spans(self) -> Iterator[tuple[str, Any]]:
        """(service.name, span) of every exported span."""
        for _, body in self.bodies("/v1/traces"):
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                resource = resource_spans.resource
                attributes = {a.key: a.value.string_value for a in resource.attributes}
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        yield attributes["service.name"], span


async def test_traces_errors_and_webhooks_leave_real_processes(
    database_url: str, tmp_path: Path, owner: Any
) -> None:
    with Receiver() as receiver:
        env = leadflood_env(
            database_url,
            tmp_path / "data",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
            OTEL_BSP_SCHEDULE_DELAY="100",
            SENTRY_DSN=f"http://public@127.0.0.1:{receiver.url.rsplit(':', 1)[1]}/1",
            WEBHOOK_ALLOWED_NETWORKS="127.0.0.1/32",
        )
        port = free_port()
        web = start(["serve", "--port", str(port)], env, tmp_path / "serve.log")
        worker = start(["worker", "--concurrency", "2"], env, tmp_path / "worker.log")
        headers = {"Authorization": f"Bearer {owner.api_key}"}
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10
            ) as api:

                async def serving() -> bool:
                    try:
                        return (await api.get("/health")).status_code == 200
                    except httpx.TransportError:
                        return False

                await wait_for(serving, timeout=60, what="the API to listen")
                hook = await api.post(
                    "/v1/webhooks", json={"url": f"{receiver.url}/hook", "events": ["lead.created"]}
                )
                assert hook.status_code == 201, hook.text
                secret = hook.json()["secret"]
                created = await api.post("/v1/leads", json={"email": "ada@traced.example"})
                assert created.status_code in (201, 202), created.text

                async def delivered() -> bool:
                    return bool(receiver.bodies("/hook"))

                await wait_for(delivered, timeout=60, what="the webhook delivery")
                request_headers, body = receiver.bodies("/hook")[0]
                event = Webhook(secret).verify(body, request_headers)
                assert event["type"] == "lead.created"
                assert event["data"]["email"] == "ada@traced.example"

                def traced() -> dict[str, list[tuple[str, Any]]]:
                    found: dict[str, list[tuple[str, Any]]] = {}
                    for service, span in receiver.spans():
                        found.setdefault(span.trace_id.hex(), []).append((service, span))
                    return found

                async def chained() -> bool:
                    for spans in traced().values():
                        names = {(service, span.name) for service, span in spans}
                        if ("leadflood-web", "POST /v1/leads") in names and any(
                            service == "leadflood-worker" and name.startswith("job leads.")
                            for service, name in names
                        ):
                            return True
                    return False

                await wait_for(chained, timeout=30, what="a request and its job in one trace")

                async def provider_call() -> bool:
                    for spans in traced().values():
                        job = [s for _, s in spans if s.name == "job webhooks.deliver"]
                        calls = [s for _, s in spans if s.name == "POST" and job]
                        if any(c.parent_span_id == job[0].span_id for c in calls):
                            return True
                    return False

                await wait_for(provider_call, timeout=30, what="the job's HTTP call in its trace")
        finally:
            stop(web)
            stop(worker)

        # An error report reaches the Sentry DSN.
        reported = subprocess.run(
            [sys.executable, "-c", _REPORT],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert reported.returncode == 0, reported.stderr
        envelopes = [body for _, body in receiver.bodies("/api/1/envelope/")]
        assert any(b"ZeroDivisionError" in body for body in envelopes), envelopes
        items = [json.loads(line) for line in envelopes[0].splitlines() if line.startswith(b"{")]
        assert any(item.get("environment") == "test" for item in items)


_REPORT = """
from leadflood import telemetry
from leadflood.settings import load_settings

telemetry.configure(load_settings(), "leadflood-worker")
try:
    1 / 0
except ZeroDivisionError as exc:
    telemetry.report(exc)
telemetry.flush()
"""
