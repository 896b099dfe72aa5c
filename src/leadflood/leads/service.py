from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import events, jobs
from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import get_scoped, scoped
from leadflood.errors import Conflict, InvalidInput, NotFound
from leadflood.leads import forgotten, notes, scoring
from leadflood.leads.fields import PERSONAL
from leadflood.leads.schemas import LeadCreate, LeadUpdate
from leadflood.models import Lead, LeadStatus, VerificationStatus

ENRICH_TASK = "leads.enrich"


class LeadNotFound(NotFound):
    code = "lead_not_found"
    message = "No lead with this id in this workspace."


class LeadExists(Conflict):
    code = "lead_exists"
    message = "A lead with this email already exists in this workspace."


class LeadNeedsIdentity(InvalidInput):
    code = "lead_needs_identity"
    message = (
        "A lead needs an email, a LinkedIn profile URL or a provider's person id: keep the "
        "email, or give a LinkedIn URL before clearing it."
    )


async def create(
    session: AsyncSession, workspace_id: uuid.UUID, data: LeadCreate
) -> tuple[Lead, int]:
    """Store a new lead and defer its enrichment in the same transaction."""
    await forgotten.ensure_not_erased(
        session,
        workspace_id,
        email=data.email,
        phone=data.phone,
        linkedin_url=str(data.linkedin_url) if data.linkedin_url else None,
    )
    taken = await session.scalar(
        scoped(Lead, workspace_id)
        .where(func.lower(Lead.email) == data.email.lower())
        .with_only_columns(Lead.id)
    )
    if taken is not None:
        raise LeadExists(details={"lead_id": str(taken)})
    values = data.model_dump(mode="json")
    lead = Lead(workspace_id=workspace_id, status=LeadStatus.new, source="manual", **values)
    session.add(lead)
    await session.flush()
    await scoring.rescore_leads(session, workspace_id, [lead.id])
    await session.refresh(lead)  # the score was written by the database
    await events.emit(session, workspace_id, events.LEAD_CREATED, events.lead_data(lead))
    job_id = await jobs.defer(
        session,
        ENRICH_TASK,
        workspace_id=workspace_id,
        subject_type="lead",
        subject_id=lead.id,
        lead_id=str(lead.id),
    )
    return lead, job_id


async def get(session: AsyncSession, workspace_id: uuid.UUID, lead_id: uuid.UUID) -> Lead:
    return await get_scoped(session, Lead, workspace_id, lead_id, error=LeadNotFound)


class LeadRefAmbiguous(InvalidInput):
    code = "lead_ref_ambiguous"
    message = "Several leads start with this id: give more of it, or the whole id."


SHORT_ID = 8  # the shortest id prefix a reference may be


async def find(session: AsyncSession, workspace_id: uuid.UUID, ref: str) -> Lead:
    """The lead a person names: its id, the first characters of it (at least SHORT_ID), or
    its email (any case)."""
    text = ref.strip()
    try:
        return await get(session, workspace_id, uuid.UUID(text))
    except ValueError:
        pass
    query = scoped(Lead, workspace_id)
    if "@" in text:
        query = query.where(func.lower(Lead.email) == text.lower())
    elif len(text) >= SHORT_ID and all(c in "0123456789abcdef-" for c in text.lower()):
        query = query.where(func.cast(Lead.id, String).startswith(text.lower()))
    else:
        raise LeadNotFound(
            f"No lead {text!r}: give its id (or its first {SHORT_ID} characters) or its email."
        )
    found = list((await session.scalars(query.limit(2))).all())
    if len(found) > 1:
        raise LeadRefAmbiguous()
    if not found:
        raise LeadNotFound(f"No lead {text!r} in this workspace.")
    return found[0]


async def statuses(
    session: AsyncSession, workspace_id: uuid.UUID, lead_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Lead]:
    rows = await session.scalars(scoped(Lead, workspace_id).where(Lead.id.in_(lead_ids)))
    return {lead.id: lead for lead in rows}


async def mark_failed(session: AsyncSession, lead_id: uuid.UUID, error: str) -> None:
    lead = await session.get(Lead, lead_id, with_for_update=True)
    if lead is not None and lead.status != LeadStatus.enriched:
        lead.status = LeadStatus.failed
        lead.error = error


