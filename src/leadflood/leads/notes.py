"""Notes on a lead (author, time, text; each author deletes their own) and its owner, a user
of the workspace. Both audited."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit
from leadflood.auth.principal import CurrentMember
from leadflood.db.scope import get_scoped, in_workspace, scoped
from leadflood.errors import Forbidden, InvalidInput, NotFound
from leadflood.models import Lead, LeadNote, Membership, Role, User


class NoteNotFound(NotFound):
    code = "note_not_found"
    message = "No note with this id on this lead."


class NoteNotYours(Forbidden):
    code = "note_not_yours"
    message = "Only its author (or an admin) can delete a note."


class EmptyNote(InvalidInput):
    code = "note_empty"
    message = "Write something in the note."


class OwnerNotMember(InvalidInput):
    code = "owner_not_member"
    message = "The owner must be a member of this workspace."


async def _lead(session: AsyncSession, workspace_id: uuid.UUID, lead_id: uuid.UUID) -> Lead:
    from leadflood.leads.service import LeadNotFound

    return await get_scoped(session, Lead, workspace_id, lead_id, error=LeadNotFound)


async def of_lead(
    session: AsyncSession, workspace_id: uuid.UUID, lead_id: uuid.UUID
) -> list[LeadNote]:
    """The lead's notes, newest first."""
    await _lead(session, workspace_id, lead_id)
    query = (
        scoped(LeadNote, workspace_id)
        .where(LeadNote.lead_id == lead_id)
        .order_by(LeadNote.created_at.desc(), LeadNote.id.desc())
        .limit(500)
    )
    return list((await session.scalars(query)).all())


async def add(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    lead_id: uuid.UUID,
    body: str,
    *,
    by: CurrentMember,
) -> LeadNote:
    await _lead(session, workspace_id, lead_id)
    if not body.strip():
        raise EmptyNote(details={"field": "body"})
    note = LeadNote(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        lead_id=lead_id,
        author_id=by.user.id if by.user else None,
        author=by.label[:320],
        body=body.strip(),
    )
    session.add(note)
    await session.flush()
    await session.refresh(note)
    # The text stays out of the audit log: it may hold personal data an erasure must remove.
    await audit.record(
        session, "lead.note_added", actor=by, workspace_id=workspace_id, target_type="lead",
        target_id=lead_id, details={"note_id": str(note.id)},
    )  # fmt: skip
    return note


async def delete(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    lead_id: uuid.UUID,
    note_id: uuid.UUID,
    *,
    by: CurrentMember,
) -> None:
    note = await get_scoped(session, LeadNote, workspace_id, note_id, error=NoteNotFound)
    if note.lead_id != lead_id:
        raise NoteNotFound()
    own = by.user is not None and note.author_id == by.user.id
    if not own and not by.role.at_least(Role.admin):
        raise NoteNotYours()
    await session.delete(note)
    await session.flush()
    await audit.record(
        session, "lead.note_deleted", actor=by, workspace_id=workspace_id, target_type="lead",
        target_id=lead_id, details={"note_id": str(note_id)},
    )  # fmt: skip


async def members(session: AsyncSession, workspace_id: uuid.UUID) -> list[User]:
    """The users who may own a lead: the workspace's members, by email."""
    query = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(in_workspace(Membership, workspace_id))
        .order_by(func.lower(User.email))
    )
    return list((await session.scalars(query)).all())


async def check_owner(session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
    query = select(Membership.id).where(
        in_workspace(Membership, workspace_id), Membership.user_id == user_id
    )
    if await session.scalar(query) is None:
        raise OwnerNotMember(details={"field": "owner_id"})


async def member_by_email(session: AsyncSession, workspace_id: uuid.UUID, email: str) -> User:
    query = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(in_workspace(Membership, workspace_id), func.lower(User.email) == email.lower())
    )
    found = await session.scalar(query)
    if found is None:
        raise OwnerNotMember(f"No member of this workspace has the email {email!r}.")
    return found
