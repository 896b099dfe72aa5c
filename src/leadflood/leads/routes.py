from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse

from leadflood.leads import bulk, export, lists, notes, organize, outreach, queries, timeline
from leadflood.leads import service as leads
from leadflood.leads.schemas import (
    BulkRead,
    Changed,
    LeadCreate,
    LeadCreated,
    LeadDetail,
    LeadFilter,
    LeadRead,
    LeadSort,
    LeadUpdate,
    ListCreate,
    ListRead,
    ListUpdate,
    ListWithCount,
    NoteCreate,
    NoteRead,
    OutreachMessage,
    Queued,
    Selection,
    TagRequest,
)
from leadflood.models import BulkAction, LeadList, LeadStatus, VerificationStatus
from leadflood.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep, WorkspaceDep
from leadflood.web.idempotency import Idempotent

router = APIRouter(prefix="/v1/leads", tags=["leads"])


@router.post("", status_code=201, response_model=LeadCreated, dependencies=[Idempotent])
async def create_lead(data: LeadCreate, session: SessionDep, member: MemberDep) -> LeadCreated:
    lead, job_id = await leads.create(session, member.workspace_id, data)
    return LeadCreated(lead_id=lead.id, job_id=job_id)


def lead_filter(
    status: LeadStatus | None = None,
    verification: VerificationStatus | None = None,
    score_min: Annotated[int | None, Query(ge=0, le=100)] = None,
    score_max: Annotated[int | None, Query(ge=0, le=100)] = None,
    icp_id: uuid.UUID | None = None,
    company_domain: Annotated[str | None, Query(max_length=253)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    list_id: uuid.UUID | None = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    owner_id: uuid.UUID | None = None,
    has_notes: bool | None = None,
) -> LeadFilter:
    """The list's filters as query parameters (the list and the export read the same ones)."""
    return LeadFilter(
        status=status,
        verification=verification,
        score_min=score_min,
        score_max=score_max,
        icp_id=icp_id,
        company_domain=company_domain,
        q=q,
        list_id=list_id,
        tag=(tag or "").strip() or None,  # a blank tag filters nothing, as a blank q
        owner_id=owner_id,
        has_notes=has_notes,
    )


FilterDep = Annotated[LeadFilter, Depends(lead_filter)]


@router.get("", response_model=Page[LeadRead])
async def list_leads(
    session: SessionDep,
    workspace: WorkspaceDep,
    where: FilterDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    sort: LeadSort = "newest",
) -> Page[LeadRead]:
    """Newest first unless `sort` says otherwise (`score` sorts unscored leads last); every
    filter narrows the list and the cursor keeps them."""
    page = await queries.list_page(
        session, workspace.id, where, sort=sort, limit=limit, cursor=cursor
    )
    return Page[LeadRead].of(page, LeadRead.model_validate)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The leads as CSV."}},
)
async def export_leads(
    session: SessionDep,
    runtime: RuntimeDep,
    member: MemberDep,
    where: FilterDep,
    lead_ids: Annotated[
        list[uuid.UUID] | None, Query(max_length=export.MAX_PICKED, alias="lead_id")
    ] = None,
) -> StreamingResponse:
    """The leads matching the list's filters (or the ones picked: `lead_id`, repeated) as CSV,
    oldest first: every standard column, then each custom field key of the workspace as
    `custom:<key>`. Streamed as it is read (a million rows in constant memory); `X-Total-Count`
    says how many rows follow the header. The file imports back as the same leads."""
    selection = export.Selection(where=where, lead_ids=lead_ids or [])
    return await export.download(session, runtime.db, member, selection)


def _answer(done: organize.Organized, response: Response) -> Changed | Queued:
    if done.operation is not None:
        response.status_code = 202
        return Queued(operation=BulkRead.model_validate(done.operation))
    assert done.changed is not None
    return Changed(changed=done.changed)


