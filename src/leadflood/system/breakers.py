"""Circuit breakers per provider and account, their state in PostgreSQL so that every worker
on every machine sees the same one.

A caller of a provider asks `enter()` before the call: a closed breaker lets it through, an open
one raises `BreakerOpen` (a temporary error whose `retry_after` is the rest of the cool-down),
and when the cool-down is over exactly one caller becomes the probe (a compare-and-set on the
row) while the others keep failing fast. After the call the caller reports `success()` or
`failure()`: BREAKER_FAILURES temporary failures in a row open the breaker for
BREAKER_COOL_DOWN_SECONDS; the probe's success closes it, its failure opens it again.

Only temporary failures count (timeouts, network faults, 429, 5xx): a permanent error is an
answer, so the provider is up. Every write is its own short committed transaction, apart from
the caller's, so the state is shared at once and survives the caller's rollback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from leadflood.models import Breaker
from leadflood.providers.base import ProviderError, TemporaryProviderError
from leadflood.settings import Settings

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATES = (CLOSED, OPEN, HALF_OPEN)
Bind = AsyncEngine | AsyncConnection


class BreakerOpen(TemporaryProviderError):
    """The provider account's breaker is open: the call was not made."""

    def __init__(self, provider: str, account: str, retry_after: float, last_error: str | None):
        super().__init__(
            f"{provider} is failing ({last_error or 'repeated temporary errors'}): calls pause "
            f"for {retry_after:.0f} s",
            provider=provider,
            code="breaker_open",
            retry_after=retry_after,
        )
        self.account = account


@dataclass(frozen=True)
class Policy:
    failures: int = 5
    cool_down: timedelta = timedelta(seconds=60)

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(settings.breaker_failures, timedelta(seconds=settings.breaker_cool_down_seconds))


@dataclass
class Gate:
    """A caller's pass through a breaker. `probe` is True for the one call that decides whether
    an opened breaker closes; `clean` when the breaker had no failure on record (a success
    then need not be written)."""

    provider: str
    account: str
    policy: Policy
    probe: bool = False
    clean: bool = True

    async def success(self, bind: Bind) -> None:
        if self.clean and not self.probe:
            return
        await success(bind, self.provider, self.account)
        self.clean, self.probe = True, False

    async def failure(self, bind: Bind, error: ProviderError) -> str:
        """Record `error` when it is temporary (else it counts as an answer); returns the
        breaker's state afterwards."""
        if not error.temporary or isinstance(error, BreakerOpen):
            await self.success(bind)
            return CLOSED
        state = await failure(bind, self.provider, self.account, error, self.policy)
        self.clean, self.probe = False, False
        return state


def bind_of(session: AsyncSession) -> Bind:
    """The database of a caller's session, on which the breaker writes its own transactions."""
    bind = session.bind
    if bind is None:  # pragma: no cover - every session of the app is bound
        raise RuntimeError("the session is not bound to a database")
    return bind


def _now() -> datetime:
    return datetime.now(UTC)


async def _run(bind: Bind, sql: Any, params: dict[str, Any]) -> Any:
    async with AsyncSession(bind) as session, session.begin():
        return (await session.execute(sql, params)).first()


_READ = text(
    "SELECT state, failures, opened_until, last_error FROM breakers "
    "WHERE provider = :provider AND account = :account"
)
# The one caller whose update matches becomes the probe: the cool-down is over (open), or the
# previous probe's lease ran out (its worker died).
_TAKE_PROBE = text(
    """
    UPDATE breakers SET state = 'half_open', opened_until = :lease, updated_at = :now
    WHERE provider = :provider AND account = :account
      AND state IN ('open', 'half_open') AND opened_until <= :now
    RETURNING state
    """
)


async def enter(
    bind: Bind, provider: str, account: str, policy: Policy, *, now: datetime | None = None
) -> Gate:
    """Pass the breaker or raise BreakerOpen."""
    now = now or _now()
    params = {"provider": provider, "account": account}
    row = await _run(bind, _READ, params)
    if row is None or row.state == CLOSED:
        return Gate(provider, account, policy, clean=row is None or row.failures == 0)
    if row.opened_until is not None and row.opened_until > now:
        remaining = (row.opened_until - now).total_seconds()
        raise BreakerOpen(provider, account, remaining, row.last_error)
    taken = await _run(bind, _TAKE_PROBE, {**params, "now": now, "lease": now + policy.cool_down})
    if taken is None:
        # Another worker took the probe a moment ago: wait for its verdict.
        raise BreakerOpen(provider, account, policy.cool_down.total_seconds(), row.last_error)
    return Gate(provider, account, policy, probe=True, clean=False)


_SUCCESS = text(
    """
    UPDATE breakers SET state = 'closed', failures = 0, opened_until = NULL, updated_at = :now
    WHERE provider = :provider AND account = :account AND (state <> 'closed' OR failures > 0)
    RETURNING state
    """
)


async def success(bind: Bind, provider: str, account: str, *, now: datetime | None = None) -> None:
    await _run(bind, _SUCCESS, {"provider": provider, "account": account, "now": now or _now()})


# A failure opens the breaker when it is the threshold's, or the probe's (half_open); one
# arriving while it is open (a call that was already out) leaves the cool-down as it is.
_FAILURE = text(
    """
    INSERT INTO breakers AS b (provider, account, state, failures, opened_until, last_error,
                               last_failure_at, updated_at)
    VALUES (:provider, :account,
            CASE WHEN :threshold <= 1 THEN 'open' ELSE 'closed' END, 1,
            CASE WHEN :threshold <= 1 THEN CAST(:until AS timestamptz) END, :error, :now, :now)
    ON CONFLICT (provider, account) DO UPDATE SET
        failures = b.failures + 1,
        state = CASE WHEN b.state = 'open' OR b.state = 'half_open'
                          OR b.failures + 1 >= :threshold THEN 'open' ELSE 'closed' END,
        opened_until = CASE
            WHEN b.state = 'open' THEN b.opened_until
            WHEN b.state = 'half_open' OR b.failures + 1 >= :threshold THEN :until
            END,
        last_error = :error, last_failure_at = :now, updated_at = :now
    RETURNING state
    """
)


async def failure(
    bind: Bind,
    provider: str,
    account: str,
    error: ProviderError,
    policy: Policy,
    *,
    now: datetime | None = None,
) -> str:
    now = now or _now()
    row = await _run(
        bind,
        _FAILURE,
        {
            "provider": provider,
            "account": account,
            "threshold": policy.failures,
            "until": now + policy.cool_down,
            "error": f"{error.code or 'error'}: {error}"[:500],
            "now": now,
        },
    )
    return str(row.state)


async def all_states(session: AsyncSession) -> list[Breaker]:
    """Every breaker, not closed first (doctor, /metrics, the mailbox page)."""
    rows = await session.scalars(
        select(Breaker).order_by((Breaker.state == CLOSED), Breaker.provider, Breaker.account)
    )
    return list(rows.all())


async def state_of(session: AsyncSession, provider: str, account: str) -> Breaker | None:
    return await session.get(Breaker, (provider, account))
