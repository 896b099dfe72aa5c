"""Invitations: a single-use, expiring link an admin creates and the invitee accepts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import audit, mail
from leadflood.auth import service as accounts
from leadflood.auth.errors import (
    AlreadyMember,
    InvalidCredentials,
    InvitationInvalid,
    InvitationNotFound,
    RoleTooLow,
)
from leadflood.auth.passwords import verify_password
from leadflood.auth.principal import CurrentMember, Origin
from leadflood.auth.tokens import digest, random_token
from leadflood.db.scope import get_scoped, scoped
from leadflood.errors import AppError
from leadflood.models import Invitation, Role, User, Workspace
from leadflood.settings import Settings


async def create(
    session: AsyncSession, actor: CurrentMember, settings: Settings, *, email: str, role: Role
) -> tuple[Invitation, str]:
    """(the invitation, its token: shown once, as a link)."""
    if not actor.role.at_least(role):
        raise RoleTooLow(f"You cannot invite with a role above your own ({actor.role}).")
    existing = await accounts.user_by_email(session, email)
    if existing and await accounts.membership_of(session, actor.workspace_id, existing.id):
        raise AlreadyMember()
    token = random_token()
    invitation = Invitation(
        id=uuid.uuid4(),
        workspace_id=actor.workspace_id,
        email=email,
        role=role,
        token_hash=digest(token),
        expires_at=datetime.now(UTC) + timedelta(days=settings.invitation_days),
        invited_by_id=actor.user.id if actor.user else None,
    )
    session.add(invitation)
    await session.flush()
    await session.refresh(invitation)
    await audit.record(
        session,
        "invitation.created",
        actor=actor,
        target_type="invitation",
        target_id=invitation.id,
        details={"email": email, "role": role.value},
    )
    return invitation, token


async def list_open(session: AsyncSession, workspace_id: uuid.UUID) -> list[Invitation]:
    query = (
        scoped(Invitation, workspace_id)
        .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .order_by(Invitation.created_at.desc(), Invitation.id)
        .limit(500)
    )
    return list((await session.scalars(query)).all())


async def revoke(
    session: AsyncSession, actor: CurrentMember, invitation_id: uuid.UUID
) -> Invitation:
    invitation = await get_scoped(
        session,
        Invitation,
        actor.workspace_id,
        invitation_id,
        error=InvitationNotFound,
        for_update=True,
    )
    if invitation.revoked_at is None and invitation.accepted_at is None:
        invitation.revoked_at = datetime.now(UTC)
        await audit.record(
            session,
            "invitation.revoked",
            actor=actor,
            target_type="invitation",
            target_id=invitation.id,
            details={"email": invitation.email},
        )
    await session.flush()
    return invitation


async def find_open(
    session: AsyncSession, token: str, *, for_update: bool = False
) -> tuple[Invitation, Workspace]:
    query = (
        select(Invitation, Workspace)
        .join(Workspace, Workspace.id == Invitation.workspace_id)
        .where(
            or_(Invitation.token_hash == digest(token), Invitation.mail_token_hash == digest(token))
        )
    )
    if for_update:
        query = query.with_for_update(of=Invitation)
    row = (await session.execute(query)).first()
    if row is None:
        raise InvitationInvalid()
    invitation, workspace = row
    if (
        invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= datetime.now(UTC)
    ):
        raise InvitationInvalid()
    return invitation, workspace


async def accept(
    session: AsyncSession,
    token: str,
    *,
    password: str,
    name: str | None = None,
    origin: Origin | None = None,
) -> tuple[User, Workspace]:
    """A new user sets a password; an existing user proves theirs. Either way the token is
    spent and the membership made, in one transaction; a mailed invitation also confirms the
    address."""
    invitation, workspace = await find_open(session, token, for_update=True)
    user = await accounts.user_by_email(session, invitation.email)
    if user is None:
        user = await accounts.create_user(
            session, email=invitation.email, password=password, name=name
        )
    elif not verify_password(user.password_hash, password):
        raise InvalidCredentials("Wrong password for this existing account.")
    if await accounts.membership_of(session, workspace.id, user.id) is None:
        await accounts.add_member(session, workspace.id, user.id, invitation.role)
    invitation.accepted_at = datetime.now(UTC)
    if invitation.mail_token_hash == digest(token) and user.email_verified_at is None:
        # The link only the mail carried (not the one shown to the admin) reached this
        # address, as a confirmation link does.
        user.email_verified_at = invitation.accepted_at
    await session.flush()
    await audit.record(
        session,
        "invitation.accepted",
        workspace_id=workspace.id,
        user_id=user.id,
        label=user.email,
        origin=origin,
        target_type="invitation",
        target_id=invitation.id,
        details={"role": invitation.role.value},
    )
    return user, workspace


def link(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/invite/{token}"


@dataclass(frozen=True)
class Emailed:
    sent: bool
    error: str | None = None


async def email(
    session: AsyncSession,
    actor: CurrentMember,
    settings: Settings,
    invitation: Invitation,
) -> Emailed:
    """Mail an invitation link through the system mailbox: a token of its own, which only the
    mail carries, so that joining by it proves the address (the admin's link does not). A
    missing or refusing mailbox is not an error of the invitation: the admin still has the
    link to send by hand."""
    token = random_token()
    inviter = (actor.user.name or actor.user.email) if actor.user else "An admin"
    text = (
        f"Hello,\n\n{inviter} invites you to the workspace {actor.workspace.name} on Lead Flood, "
        f"as {invitation.role.value}.\n\nAccept here (the link works once, until "
        f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n\n{link(settings, token)}\n\n"
        "If you did not expect this, ignore this message.\n"
    )
    subject = f"{inviter} invites you to {actor.workspace.name} on Lead Flood"
    try:
        mailbox = await mail.require(session, settings)
        invite = mail.AccountMail(invitation.email, subject, text, "Accept the invitation")
        await mail.send(mailbox, invite)
    except AppError as exc:
        return Emailed(False, exc.message)
    invitation.mail_token_hash = digest(token)
    await audit.record(
        session,
        "invitation.emailed",
        actor=actor,
        target_type="invitation",
        target_id=invitation.id,
        details={"email": invitation.email, "via": mailbox.source},
    )
    return Emailed(True)