async def update(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    lead_id: uuid.UUID,
    data: LeadUpdate,
    *,
    by: CurrentMember | None = None,
) -> Lead:
    """Change the given fields with the checks of creation: an email or LinkedIn profile another
    lead has is refused (409 `lead_exists`), an erased person's identity too (409 `erased`). A
    new email is unverified again; the score is recomputed when what it reads changed. Audited
    with each field's old and new value, but for personal data (`fields.PERSONAL`), recorded as
    changed without its values so that an erasure leaves nothing behind in the audit log."""
    lead = await get_scoped(
        session, Lead, workspace_id, lead_id, error=LeadNotFound, for_update=True
    )
    wanted = data.changes()
    if wanted.get("owner_id") is not None:
        wanted["owner_id"] = uuid.UUID(wanted["owner_id"])
        if wanted["owner_id"] != lead.owner_id:
            await notes.check_owner(session, workspace_id, wanted["owner_id"])
    changed: dict[str, tuple[Any, Any]] = {}
    for name, value in wanted.items():
        if name == "owner_id":
            if value != lead.owner_id:
                changed[name] = (lead.owner_id, value)
        elif name == "custom_fields":
            merged = dict(lead.custom_fields or {})
            for key, item in (value or {}).items():
                if item is None:
                    merged.pop(key, None)
                else:
                    merged[key] = item
            if merged != (lead.custom_fields or {}):
                changed[name] = (lead.custom_fields or {}, merged)
        elif getattr(lead, name) != value:
            changed[name] = (getattr(lead, name), value)
    if not changed:
        return lead
    after = {name: new for name, (_, new) in changed.items()}
    await _check_identities(session, lead, after)
    for name, new in after.items():
        setattr(lead, name, new)
    if "email" in changed and (changed["email"][0] or "").lower() != (lead.email or "").lower():
        lead.verification_status = VerificationStatus.unverified
        lead.verification_evidence = {}
        lead.verified_at = None
        changed["verification_status"] = (None, VerificationStatus.unverified.value)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # another lead took the email in the meantime
        raise LeadExists(details={"field": "email"}) from None
    if set(changed) & set(scoring.LEAD_FIELDS):
        await scoring.rescore_leads(session, workspace_id, [lead.id])
    await session.refresh(lead)  # the score and updated_at were written by the database
    await audit.record(
        session,
        "lead.updated",
        actor=by,
        workspace_id=workspace_id,
        target_type="lead",
        target_id=lead.id,
        details={"changes": audit_changes(changed)},
    )
    await events.emit(
        session, workspace_id, events.LEAD_UPDATED,
        {**events.lead_data(lead), "changed": sorted(changed)},
    )  # fmt: skip
    return lead


def audit_changes(changed: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    """Old and new values, but for personal data: only that it changed."""
    shown: dict[str, Any] = {}
    for name, (old, new) in changed.items():
        if name == "custom_fields":
            keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            shown[name] = {"changed_keys": keys}
        elif name in PERSONAL:
            shown[name] = {
                "changed": True,
                "was_empty": old in (None, ""),
                "now_empty": new is None,
            }
        elif name == "owner_id":
            shown[name] = {
                "old": None if old is None else str(old),
                "new": None if new is None else str(new),
            }
        else:
            shown[name] = {"old": old, "new": new}
    return shown


async def _check_identities(session: AsyncSession, lead: Lead, after: dict[str, Any]) -> None:
    email = after.get("email", lead.email)
    linkedin = after.get("linkedin_url", lead.linkedin_url)
    if not email and not linkedin and not lead.provider_person_id:
        raise LeadNeedsIdentity(details={"field": "email" if "email" in after else "linkedin_url"})
    others = scoped(Lead, lead.workspace_id).where(Lead.id != lead.id).with_only_columns(Lead.id)
    if after.get("email") and (lead.email or "").lower() != after["email"].lower():
        taken = await session.scalar(others.where(func.lower(Lead.email) == after["email"].lower()))
        if taken is not None:
            raise LeadExists(details={"lead_id": str(taken), "field": "email"})
    if after.get("linkedin_url"):
        taken = await session.scalar(others.where(Lead.linkedin_url == after["linkedin_url"]))
        if taken is not None:
            raise LeadExists(
                "Another lead in this workspace has this LinkedIn profile.",
                details={"lead_id": str(taken), "field": "linkedin_url"},
            )
    await forgotten.ensure_not_erased(
        session,
        lead.workspace_id,
        email=after.get("email"),
        phone=after.get("phone"),
        linkedin_url=after.get("linkedin_url"),
    )
