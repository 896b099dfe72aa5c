"""Resend's `email.received` webhook carries the envelope only: the content is fetched from
GET /emails/receiving/{id} (a stand-in Resend on 127.0.0.1), stored raw as its own item, and
read: threaded by its In-Reply-To, classified by its words."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import select

from leadflood.inbox import process, store
from leadflood.models import InboundItem, Message
from tests.factories import make_mailbox
from tests.inbox.test_process import NOW, _sent

KEY = "re_test_key"


class FakeResend:
    """Answers GET /emails/receiving/{id} as Resend documents it; `status` for failures."""

    def __init__(self, body: dict[str, Any], status: int = 200) -> None:
        self.requests: list[tuple[str, str | None]] = []
        seen, answer = self.requests, (status, json.dumps(body).encode())

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append((self.path, self.headers.get("authorization")))
                self.send_response(answer[0])
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(answer[1])

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def _envelope(email_id: str, sender: str) -> dict[str, Any]:
    return {
        "type": "email.received",
        "created_at": "2026-12-07T09:00:00.000Z",
        "data": {"email_id": email_id, "from": sender, "to": ["sam@sender.example"],
                 "subject": "Re: Quick question", "message_id": "<r-1@prospect.example>"},
    }  # fmt: skip


async def _received(runtime: Any, ws: Any, resend: FakeResend, key: str, envelope: dict) -> Any:
    """An `email.received` event of a Resend mailbox (its API at `resend`), stored and
    processed; the message recorded. Stops `resend` after."""
    try:
        async with runtime.db.session() as session:
            await make_mailbox(session, ws.id, name="Resend", provider="resend",
                               config={"base_url": resend.url}, secret=KEY)  # fmt: skip
            (item_id,) = await store.store_payloads(
                session, ws.id, [(key, envelope)], source="resend"
            )
            item = await session.get(InboundItem, item_id)
            assert item is not None
            return await process.process_item(session, item, now=NOW)
    finally:
        resend.close()


async def test_the_content_is_fetched_stored_and_read(runtime) -> None:
    ws, _, lead, _, sent = await _sent(runtime)
    content = {
        "object": "email", "id": "em_1", "from": "Ada <ada@prospect.example>",
        "to": ["sam@sender.example"], "subject": "Re: Quick question",
        "message_id": "<r-1@prospect.example>", "created_at": "2026-12-07T09:00:00.000Z",
        "text": "Please remove me from your list.\n\nOn Mon, Sam wrote:\n> Hi Ada",
        "html": None, "headers": {"In-Reply-To": sent.message_id, "References": sent.message_id},
    }  # fmt: skip
    resend = FakeResend(content)
    recorded = await _received(runtime, ws, resend, "resend:msg_1", _envelope("em_1", lead.email))
    assert resend.requests == [("/emails/receiving/em_1", f"Bearer {KEY}")]
    assert recorded is not None and recorded.classification is not None
    assert recorded.classification["kind"] == "unsubscribe"
    assert recorded.classification["matched_by"] == "message_id"
    async with runtime.db.sessions() as session:
        items = (await session.scalars(select(InboundItem).order_by(InboundItem.created_at))).all()
        assert [i.dedupe_key for i in items] == ["resend:msg_1", "resend:content:em_1"]
        assert all(i.processed_at is not None for i in items)
        assert items[1].payload["data"]["text"].startswith("Please remove me")
        # Processing the envelope again changes nothing: the content item stands for it.
        again = await process.process_item(session, items[0], now=NOW)
        assert again is None
        assert (
            await session.scalar(select(Message.id).where(Message.direction == "inbound").offset(1))
            is None
        )


async def test_a_refusal_leaves_the_envelope_to_be_read_alone(runtime) -> None:
    ws, _, lead, _, _ = await _sent(runtime)
    resend = FakeResend({"statusCode": 404, "name": "not_found", "message": "gone"}, status=404)
    recorded = await _received(runtime, ws, resend, "resend:msg_2", _envelope("em_2", lead.email))
    assert recorded is not None and recorded.classification is not None
    assert recorded.classification["matched_by"] != "message_id"  # by sender and subject