@router.post("/bulk/tag", response_model=Changed | Queued, dependencies=[Idempotent])
async def tag_leads(
    request: TagRequest, response: Response, session: SessionDep, member: MemberDep
) -> Changed | Queued:
    """Add tags to the leads picked (`lead_ids`) or to every lead matching `filter`; tags are
    lower-cased with spaces collapsed. A filter matching more than 10,000 leads answers 202 with
    the bulk operation doing it. Audited."""
    selection = Selection(lead_ids=request.lead_ids, filter=request.filter)
    done = await organize.organize(
        session, member.workspace_id, BulkAction.tag, selection, tags=request.tags, by=member
    )
    return _answer(done, response)


@router.post("/bulk/untag", response_model=Changed | Queued, dependencies=[Idempotent])
async def untag_leads(
    request: TagRequest, response: Response, session: SessionDep, member: MemberDep
) -> Changed | Queued:
    """Remove tags from the leads picked or matching `filter` (202 with the bulk operation over
    10,000 leads). Audited."""
    selection = Selection(lead_ids=request.lead_ids, filter=request.filter)
    done = await organize.organize(
        session, member.workspace_id, BulkAction.untag, selection, tags=request.tags, by=member
    )
    return _answer(done, response)


@router.get("/bulk/{operation_id}", response_model=BulkRead)
async def get_bulk(
    operation_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep
) -> BulkRead:
    return BulkRead.model_validate(await bulk.get(session, workspace.id, operation_id))


@router.get("/{lead_id}", response_model=LeadRead)
async def get_lead(lead_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep) -> LeadRead:
    return LeadRead.model_validate(await leads.get(session, workspace.id, lead_id))


@router.patch("/{lead_id}", response_model=LeadRead)
async def update_lead(
    lead_id: uuid.UUID, data: LeadUpdate, session: SessionDep, member: MemberDep
) -> LeadRead:
    """Change any field with the checks of creation (null clears a field; `custom_fields` is
    merged key by key, null removing a key). 409 `lead_exists` when another lead has the email
    or LinkedIn profile, 409 `erased` for an erased person's identity. A new email is unverified
    again; the score is recomputed. Audited."""
    lead = await leads.update(session, member.workspace_id, lead_id, data, by=member)
    return LeadRead.model_validate(lead)


@router.get("/{lead_id}/detail", response_model=LeadDetail)
async def lead_detail(
    lead_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep
) -> LeadDetail:
    """Every field with the provider that set it, the verification evidence, the score
    breakdown and the timeline (created, enriched, verified, scored, failed jobs)."""
    return await timeline.detail(session, await leads.get(session, workspace.id, lead_id))


@router.get("/{lead_id}/notes", response_model=list[NoteRead])
async def list_notes(
    lead_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep
) -> list[NoteRead]:
    """The lead's notes, newest first."""
    found = await notes.of_lead(session, workspace.id, lead_id)
    return [NoteRead.model_validate(note) for note in found]


@router.post(
    "/{lead_id}/notes", status_code=201, response_model=NoteRead, dependencies=[Idempotent]
)
async def add_note(
    lead_id: uuid.UUID, data: NoteCreate, session: SessionDep, member: MemberDep
) -> NoteRead:
    """A note by the caller on the lead. Audited (without its text)."""
    note = await notes.add(session, member.workspace_id, lead_id, data.text, by=member)
    return NoteRead.model_validate(note)


@router.delete("/{lead_id}/notes/{note_id}", status_code=204)
async def delete_note(
    lead_id: uuid.UUID, note_id: uuid.UUID, session: SessionDep, member: MemberDep
) -> Response:
    """Its author (or an admin) deletes a note: 403 `note_not_yours` for anyone else."""
    await notes.delete(session, member.workspace_id, lead_id, note_id, by=member)
    return Response(status_code=204)


@router.get("/{lead_id}/messages", response_model=list[OutreachMessage])
async def lead_messages(
    lead_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep
) -> list[OutreachMessage]:
    """Every message to or from the lead (sent, queued, failed, unconfirmed; replies), newest
    first, with its sequence and step and its inbox thread."""
    await leads.get(session, workspace.id, lead_id)
    return await outreach.messages_of(session, workspace.id, lead_id)


