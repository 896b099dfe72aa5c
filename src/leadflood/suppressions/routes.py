from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.datastructures import UploadFile as StarletteUpload

from leadflood.models import Role, Suppression, SuppressionKind
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.suppressions import service as suppression
from leadflood.suppressions.schemas import SuppressionCreate, SuppressionImportRead, SuppressionRead
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"])
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=200)]


def _suppression_read(row: Suppression) -> SuppressionRead:
    return SuppressionRead.model_validate(
        {
            **{k: getattr(row, k) for k in SuppressionRead.model_fields if k != "scope"},
            "scope": "global" if row.workspace_id is None else "workspace",
        }
    )


def _may_global(member: Any, runtime: RuntimeDep) -> bool:
    return bool(runtime.settings.allow_global_suppressions and member.role.at_least(Role.owner))


@router.get("", response_model=Page[SuppressionRead])
async def list_suppressions(
    member: ViewerDep,
    session: SessionDep,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    kind: SuppressionKind | None = None,
    q: Annotated[str | None, Query(max_length=320)] = None,
) -> Page[SuppressionRead]:
    page = await suppression.list_suppressions(
        session, member.workspace_id, limit=limit, cursor=cursor, kind=kind, search=q
    )
    return Page[SuppressionRead].of(page, _suppression_read)


@router.post("", status_code=201, response_model=SuppressionRead, dependencies=[Idempotent])
async def add_suppression(
    data: SuppressionCreate, member: MemberDep, session: SessionDep, runtime: RuntimeDep
) -> SuppressionRead:
    """Idempotent: adding an existing value returns the entry as it was. `scope=global` covers
    every workspace and needs the owner role and ALLOW_GLOBAL_SUPPRESSIONS=true."""
    if data.scope == "global" and not _may_global(member, runtime):
        raise suppression.GlobalSuppressionForbidden()
    row = await suppression.add(
        session,
        None if data.scope == "global" else member.workspace_id,
        data.kind,
        data.value,
        data.reason,
        f"api:{member.label}",
        note=data.note,
        by=member,
    )
    return _suppression_read(row)


@router.delete("/{suppression_id}", status_code=204)
async def delete_suppression(
    suppression_id: uuid.UUID, member: MemberDep, session: SessionDep, runtime: RuntimeDep
) -> Response:
    await suppression.delete_suppression(
        session,
        member.workspace_id,
        suppression_id,
        may_global=_may_global(member, runtime),
        by=member,
    )
    return Response(status_code=204)


@router.post("/import", response_model=SuppressionImportRead, dependencies=[Idempotent])
async def import_suppressions(
    request: Request,
    member: MemberDep,
    session: SessionDep,
    runtime: RuntimeDep,
    scope: Annotated[str, Query(pattern="^(workspace|global)$")] = "workspace",
) -> SuppressionImportRead:
    """A CSV as the body (text/csv) or as the `file` field of a multipart form: a `value`
    column (or the first column) and an optional `kind` column."""
    if scope == "global" and not _may_global(member, runtime):
        raise suppression.GlobalSuppressionForbidden()
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if isinstance(upload, StarletteUpload):
            content = await upload.read()
        else:
            content = str(upload or "").encode()
    else:
        content = await request.body()
    report = await suppression.import_csv(
        session,
        None if scope == "global" else member.workspace_id,
        content,
        source=f"import:{member.label}"[:80],
        by=member,
    )
    return SuppressionImportRead(
        added=report.added, existing=report.existing, rejected=report.rejected
    )


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router]
