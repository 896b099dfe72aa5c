"""A lane's start marks: each message is marked started, and the mark committed, just before its
own attempt, in one statement that also records the lane's previous success (the message and
its attempt row; the enrollment's last send follows on the job's writer, so this statement
locks only message rows and never waits in a cycle with a reply's transaction, which locks the
enrollment before its messages). One round trip in autocommit on a connection of the
lane's own, with scalar parameters only: at any moment only the message in flight is in doubt,
and a crash leaves at most one `unconfirmed` message per connection."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, LiteralString

from psycopg import AsyncConnection as RawConnection
from sqlalchemy.ext.asyncio import AsyncConnection

from leadflood.db.engine import Database
from leadflood.sending.outcomes import Sent

# The previous success and the next start, together. Both touch `messages`, but never the same
# row. The next message is marked only if its enrollment can still send: a reply, bounce or
# manual stop committed after the claim still keeps the step from leaving. Only the start time
# is set on it, not updated_at: no indexed column changes, so the update stays in its heap page
# (the reconciler ages a started message from sending_started_at).
# The `message.sent` webhook event is written here, in the same statement, as `events.emit`
# would write it (only for a workspace with a subscribed endpoint): the hot path keeps one
# round trip per message.
_STEP: LiteralString = """
    WITH prev AS (
        UPDATE messages SET status = 'sent', sent_at = %(prev_at)s,
            provider_message_id = %(pid)s, error = NULL, updated_at = now()
        WHERE id = %(prev)s AND status = 'sending'
        RETURNING id, workspace_id, enrollment_id, lead_id, channel, to_address
    ), event AS (
        INSERT INTO webhook_events (id, workspace_id, type, data)
        SELECT gen_random_uuid(), prev.workspace_id, 'message.sent', jsonb_build_object(
            'message_id', prev.id, 'enrollment_id', prev.enrollment_id,
            'lead_id', prev.lead_id, 'channel', prev.channel, 'to', prev.to_address,
            'provider_message_id', %(pid)s::text, 'sent_at', %(prev_at)s::timestamptz)
        FROM prev
        WHERE EXISTS (
            SELECT 1 FROM webhook_endpoints AS w
            WHERE w.workspace_id = prev.workspace_id AND w.enabled
                AND 'message.sent' = ANY(w.events)
        )
    ), attempt AS (
        INSERT INTO delivery_attempts
            (id, workspace_id, message_id, attempt, at, code, text, classification)
        SELECT %(attempt_id)s, workspace_id, id, %(attempt)s, %(prev_at)s, %(code)s, %(text)s,
            'sent'
        FROM prev
    )
    UPDATE messages AS m SET sending_started_at = %(at)s
    WHERE m.id = %(next)s AND m.status = 'sending'
        AND NOT EXISTS (
            SELECT 1 FROM enrollments AS e
            WHERE e.id = m.enrollment_id AND e.state NOT IN ('active', 'completed')
        )
"""


class Marks:
    """The marks of one lane, on a pooled connection it keeps for the job."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._connection: AsyncConnection | None = None
        self._raw: RawConnection[Any] | None = None

    async def step(self, next_id: uuid.UUID | None, at: datetime, previous: Sent | None) -> bool:
        """Mark `next_id` started at `at` (None: nothing follows) and record `previous`, the
        lane's last success, in the same commit. False when `next_id` must not be attempted
        (its enrollment stopped or paused since the claim, or the message was cancelled)."""
        if next_id is None and previous is None:
            return False
        raw = await self._connected()
        params: dict[str, Any] = {"next": next_id, "at": at, "prev": None, "prev_at": None,
                                  "pid": None, "attempt_id": None, "attempt": None,
                                  "code": None, "text": None}  # fmt: skip
        if previous is not None:
            result = previous.result
            params.update(
                prev=previous.claimed.id,
                prev_at=previous.at,
                pid=result.provider_message_id,
                attempt_id=uuid.uuid4(),
                attempt=previous.claimed.attempt,
                code=(result.code or None) and result.code[:20],
                text=result.text,
            )
        cursor = await raw.execute(_STEP, params, prepare=True)
        return next_id is not None and cursor.rowcount == 1

    async def aclose(self, *, broken: bool = False) -> None:
        connection, self._connection, self._raw = self._connection, None, None
        if connection is not None:
            if broken:
                await connection.invalidate()
            await connection.close()

    async def _connected(self) -> RawConnection[Any]:
        if self._raw is None:
            connection = await self._db.engine.connect()
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            self._connection = connection
            raw = await connection.get_raw_connection()
            self._raw = raw.driver_connection
        assert self._raw is not None
        return self._raw