lists_router = APIRouter(prefix="/v1/lists", tags=["lists"])


async def _with_count(session: SessionDep, found: LeadList) -> ListWithCount:
    members = await lists.count_members(session, found.id)
    return ListWithCount.model_validate(
        {**ListRead.model_validate(found).model_dump(), "members": members}
    )


@lists_router.get("", response_model=list[ListWithCount])
async def all_lists(session: SessionDep, workspace: WorkspaceDep) -> list[ListWithCount]:
    """The workspace's lists by name, with how many leads each holds."""
    return [
        ListWithCount.model_validate({**ListRead.model_validate(found).model_dump(), "members": n})
        for found, n in await lists.all_with_counts(session, workspace.id)
    ]


@lists_router.post("", status_code=201, response_model=ListRead, dependencies=[Idempotent])
async def create_list(data: ListCreate, session: SessionDep, member: MemberDep) -> ListRead:
    """A new, empty list; 409 `list_exists` when the name (case-insensitive) is taken."""
    return ListRead.model_validate(
        await lists.create(session, member.workspace_id, data, by=member)
    )


@lists_router.get("/{list_id}", response_model=ListWithCount)
async def get_list(
    list_id: uuid.UUID, session: SessionDep, workspace: WorkspaceDep
) -> ListWithCount:
    return await _with_count(session, await lists.get(session, workspace.id, list_id))


@lists_router.patch("/{list_id}", response_model=ListRead)
async def update_list(
    list_id: uuid.UUID, data: ListUpdate, session: SessionDep, member: MemberDep
) -> ListRead:
    return ListRead.model_validate(
        await lists.change(session, member.workspace_id, list_id, data, by=member)
    )


@lists_router.delete("/{list_id}", status_code=204)
async def delete_list(list_id: uuid.UUID, session: SessionDep, member: MemberDep) -> Response:
    """Delete the list; its leads stay. Audited."""
    await lists.remove_list(session, member.workspace_id, list_id, by=member)
    return Response(status_code=204)


@lists_router.get("/{list_id}/leads", response_model=Page[LeadRead])
async def list_members(
    list_id: uuid.UUID,
    session: SessionDep,
    workspace: WorkspaceDep,
    where: FilterDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    sort: LeadSort = "newest",
) -> Page[LeadRead]:
    """The list's leads in keyset pages (the leads list with `list_id`; its filters narrow)."""
    await lists.get(session, workspace.id, list_id)
    members = where.model_copy(update={"list_id": list_id})
    page = await queries.list_page(
        session, workspace.id, members, sort=sort, limit=limit, cursor=cursor
    )
    return Page[LeadRead].of(page, LeadRead.model_validate)


@lists_router.post("/{list_id}/leads", response_model=Changed | Queued, dependencies=[Idempotent])
async def add_to_list(
    list_id: uuid.UUID,
    selection: Selection,
    response: Response,
    session: SessionDep,
    member: MemberDep,
) -> Changed | Queued:
    """Add the leads picked (`lead_ids`) or every lead matching `filter`; `changed` is how many
    joined (members already in it are left). A filter matching more than 10,000 leads answers
    202 with the bulk operation doing it. Audited."""
    done = await organize.organize(
        session, member.workspace_id, BulkAction.list_add, selection, list_id=list_id, by=member
    )
    return _answer(done, response)


@lists_router.delete("/{list_id}/leads", response_model=Changed | Queued)
async def remove_from_list(
    list_id: uuid.UUID,
    selection: Selection,
    response: Response,
    session: SessionDep,
    member: MemberDep,
) -> Changed | Queued:
    """Take the leads picked or matching `filter` out of the list (the leads stay); 202 with
    the bulk operation over 10,000 leads. Audited."""
    done = await organize.organize(
        session, member.workspace_id, BulkAction.list_remove, selection, list_id=list_id,
        by=member,
    )  # fmt: skip
    return _answer(done, response)


def routers() -> list[APIRouter]:
    """This feature's API routers, in the order they are matched."""
    return [router, lists_router]
