from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import StreamingResponse

from leadflood.imports import service as importing
from leadflood.imports.schemas import (
    ImportPreview,
    ImportRead,
    ImportStarted,
    ImportWithPreview,
    MappingUpdate,
)
from leadflood.models import LeadImport, OnDuplicate
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(prefix="/v1/imports", tags=["imports"])


def _with_preview(imp: LeadImport, preview: ImportPreview) -> ImportWithPreview:
    return ImportWithPreview(**importing.to_read(imp).model_dump(), preview=preview)


@router.post("", status_code=201, response_model=ImportWithPreview, dependencies=[Idempotent])
async def upload_import(
    session: SessionDep,
    member: MemberDep,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="A CSV file (comma, semicolon, tab or pipe).")],
    on_duplicate: Annotated[OnDuplicate, Form()] = OnDuplicate.skip,
    list_id: Annotated[
        uuid.UUID | None,
        Form(description="A list the imported leads (created and updated) join."),
    ] = None,
    icp_id: Annotated[
        uuid.UUID | None,
        Form(description="An ICP to score the imported leads against (default: best fit)."),
    ] = None,
) -> ImportWithPreview:
    """Stores the file and answers its automatic mapping with a preview of the first rows."""
    imp = await importing.create_upload(
        session,
        runtime.settings,
        member.workspace_id,
        source=file.file,
        file_name=file.filename,
        on_duplicate=on_duplicate,
        created_by=member.user.id if member.user else None,
        list_id=list_id,
        icp_id=icp_id,
    )
    preview = await importing.load_preview(session, runtime.settings, imp)
    return _with_preview(imp, preview)


@router.get("", response_model=Page[ImportRead])
async def list_imports(
    session: SessionDep,
    member: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[ImportRead]:
    page = await importing.list_page(session, member.workspace_id, limit=limit, cursor=cursor)
    return Page[ImportRead].of(page, importing.to_read)


@router.get("/{import_id}", response_model=ImportRead)
async def get_import(import_id: uuid.UUID, session: SessionDep, member: ViewerDep) -> ImportRead:
    """The import's state and counts: poll it for progress."""
    return importing.to_read(await importing.get(session, member.workspace_id, import_id))


@router.get("/{import_id}/preview", response_model=ImportPreview)
async def preview_import(
    import_id: uuid.UUID, session: SessionDep, member: ViewerDep, runtime: RuntimeDep
) -> ImportPreview:
    imp = await importing.get(session, member.workspace_id, import_id)
    return await importing.load_preview(session, runtime.settings, imp)


@router.put("/{import_id}/mapping", response_model=ImportWithPreview)
async def set_import_mapping(
    import_id: uuid.UUID,
    data: MappingUpdate,
    session: SessionDep,
    member: MemberDep,
    runtime: RuntimeDep,
) -> ImportWithPreview:
    """Replaces the mapping: the automatic one with `overrides` applied (422 when invalid)."""
    imp = await importing.set_mapping(
        session, runtime.settings, member.workspace_id, import_id, data
    )
    preview = await importing.load_preview(session, runtime.settings, imp)
    return _with_preview(imp, preview)


@router.post(
    "/{import_id}/start", status_code=202, response_model=ImportStarted, dependencies=[Idempotent]
)
async def start_import(
    import_id: uuid.UUID, session: SessionDep, member: MemberDep
) -> ImportStarted:
    imp, job_id = await importing.start(session, member.workspace_id, import_id)
    return ImportStarted(import_id=imp.id, job_id=job_id)


@router.get(
    "/{import_id}/rejected.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The rejected rows."}},
)
async def rejected_rows(
    import_id: uuid.UUID, session: SessionDep, member: ViewerDep, runtime: RuntimeDep
) -> StreamingResponse:
    """The rows that did not become leads: row number, line, reason codes, messages, and the
    values as read."""
    imp = await importing.get(session, member.workspace_id, import_id)
    name = f"{imp.file_name.rsplit('.', 1)[0]}-rejected.csv"
    return StreamingResponse(
        importing.rejected_csv(runtime.db, runtime.settings, imp),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.get(
    "/{import_id}/warnings.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The rows kept with warnings."}},
)
async def warning_rows(
    import_id: uuid.UUID, session: SessionDep, member: ViewerDep, runtime: RuntimeDep
) -> StreamingResponse:
    """The rows that became leads (or met one) without some of their values, laid out like the
    rejected rows: row number, line, reason codes, messages, and the values as read."""
    imp = await importing.get(session, member.workspace_id, import_id)
    name = f"{imp.file_name.rsplit('.', 1)[0]}-warnings.csv"
    return StreamingResponse(
        importing.warnings_csv(runtime.db, runtime.settings, imp),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router]
