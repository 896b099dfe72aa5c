"""`leadflood up --demo`: a demo workspace and a user to sign in with. Idempotent: running it
again finds what the first run made (and leaves a changed password alone)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.auth import service as accounts
from leadflood.enrichment import config as enrichment_settings
from leadflood.models import EnrichmentSettings, Role, Workspace

DEMO_EMAIL = "demo@leadflood.local"
DEMO_PASSWORD = "leadflood-demo"
DEMO_WORKSPACE = "Demo"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    workspace: Workspace
    created: bool


async def seed(session: AsyncSession) -> DemoAccount:
    created = False
    user = await accounts.user_by_email(session, DEMO_EMAIL)
    if user is None:
        user = await accounts.create_user(
            session, email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Demo User"
        )
        created = True
    workspace = await accounts.find_workspace(session, DEMO_WORKSPACE.lower())
    if workspace is None:
        workspace = await accounts.create_owned_workspace(session, user, DEMO_WORKSPACE)
        created = True
    elif await accounts.membership_of(session, workspace.id, user.id) is None:
        await accounts.add_member(session, workspace.id, user.id, Role.owner)
    # The demo enriches and verifies with the sandbox's synthetic people; a user's later
    # choice is left alone.
    if await session.get(EnrichmentSettings, workspace.id) is None:
        await enrichment_settings.update(session, workspace.id, enrichment_settings.sandbox_only())
    return DemoAccount(DEMO_EMAIL, DEMO_PASSWORD, workspace, created)
