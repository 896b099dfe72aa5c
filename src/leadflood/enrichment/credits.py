"""The monthly credit budget. A paid provider call first reserves its price (a row written and
committed under a per-workspace lock, after checking the month's spending), then settles to
the real cost: concurrent workers can never spend past the budget, and a crash mid-call leaves
the reservation counted rather than the money unaccounted."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.db.scope import in_workspace
from leadflood.errors import AppError
from leadflood.models import EnrichmentRun, EnrichmentSettings, Verification

# Credits one call may cost at most, by provider (Apollo and Hunter bill one credit per match).
PRICES: dict[str, Decimal] = {"sandbox": Decimal(0), "apollo": Decimal(1), "hunter": Decimal(1)}
_LOCK_CLASS = 0x1EAD


class CreditBudgetExhausted(AppError):
    status = 402
    code = "credit_budget_exhausted"
    message = (
        "This workspace's monthly credit budget is used up: raise it under Settings → "
        "Enrichment or wait for next month."
    )


def price_of(provider: Any) -> Decimal:
    """What a call to this adapter may cost: its own `max_cost` when it declares one."""
    declared = getattr(provider, "max_cost", None)
    if declared is not None:
        return Decimal(str(declared))
    return PRICES.get(provider.name, Decimal(1))


def month_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


async def used_this_month(session: AsyncSession, workspace_id: uuid.UUID) -> Decimal:
    since = month_start()
    runs = (
        select(func.coalesce(func.sum(EnrichmentRun.cost), 0))
        .where(in_workspace(EnrichmentRun, workspace_id), EnrichmentRun.created_at >= since)
        .scalar_subquery()
    )
    checks = (
        select(func.coalesce(func.sum(Verification.cost), 0))
        .where(in_workspace(Verification, workspace_id), Verification.created_at >= since)
        .scalar_subquery()
    )
    used = await session.scalar(select(runs + checks))
    return Decimal(used or 0)


async def budget_of(session: AsyncSession, workspace_id: uuid.UUID) -> Decimal | None:
    return await session.scalar(
        select(EnrichmentSettings.monthly_budget).where(
            in_workspace(EnrichmentSettings, workspace_id)
        )
    )


async def remaining(session: AsyncSession, workspace_id: uuid.UUID) -> Decimal | None:
    budget = await budget_of(session, workspace_id)
    if budget is None:
        return None
    return max(Decimal(0), budget - await used_this_month(session, workspace_id))


async def ensure_can_spend(session: AsyncSession, workspace_id: uuid.UUID) -> None:
    """Refuse at once (before queueing work) when nothing is left to spend."""
    left = await remaining(session, workspace_id)
    if left is not None and left <= 0:
        raise CreditBudgetExhausted(details={"remaining": "0"})


@asynccontextmanager
async def own_transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A separate transaction on the caller's database, committed when the block ends: what
    it writes survives a rollback of the caller's transaction."""
    own = AsyncSession(session.bind, expire_on_commit=False, info=session.info)
    async with own, own.begin():
        yield own


async def reserve_committed(
    session: AsyncSession, row: EnrichmentRun | Verification, price: Decimal
) -> uuid.UUID:
    """Write `row` with `cost = price` in its own committed transaction, or raise
    CreditBudgetExhausted (and write nothing) when the price does not fit in the budget."""
    row.id = row.id or uuid.uuid4()
    row.cost = price
    async with own_transaction(session) as own:
        if price > 0:
            await own.execute(
                text("SELECT pg_advisory_xact_lock(:cls, hashtext(:ws))"),
                {"cls": _LOCK_CLASS, "ws": str(row.workspace_id)},
            )
            budget = await budget_of(own, row.workspace_id)
            if budget is not None:
                used = await used_this_month(own, row.workspace_id)
                if used + price > budget:
                    raise CreditBudgetExhausted(
                        details={"budget": str(budget), "used": str(used), "price": str(price)}
                    )
        own.add(row)
    return row.id


async def settle_committed(
    session: AsyncSession,
    model: type[EnrichmentRun] | type[Verification],
    row_id: uuid.UUID,
    **values: Any,
) -> None:
    """Record what a reserved call really cost and returned (its own committed transaction)."""
    async with own_transaction(session) as own:
        await own.execute(update(model).where(model.id == row_id).values(**values))
