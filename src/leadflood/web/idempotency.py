"""`Idempotency-Key` on the API's POSTs that create or send (the IETF httpapi draft's semantics,
as Stripe does them): the same key and request within 24 hours replays the first response, with
`Idempotent-Replayed: true`; the same key with another request answers 422; a retry while the
first request still runs answers 409. Keys belong to a workspace and live in PostgreSQL.

How it stays exact without timers: the key's row is inserted (committed at once, so every
process sees it), then locked `FOR UPDATE SKIP LOCKED` in the request's own transaction. The
request holding that lock is the one running; another finds no row to lock and answers 409. The
state moves to `executed` in the same transaction as the work, so "the work committed" and "the
key says so" are one fact. A request that fails before its work commits (a 5xx, a crash, a
killed process) rolls back and releases the lock at once: the key is free again, as the draft and
Stripe allow, and the client's retry runs the request. After the response is sent, the recorder
middleware stores it (`completed`), or deletes the row when the request never ran.

Results are kept, as Stripe keeps them, once the operation began: its success and its own errors
(404, 409, a 422 from the use case). Not kept: a request refused before it ran (invalid body or
parameters, 401, 403, 429) and a 5xx, so they can be retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import Response
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadflood.errors import AppError, Conflict
from leadflood.logging import get_logger
from leadflood.models import IDEMPOTENCY_KEPT, IdempotencyKey, IdempotencyState
from leadflood.web.deps import RuntimeDep, SessionDep, ViewerDep

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT = IDEMPOTENCY_KEPT
# A key whose work committed but whose response was not stored this long after: the process
# died between the two (a window of milliseconds); retrying cannot give the first answer.
RESPONSE_LOST_AFTER = timedelta(seconds=60)
# The draft's sf-string (quotes optional, as Stripe sends it): 1 to 255 visible ASCII characters.
_KEY = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,255}$")
# The response headers a replay repeats; the middleware adds the request id and security headers.
_KEPT_HEADERS = frozenset({"content-type", "location"})
_STATE = "idempotency"
log = get_logger("leadflood.idempotency")

DESCRIPTION = (
    "A key of your choice (a UUID v4 is best; 1 to 255 visible ASCII characters, quoted or not) "
    "that makes this POST safe to retry. The same key with the same request within 24 hours "
    "replays the first response, with the header `Idempotent-Replayed: true`, and does nothing "
    "again. The same key with another request answers 422 `idempotency_key_reused`; a retry while "
    "the first request still runs answers 409 `idempotency_key_in_flight` (retry after "
    "`Retry-After` seconds). A request refused before it ran (invalid body, 401, 403, 429) or "
    "failing with a 5xx is not kept: retry it with the same key. Keys belong to the workspace."
)


class InvalidIdempotencyKey(AppError):
    status = 400
    code = "invalid_idempotency_key"
    message = (
        "The Idempotency-Key header must be 1 to 255 visible ASCII characters (no spaces, "
        "quotes or backslashes inside); send a fresh UUID per operation."
    )


class IdempotencyKeyReused(AppError):
    status = 422
    code = "idempotency_key_reused"
    message = (
        "This Idempotency-Key was already used for a different request (another path or body) "
        "in the last 24 hours. Send the original request unchanged to get its response, or use "
        "a new key for a new operation."
    )


class IdempotencyKeyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    message = (
        "A request with this Idempotency-Key is still being processed; retry in a moment to get "
        "its response."
    )
    retry_after = 1


class IdempotencyResponseLost(Conflict):
    code = "idempotency_response_lost"
    message = (
        "The request with this Idempotency-Key completed, but its response could not be kept "
        "(the server stopped right after). Look the result up with a GET before trying again "
        "with a new key."
    )


@dataclass
class Claim:
    """Set on the request once it holds its key: `store` says the operation ran, so the
    recorder keeps its response instead of freeing the key."""

    row_id: uuid.UUID
    store: bool = False


class Replay(Exception):
    """Raised instead of running the request: answer with the first response."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers
        self.body = body


