"""People erased on request: their identities live on only as digests in the suppression list
(`identities.identity_digest`, written by `suppressions.erasure.erase_person`). This is the one
check that keeps them out: creating or editing a lead, CSV import and search runs ask it; the
suppression checks of the sending engine match the same digests.

Any digest entry counts, whatever its reason: an entry is only ever hashed by an erasure."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace
from leadflood.errors import Conflict
from leadflood.leads import identities
from leadflood.models import Suppression

REASON = "erased"


class PersonErased(Conflict):
    code = "erased"
    message = (
        "This person's data was erased on request: they cannot be added, imported or contacted "
        "again. Remove their entry from the suppression list only if they ask to come back."
    )


def _visible(workspace_id: uuid.UUID) -> object:
    return or_(in_workspace(Suppression, workspace_id), Suppression.workspace_id.is_(None))


def digests(
    *,
    email: str | None = None,
    phone: str | None = None,
    linkedin_url: str | None = None,
    source: str | None = None,
    person_id: str | None = None,
) -> list[str]:
    keys = identities.identity_keys(
        email=email, phone=phone, linkedin_url=linkedin_url, source=source, person_id=person_id
    )
    return [identities.identity_digest(kind, key) for kind, key in keys]


async def erased_among(
    session: AsyncSession, workspace_id: uuid.UUID, wanted: Iterable[str]
) -> set[str]:
    """The digests among `wanted` that an erasure recorded (this workspace's or instance-wide)."""
    values = sorted(set(wanted))
    if not values:
        return set()
    rows = await session.scalars(
        select(Suppression.value).where(
            _visible(workspace_id),  # type: ignore[arg-type]
            Suppression.value.in_(values),
        )
    )
    return set(rows)


async def any_erased(session: AsyncSession, workspace_id: uuid.UUID) -> bool:
    """Whether this workspace (or the instance) has erased anyone: bulk writers skip the check
    when nobody was."""
    query = select(
        exists().where(
            _visible(workspace_id),  # type: ignore[arg-type]
            Suppression.value.startswith(identities.DIGEST_PREFIX),
        )
    )
    return bool(await session.scalar(query))


async def ensure_not_erased(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    email: str | None = None,
    phone: str | None = None,
    linkedin_url: str | None = None,
) -> None:
    """Raise PersonErased (naming the field) when one of these identities is an erased
    person's."""
    given = {"email": email, "phone": phone, "linkedin_url": linkedin_url}
    by_field = {name: digests(**{name: value}) for name, value in given.items() if value}
    found = await erased_among(session, workspace_id, [d for ds in by_field.values() for d in ds])
    for name, wanted in by_field.items():
        if found.intersection(wanted):
            raise PersonErased(details={"field": name})
