"""The raw store: one item per dedupe key, and append-only in the database (a trigger), but for
an erasure and the deletion of a whole workspace."""

from __future__ import annotations

import uuid
from email.parser import BytesHeaderParser

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from leadflood.inbox import store
from leadflood.models import InboundItem, Workspace
from leadflood.providers.inbound.imap import message_id_of
from leadflood.runtime import Runtime
from tests.factories import make_workspace
from tests.inbox.test_sync import reply


def test_the_key_is_the_message_id_else_the_bytes() -> None:
    a = reply(message_id="<abc@x.example>", body="one")
    b = reply(message_id=" <abc@x.example>", body="a different copy")
    assert store.mail_key(a) == store.mail_key(b) == store.message_id_key("abc@x.example")
    no_id = reply(message_id=None)
    assert store.mail_key(no_id).startswith("sha256:")
    assert store.mail_key(no_id) != store.mail_key(reply(message_id=None, body="other"))


_NAME = st.sampled_from(["Message-ID", "message-id", "MESSAGE-ID", "Message-Id", "Subject",
                         "From", "In-Reply-To", "X-Message-ID", "References", "Date"])  # fmt: skip
_VALUE = st.text(alphabet="<>@.abcXYZ019-_ \té\r", max_size=30)
# Lines no header parser reads as a field: its headers end there.
_JUNK = st.sampled_from(["Message-ID : <late@x>", ">b", "From nobody", "<no@colon>", "Sübject: x"])


@given(
    fields=st.lists(
        st.one_of(
            st.tuples(_NAME, _VALUE, st.lists(_VALUE.filter(str.strip), max_size=2)),
            _JUNK.map(lambda line: (line, None, [])),
        ),
        max_size=6,
    ),
    newline=st.sampled_from(["\r\n", "\n"]),
)
def test_the_message_id_is_the_header_parser_s(fields, newline: str) -> None:
    lines = []
    for name, value, folds in fields:
        if value is None:
            lines.append(name)
            continue
        # A folded line never holds only blanks: a parser reads that as the end of the headers.
        lines.append(f"{name}: {value}".rstrip() if not folds else f"{name}: {value}")
        lines.extend(" " + fold for fold in folds)
    block = (newline.join(lines) + newline + newline + "body Message-ID: <no@x>").encode()
    expected = BytesHeaderParser().parsebytes(block).get("Message-ID")
    cleaned = "".join(str(expected).split()).strip("<>") if expected is not None else ""
    assert message_id_of(block) == (cleaned or None)
    # Whatever the bytes, the mail has a key (a non-ASCII Message-ID included).
    assert store.mail_key(block).startswith(("message-id:", "sha256:"))


async def test_stored_once_per_workspace_and_the_new_ids_returned(runtime: Runtime) -> None:
    mail = store.RawMail(raw=reply(), folder="INBOX", uidvalidity=7, uid=1)
    async with runtime.db.session() as session:
        one, two = await make_workspace(session), await make_workspace(session)
        first = await store.store_mail(session, one.id, [mail, mail], source="imap")
        again = await store.store_mail(session, one.id, [mail], source="imap")
        elsewhere = await store.store_mail(session, two.id, [mail], source="imap")
        events = await store.store_payloads(
            session, one.id, [("evt-1", {"type": "inbound"}), ("evt-1", {"type": "inbound"})],
            source="postmark",
        )  # fmt: skip
    assert len(first) == 1 and again == [] and len(elsewhere) == 1 and len(events) == 1
    async with runtime.db.sessions() as session:
        pending = await store.unprocessed(session)
        assert {i.id for i in pending} == {*first, *elsewhere, *events}


async def _item(runtime: Runtime) -> tuple[uuid.UUID, uuid.UUID]:
    async with runtime.db.session() as session:
        workspace = await make_workspace(session)
        (item_id,) = await store.store_mail(
            session, workspace.id, [store.RawMail(raw=reply())], source="imap"
        )
    return workspace.id, item_id


@pytest.mark.parametrize(
    "change",
    [
        {"raw": b"rewritten"},
        {"raw": None},  # NULL without erased_at is not an erasure
        {"payload": {"x": 1}},
        {"dedupe_key": "sha256:other"},
        {"source": "postmark"},
        {"uid": 99},
    ],
)
async def test_what_was_received_cannot_change(runtime: Runtime, change: dict) -> None:
    _, item_id = await _item(runtime)
    with pytest.raises(DBAPIError, match="append-only"):
        async with runtime.db.session() as session:
            await session.execute(
                update(InboundItem).where(InboundItem.id == item_id).values(**change)
            )


async def test_processing_columns_change_and_an_erasure_removes_the_mail(
    runtime: Runtime,
) -> None:
    workspace_id, item_id = await _item(runtime)
    async with runtime.db.session() as session:
        await store.mark_processed(session, item_id, error="rule crashed")
        await store.mark_processed(session, item_id)
        assert await store.reprocess(session, workspace_id, [item_id]) == 1
        assert await store.erase(session, workspace_id, [item_id]) == 1
    async with runtime.db.sessions() as session:
        item = await session.get(InboundItem, item_id)
        assert item is not None and item.raw is None and item.erased_at is not None
        assert item.attempts == 2 and item.dedupe_key.startswith("message-id:")
    # Erased is erased: the mail cannot come back into the row.
    with pytest.raises(DBAPIError, match="append-only"):
        async with runtime.db.session() as session:
            await session.execute(
                update(InboundItem).where(InboundItem.id == item_id).values(raw=b"back")
            )


async def test_an_item_is_deleted_only_with_its_workspace(runtime: Runtime) -> None:
    workspace_id, item_id = await _item(runtime)
    with pytest.raises(DBAPIError, match="DELETE refused"):
        async with runtime.db.session() as session:
            await session.execute(delete(InboundItem).where(InboundItem.id == item_id))
    async with runtime.db.session() as session:
        await session.execute(delete(Workspace).where(Workspace.id == workspace_id))
    async with runtime.db.sessions() as session:
        left = await session.scalar(select(func.count()).select_from(InboundItem))
        assert left == 0
        trigger = await session.scalar(
            text("SELECT count(*) FROM pg_trigger WHERE tgname = 'inbound_items_append_only'")
        )
        assert trigger == 1