def parse_key(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not _KEY.match(value):
        raise InvalidIdempotencyKey()
    return value


async def fingerprint(request: Request) -> str:
    """sha256 of the method, the path and query, and the body: JSON in a canonical form (key
    order and spacing do not matter), a multipart form part by part (clients pick a new
    boundary on every try), anything else as sent."""
    digest = hashlib.sha256()
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    digest.update(f"{request.method} {target}\n".encode())
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        for name, value in sorted(form.multi_items(), key=lambda item: item[0]):
            digest.update(f"\n{name}=".encode())
            if isinstance(value, UploadFile):
                digest.update(f"{value.filename}|{value.content_type}|".encode())
                while chunk := await value.read(1 << 20):
                    digest.update(chunk)
                await value.seek(0)
            else:
                digest.update(value.encode())
        return digest.hexdigest()
    body = await request.body()
    try:
        digest.update(json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode())
    except ValueError:
        digest.update(body)
    return digest.hexdigest()


def _ran(exc: BaseException) -> bool:
    """Whether an error came from the operation itself (kept and replayed) rather than from a
    refusal before it ran or a failure of the server (the key is freed)."""
    return isinstance(exc, AppError) and exc.status < 500 and exc.status not in {401, 403, 429}


async def _claim(
    session: AsyncSession,
    runtime: Any,
    workspace_id: uuid.UUID,
    key: str,
    request: Request,
    digest: str,
) -> IdempotencyKey:
    target = (request.url.path + (f"?{request.url.query}" if request.url.query else ""))[:2000]
    async with runtime.db.session() as own:
        await own.execute(
            insert(IdempotencyKey)
            .values(
                id=uuid.uuid4(),
                workspace_id=workspace_id,
                key=key,
                method=request.method,
                path=target,
                fingerprint=digest,
                state=IdempotencyState.in_flight,
            )
            .on_conflict_do_nothing(index_elements=["workspace_id", "key"])
        )
    row = await session.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.key == key)
        .with_for_update(skip_locked=True)
    )
    if row is None:
        raise IdempotencyKeyInFlight()
    now = datetime.now(UTC)
    if row.created_at < now - KEPT:
        # Older than a day and not cleaned up yet: the key starts a new life.
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == row.id)
            .values(
                method=request.method,
                path=target,
                fingerprint=digest,
                state=IdempotencyState.in_flight,
                executed_at=None,
                response_status=None,
                response_headers=None,
                response_body=None,
                created_at=now,
            )
        )
        return row
    if row.fingerprint != digest:
        raise IdempotencyKeyReused(details={"first_request": f"{row.method} {row.path}"})
    if row.state == IdempotencyState.completed:
        assert row.response_status is not None
        raise Replay(
            row.response_status, dict(row.response_headers or {}), row.response_body or b""
        )
    if row.state == IdempotencyState.executed:
        if row.executed_at is not None and now - row.executed_at > RESPONSE_LOST_AFTER:
            raise IdempotencyResponseLost()
        raise IdempotencyKeyInFlight()
    # In flight but not locked: the first try rolled back or died before its work committed.
    return row


async def idempotency_key(
    request: Request,
    member: ViewerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    key: Annotated[str | None, Header(alias=HEADER, description=DESCRIPTION)] = None,
) -> AsyncIterator[None]:
    if key is None:
        yield
        return
    value = parse_key(key)
    row = await _claim(
        session, runtime, member.workspace_id, value, request, await fingerprint(request)
    )
    claim = Claim(row.id)
    request.state.idempotency = claim
    try:
        yield
    except BaseException as exc:
        claim.store = _ran(exc)
        raise
    # In the request's transaction: the key says "executed" exactly when the work committed.
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == row.id)
        .values(state=IdempotencyState.executed, executed_at=datetime.now(UTC))
    )
    claim.store = True


# `dependencies=[Idempotent]` on a POST route that creates or sends. Function-scoped, so it
# finishes inside the request's transaction, before the commit.
Idempotent = Depends(idempotency_key, scope="function")


class IdempotencyRecorder:
    """Stores the response of a request that held an Idempotency-Key once it is sent, or frees
    the key when the request never ran. Sits outside the catch-all error handler, so it sees the
    500 that handler makes of a crash."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        status = 0
        headers: dict[str, str] = {}
        chunks: list[bytes] = []
        complete = False

        async def capture(message: Message) -> None:
            nonlocal status, complete
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    decoded = name.decode("latin-1").lower()
                    if decoded in _KEPT_HEADERS:
                        headers[decoded] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            claim = scope.get("state", {}).get(_STATE)
            if isinstance(claim, Claim):
                await _settle(scope, claim, status if complete else 0, headers, b"".join(chunks))


async def _settle(
    scope: Scope, claim: Claim, status: int, headers: dict[str, str], body: bytes
) -> None:
    runtime = scope["app"].state.runtime
    try:
        async with runtime.db.session() as session:
            if claim.store and status:
                await session.execute(
                    update(IdempotencyKey)
                    .where(IdempotencyKey.id == claim.row_id)
                    .values(
                        state=IdempotencyState.completed,
                        response_status=status,
                        response_headers=headers,
                        response_body=body,
                    )
                )
            else:
                # Never ran, or failed before its work committed: the key is free again.
                await session.execute(
                    delete(IdempotencyKey).where(
                        IdempotencyKey.id == claim.row_id,
                        IdempotencyKey.state == IdempotencyState.in_flight,
                    )
                )
    except Exception as exc:  # the response is already sent; the key stays as it was
        log.warning("idempotency.settle_failed", error=str(exc), row_id=str(claim.row_id))


def _parameter_ref(app: FastAPI) -> Any:
    """The OpenAPI document with the header as one reusable parameter
    (`#/components/parameters/IdempotencyKey`) that every idempotent operation refers to."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema: dict[str, Any] = build()
        used = False
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict):
                    continue
                params: list[dict[str, Any]] = operation.get("parameters") or []
                for index, param in enumerate(params):
                    if param.get("in") == "header" and param.get("name") == HEADER:
                        params[index] = {"$ref": "#/components/parameters/IdempotencyKey"}
                        used = True
        if used:
            schema.setdefault("components", {}).setdefault("parameters", {})["IdempotencyKey"] = {
                "name": HEADER,
                "in": "header",
                "required": False,
                "description": DESCRIPTION,
                "schema": {"type": "string", "minLength": 1, "maxLength": 257},
                "example": "4b6f1c1e-1f9b-4d8e-9a47-2f1d0f6c2b11",
            }
        app.openapi_schema = schema
        return schema

    return openapi


def install(app: FastAPI) -> None:
    """The replay handler and the OpenAPI parameter; `IdempotencyRecorder` is added with the
    other middleware."""

    @app.exception_handler(Replay)
    async def replay(request: Request, exc: Replay) -> Response:
        return Response(
            content=exc.body, status_code=exc.status, headers={**exc.headers, REPLAYED: "true"}
        )

    app.openapi = _parameter_ref(app)  # type: ignore[method-assign]
