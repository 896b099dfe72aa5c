from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.datastructures import UploadFile as StarletteUpload

from leadflood.leads.schemas import BulkRequest
from leadflood.models import Role, Suppression, SuppressionKind
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.suppressions import erasure
from leadflood.suppressions import service as suppression
from leadflood.suppressions.schemas import (
    BulkDeleteStarted,
    ErasureRead,
    SuppressionCreate,
    SuppressionImportRead,
    SuppressionRead,
)
from leadflood.web.deps import AdminDep, MemberDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"])
# Deleting and erasing leads, under the leads' own paths.
leads_router = APIRouter(prefix="/v1/leads", tags=["leads"])
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


@leads_router.post(
    "/bulk/delete", status_code=202, response_model=BulkDeleteStarted, dependencies=[Idempotent]
)
async def bulk_delete(
    request: BulkRequest, session: SessionDep, member: MemberDep
) -> BulkDeleteStarted:
    """Delete the leads picked, every lead matching a filter, or a search run's leads, in the
    background (follow it at `GET /v1/leads/bulk/{operation_id}`); their outreach stops first."""
    operation, count = await erasure.start_bulk_delete(
        session, member.workspace_id, request, by=member
    )
    assert operation.job_id is not None
    return BulkDeleteStarted(operation_id=operation.id, job_id=operation.job_id, count=count)


@leads_router.delete("/{lead_id}", status_code=204)
async def delete_lead(lead_id: uuid.UUID, session: SessionDep, member: MemberDep) -> Response:
    """Delete the lead: its enrollments stop and its queued messages are cancelled first; its
    sent messages stay in the history. To remove the person's data everywhere and never
    contact them again, erase instead."""
    await erasure.delete_lead(session, member.workspace_id, lead_id, by=member)
    return Response(status_code=204)


@leads_router.post("/{lead_id}/erase", response_model=ErasureRead, dependencies=[Idempotent])
async def erase_lead(lead_id: uuid.UUID, session: SessionDep, member: AdminDep) -> ErasureRead:
    """Erase the person (a data-subject request): outreach stops, their personal data is
    removed from the lead, its messages, enrichment results and import leftovers, the lead is
    deleted, and their email, phone, LinkedIn profile and provider id stay only as one-way
    digests in the suppression list, so they are never imported or contacted again. Cannot be
    undone. Admins only."""
    report = await erasure.erase_person(session, member.workspace_id, lead_id, member)
    return ErasureRead.model_validate(report)


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router, leads_router]
