"""Users, workspaces and memberships."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from leadflood.auth import audit
from leadflood.auth.errors import (
    AlreadyMember,
    AlreadySetUp,
    EmailTaken,
    LastOwner,
    MemberNotFound,
    RoleTooLow,
)
from leadflood.auth.passwords import hash_password
from leadflood.auth.principal import CurrentMember, Origin
from leadflood.db.scope import get_scoped, in_workspace, scoped
from leadflood.models import Membership, Role, User, Workspace


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def create_user(
    session: AsyncSession, *, email: str, password: str, name: str | None = None
) -> User:
    if await user_by_email(session, email) is not None:
        raise EmailTaken()
    user = User(email=email, name=name, password_hash=hash_password(password))
    session.add(user)
    await session.flush()
    return user


async def has_users(session: AsyncSession) -> bool:
    return await session.scalar(select(User.id).limit(1)) is not None


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:60] or "workspace"


async def create_workspace(session: AsyncSession, *, name: str) -> Workspace:
    slug = slugify(name)
    if await session.scalar(select(Workspace.id).where(Workspace.slug == slug)) is not None:
        slug = f"{slug}-{secrets.token_hex(3)}"
    workspace = Workspace(name=name, slug=slug)
    session.add(workspace)
    await session.flush()
    return workspace


async def find_workspace(session: AsyncSession, name_or_slug: str) -> Workspace | None:
    """The workspace whose slug, or else whose name (case-insensitive), is `name_or_slug`."""
    rows = (
        await session.scalars(
            select(Workspace)
            .where(
                or_(
                    Workspace.slug == name_or_slug,
                    func.lower(Workspace.name) == name_or_slug.lower(),
                )
            )
            .order_by(Workspace.created_at)
        )
    ).all()
    by_slug = [w for w in rows if w.slug == name_or_slug]
    matches = by_slug or list(rows)
    return matches[0] if matches else None


async def add_member(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID, role: Role
) -> Membership:
    existing = await membership_of(session, workspace_id, user_id)
    if existing is not None:
        raise AlreadyMember()
    membership = Membership(workspace_id=workspace_id, user_id=user_id, role=role)
    session.add(membership)
    await session.flush()
    return membership


async def membership_of(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    return await session.scalar(
        scoped(Membership, workspace_id).where(Membership.user_id == user_id)
    )


@dataclass(frozen=True)
class WorkspaceRole:
    workspace: Workspace
    role: Role


async def workspaces_of(session: AsyncSession, user_id: uuid.UUID) -> list[WorkspaceRole]:
    rows = await session.execute(
        select(Workspace, Membership.role)
        .join(Membership, in_workspace(Membership, Workspace.id))
        .where(Membership.user_id == user_id)
        .order_by(Membership.created_at, Workspace.id)
    )
    return [WorkspaceRole(workspace, role) for workspace, role in rows]


async def record_user_event(
    session: AsyncSession,
    action: str,
    user: User | None,
    *,
    label: str | None = None,
    origin: Origin | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """An event about a user's own account, in the audit log of each of their workspaces (the
    log is per workspace; an account with none gets one event outside any)."""
    mine = await workspaces_of(session, user.id) if user else []
    targets: list[uuid.UUID | None] = [w.workspace.id for w in mine]
    for workspace_id in targets or [None]:
        await audit.record(
            session,
            action,
            workspace_id=workspace_id,
            user_id=user.id if user else None,
            label=label or (user.email if user else None),
            origin=origin,
            target_type="user" if user else None,
            target_id=user.id if user else None,
            details=details,
        )


async def create_owned_workspace(
    session: AsyncSession, user: User, name: str, *, origin: Origin | None = None
) -> Workspace:
    workspace = await create_workspace(session, name=name)
    await add_member(session, workspace.id, user.id, Role.owner)
    await audit.record(
        session,
        "workspace.created",
        workspace_id=workspace.id,
        user_id=user.id,
        label=user.email,
        origin=origin,
        target_type="workspace",
        target_id=workspace.id,
        details={"name": name},
    )
    return workspace


async def set_up_first_owner(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    name: str | None,
    workspace_name: str,
    origin: Origin | None = None,
) -> tuple[User, Workspace]:
    """The first-run page: only while no user exists at all."""
    # Serialises two first-run submissions racing each other.
    await session.execute(select(func.pg_advisory_xact_lock(0x1EAD_5E7)))
    if await has_users(session):
        raise AlreadySetUp()
    user = await create_user(session, email=email, password=password, name=name)
    workspace = await create_owned_workspace(session, user, workspace_name, origin=origin)
    return user, workspace


async def list_members(session: AsyncSession, workspace_id: uuid.UUID) -> list[Membership]:
    query = (
        scoped(Membership, workspace_id)
        .options(selectinload(Membership.user))
        .order_by(Membership.created_at, Membership.id)
    )
    return list((await session.scalars(query)).all())


async def _owners(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(in_workspace(Membership, workspace_id), Membership.role == Role.owner)
    )
    return int(count or 0)


def _may_manage(actor: CurrentMember, current: Role, wanted: Role | None) -> None:
    """Admins manage members up to admin; only an owner touches owners."""
    if not actor.role.at_least(Role.owner) and (current == Role.owner or wanted == Role.owner):
        raise RoleTooLow("Only an owner can grant, change or remove the owner role.")


async def change_role(
    session: AsyncSession, actor: CurrentMember, membership_id: uuid.UUID, role: Role
) -> Membership:
    membership = await get_scoped(
        session,
        Membership,
        actor.workspace_id,
        membership_id,
        error=MemberNotFound,
        options=(selectinload(Membership.user),),
        for_update=True,
    )
    _may_manage(actor, membership.role, role)
    demoting_owner = membership.role == Role.owner and role != Role.owner
    if demoting_owner and await _owners(session, actor.workspace_id) <= 1:
        raise LastOwner()
    before = membership.role
    membership.role = role
    await session.flush()
    await audit.record(
        session,
        "member.role_changed",
        actor=actor,
        target_type="membership",
        target_id=membership.id,
        details={"email": membership.user.email, "from": before.value, "to": role.value},
    )
    return membership


async def remove_member(
    session: AsyncSession, actor: CurrentMember, membership_id: uuid.UUID
) -> None:
    membership = await get_scoped(
        session,
        Membership,
        actor.workspace_id,
        membership_id,
        error=MemberNotFound,
        options=(selectinload(Membership.user),),
        for_update=True,
    )
    _may_manage(actor, membership.role, None)
    if membership.role == Role.owner and await _owners(session, actor.workspace_id) <= 1:
        raise LastOwner()
    await audit.record(
        session,
        "member.removed",
        actor=actor,
        target_type="membership",
        target_id=membership.id,
        details={"email": membership.user.email, "role": membership.role.value},
    )
    await session.delete(membership)
    await session.flush()


async def set_default_country(
    session: AsyncSession, actor: CurrentMember, country: str | None
) -> Workspace:
    """`country`: an ISO 3166 alpha-2 code already checked (WorkspaceUpdate), or None."""
    workspace = actor.workspace
    before = workspace.default_country
    if before == country:
        return workspace
    workspace.default_country = country
    await session.flush()
    await audit.record(
        session,
        "workspace.default_country_changed",
        actor=actor,
        target_type="workspace",
        target_id=workspace.id,
        details={"from": before, "to": country},
    )
    return workspace


async def rename_workspace(session: AsyncSession, actor: CurrentMember, name: str) -> Workspace:
    workspace = actor.workspace
    before = workspace.name
    workspace.name = name
    await session.flush()
    await audit.record(
        session,
        "workspace.renamed",
        actor=actor,
        target_type="workspace",
        target_id=workspace.id,
        details={"from": before, "to": name},
    )
    return workspace
