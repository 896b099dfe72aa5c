"""The import wizard: upload → mapping preview → start → live progress → summary."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from leadflood.auth import service as accounts
from leadflood.auth.schemas import WorkspaceUpdate
from leadflood.errors import AppError
from leadflood.icps import service as icps
from leadflood.imports import service as importing
from leadflood.imports.mapping import CUSTOM_PREFIX, LEAD_FIELDS, custom_name
from leadflood.imports.schemas import MappingUpdate
from leadflood.leads import lists
from leadflood.leads.countries import COUNTRY_NAMES
from leadflood.models import LeadImport, OnDuplicate, Role
from leadflood.web.deps import AdminDep, MemberDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)

IGNORE = "__ignore__"
FIELD_LABELS = {name: name.replace("_", " ").capitalize() for name in LEAD_FIELDS} | {
    "linkedin_url": "LinkedIn URL",
    "company_domain": "Company domain",
    "employee_count": "Employee count",
    "provider_person_id": "Person id (Apollo, Sales Navigator…)",
}
# (code, name) of every country with a name, by name: the default country's choices.
COUNTRIES = sorted(
    ((code, entry.split("|")[0]) for code, entry in COUNTRY_NAMES.items() if entry),
    key=lambda item: item[1],
)


@router.get("/imports", response_class=HTMLResponse)
async def imports_page(request: Request, session: SessionDep, member: ViewerDep) -> Response:
    cursor = request.query_params.get("cursor") or None
    page = await importing.list_page(session, member.workspace_id, limit=25, cursor=cursor)
    return render(
        request,
        "imports/index.html",
        {"active": "leads", "imports": page.items, "page": page, "cursor": cursor},
    )


@router.get("/imports/new", response_class=HTMLResponse)
async def new_import(
    request: Request, session: SessionDep, member: MemberDep, runtime: RuntimeDep
) -> Response:
    return await _upload_page(request, session, member.workspace_id, runtime)


async def _upload_page(
    request: Request, session: AsyncSession, workspace_id: uuid.UUID, runtime: Any, *,
    error: str | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    limit_mb = runtime.settings.import_max_bytes // (1024 * 1024)
    return render(
        request,
        "imports/new.html",
        {
            "active": "leads", "error": error, "limit_mb": limit_mb,
            "lists": [x for x, _ in await lists.all_with_counts(session, workspace_id)],
            "chosen_list": request.query_params.get("list_id", ""),
            "icps": (await icps.list_page(session, workspace_id, limit=100)).items,
        },
        status=status,
    )  # fmt: skip


@router.post("/imports", response_class=HTMLResponse)
async def upload(
    request: Request, session: SessionDep, member: MemberDep, runtime: RuntimeDep
) -> Response:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _upload_page(
            request,
            session,
            member.workspace_id,
            runtime,
            error="Choose a CSV file to upload.",
            status=422,
        )
    choice = str(form.get("on_duplicate") or "skip")
    try:
        list_value = str(form.get("list_id") or "").strip()
        list_id = uuid.UUID(list_value) if list_value else None
        icp_value = str(form.get("icp_id") or "").strip()
        icp_id = uuid.UUID(icp_value) if icp_value else None
    except ValueError:
        return await _upload_page(
            request, session, member.workspace_id, runtime, error="Choose a list and an ICP.",
            status=422,
        )  # fmt: skip
    try:
        imp = await importing.create_upload(
            session,
            runtime.settings,
            member.workspace_id,
            source=upload.file,
            file_name=upload.filename,
            on_duplicate=OnDuplicate(choice)
            if choice in OnDuplicate.__members__
            else OnDuplicate.skip,
            created_by=member.user.id if member.user else None,
            list_id=list_id,
            icp_id=icp_id,
        )
    except AppError as exc:
        return await _upload_page(
            request, session, member.workspace_id, runtime, error=exc.message, status=exc.status
        )
    return RedirectResponse(f"/imports/{imp.id}", status_code=303)


@router.get("/imports/{import_id}", response_class=HTMLResponse)
async def import_page(
    import_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    member: ViewerDep,
    runtime: RuntimeDep,
) -> Response:
    imp = await importing.get(session, member.workspace_id, import_id)
    if imp.state in importing.EDITABLE:
        return await _mapping_page(
            request, session, runtime, imp, admin=member.role.at_least(Role.admin)
        )
    return render(
        request,
        "imports/show.html",
        {"active": "leads", "imp": imp, "progress": importing.progress(imp)},
    )


async def _mapping_page(
    request: Request,
    session: AsyncSession,
    runtime: Any,
    imp: LeadImport,
    *,
    admin: bool = False,
    error: str | None = None,
    chosen: dict[str, str | None] | None = None,
    status: int = 200,
) -> HTMLResponse:
    preview = await importing.load_preview(session, runtime.settings, imp)
    mapping = chosen if chosen is not None else preview.mapping
    columns = []
    for index, header in enumerate(preview.headers):
        custom = CUSTOM_PREFIX + custom_name(header)
        target = mapping.get(header)
        options = [(IGNORE, "Don't import")]
        options += [(name, FIELD_LABELS[name]) for name in LEAD_FIELDS]
        custom_targets = (
            {custom, target} if target and target.startswith(CUSTOM_PREFIX) else {custom}
        )
        options += [
            (t, f"Custom field “{t.removeprefix(CUSTOM_PREFIX)}”") for t in sorted(custom_targets)
        ]
        columns.append(
            {
                "index": index,
                "header": header,
                "selected": target or IGNORE,
                "automatic": preview.automatic.get(header) or IGNORE,
                "options": options,
                "examples": [row.values.get(header, "") for row in preview.sample[:3]],
            }
        )
    return render(
        request,
        "imports/mapping.html",
        {
            "active": "leads",
            "imp": imp,
            "preview": preview,
            "columns": columns,
            "error": error,
            "labels": FIELD_LABELS,
            "ok_rows": sum(1 for row in preview.sample if row.ok),
            "warned_rows": sum(1 for row in preview.sample if row.ok and row.reasons),
            "countries": COUNTRIES,
            "admin": admin,
        },
        status=status,
    )


@router.post("/imports/{import_id}/mapping", response_class=HTMLResponse)
async def save_mapping(
    import_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    member: MemberDep,
    runtime: RuntimeDep,
) -> Response:
    imp = await importing.get(session, member.workspace_id, import_id)
    if imp.state not in importing.EDITABLE:
        return RedirectResponse(f"/imports/{imp.id}", status_code=303)
    form = await request.form()
    preview = await importing.load_preview(session, runtime.settings, imp)
    chosen: dict[str, str | None] = {}
    for index, header in enumerate(preview.headers):
        value = str(form.get(f"col-{index}") or IGNORE)
        chosen[header] = None if value == IGNORE else value
    overrides = {h: t for h, t in chosen.items() if t != preview.automatic.get(h)}
    choice = str(form.get("on_duplicate") or imp.on_duplicate.value)
    data = MappingUpdate(
        overrides=overrides,
        on_duplicate=OnDuplicate(choice) if choice in OnDuplicate.__members__ else None,
    )
    try:
        imp = await importing.set_mapping(
            session, runtime.settings, member.workspace_id, import_id, data
        )
        if form.get("action") == "start":
            await importing.start(session, member.workspace_id, import_id)
            return RedirectResponse(f"/imports/{imp.id}", status_code=303)
    except AppError as exc:
        return await _mapping_page(
            request,
            session,
            runtime,
            imp,
            admin=member.role.at_least(Role.admin),
            error=exc.message,
            chosen=chosen,
            status=exc.status,
        )
    return RedirectResponse(f"/imports/{imp.id}#mapping", status_code=303)


@router.post("/imports/{import_id}/default-country", response_class=HTMLResponse)
async def save_default_country(
    import_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    member: AdminDep,
    runtime: RuntimeDep,
) -> Response:
    """Sets the workspace's default country from the mapping page, whose sample then reads
    national phone numbers with it."""
    imp = await importing.get(session, member.workspace_id, import_id)
    form = await request.form()
    try:
        data = WorkspaceUpdate(default_country=str(form.get("default_country") or "") or None)
    except ValidationError:
        return await _mapping_page(
            request,
            session,
            runtime,
            imp,
            admin=True,
            error="Choose a country from the list.",
            status=422,
        )
    await accounts.set_default_country(session, member, data.default_country)
    return RedirectResponse(f"/imports/{imp.id}#default-country", status_code=303)


def routers() -> list[APIRouter]:
    """This feature's pages, in the order they are matched."""
    return [router]
