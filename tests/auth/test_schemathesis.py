"""Property-based run of the whole API against its own OpenAPI document (in-process, signed
in as a workspace owner): no server error, and no response that breaks its own schema."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from leadflood.runtime import Runtime
from tests.factories import add_worker_heartbeat
from tests.support.accounts import Account
from tests.support.smtp_server import SmtpTestServer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 12


def _as_bytes(value: Any) -> Any:
    return value if isinstance(value, bytes | str) else str(value).encode()


def _files(files: Any) -> Any:
    """Generated multipart parts may hold numbers or None; httpx sends only bytes or text."""
    fixed = []
    for name, part in files or []:
        if isinstance(part, tuple):
            fixed.append((name, (part[0], _as_bytes(part[1]), *part[2:])))
        else:
            fixed.append((name, _as_bytes(part)))
    return fixed


def _cases(operation: Any) -> list[Any]:
    cases: list[Any] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
        database=None,
        derandomize=True,
    )
    @given(operation.as_strategy())
    def collect(case: Any) -> None:
        cases.append(case)

    collect()
    return cases


async def test_the_api_keeps_its_contract(
    app: Any, client: httpx.AsyncClient, owner: Account, runtime: Runtime, smtp: SmtpTestServer
) -> None:
    # An instance with a system mailbox, as in production (without one, asking for a reset
    # link answers 503 `system_mail_not_configured`).
    runtime.settings.system_smtp_url = f"smtp+plain://127.0.0.1:{smtp.port}"
    # And a worker beating throughout the run, or /ready rightly answers 503.
    runtime.settings.worker_stale_seconds = 3600
    async with runtime.db.session() as session:
        await add_worker_heartbeat(session)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for case in _cases(operation):
            kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=owner.headers)
            kwargs.pop("follow_redirects", None)
            if cookies := kwargs.pop("cookies", None):
                kwargs.setdefault("headers", {})["cookie"] = "; ".join(
                    f"{k}={v}" for k, v in cookies.items()
                )
            if "files" in kwargs:
                kwargs["files"] = _files(kwargs["files"])
            if isinstance(kwargs.get("data"), bytes | str):
                kwargs["content"] = kwargs.pop("data")
            response = await client.request(**kwargs)
            if "files" in kwargs:
                # Multipart bodies are streamed; the checks read the request's content.
                await response.request.aread()
            sent += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as exc:
                failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert sent > 100
    assert not failures, "\n\n".join(failures[:10])
