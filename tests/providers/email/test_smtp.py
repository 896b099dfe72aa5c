from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator, Iterator

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from leadflood.providers.base import (
    OutboundEmail,
    PermanentProviderError,
    ProviderNotConfiguredError,
    RecipientRejected,
    TemporaryProviderError,
)
from leadflood.providers.email import (
    SmtpSender,
    build_email_sender,
    check_smtp_login,
    smtp_settings,
)
from leadflood.providers.email.smtp import SmtpSettings
from tests.support.smtp_server import SmtpTestServer, free_port

NOT_A_KEY = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
UNSUBSCRIBE = {
    "List-Unsubscribe": "<https://app.test/u/tok123>, <mailto:unsub+tok123@app.test>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def make_email(n: int = 1, *, to: list[str] | None = None) -> OutboundEmail:
    return OutboundEmail(
        message_id=f"<msg-{n}@mail.sender.test>",
        from_email="ana@sender.test",
        from_name="Ana Núñez",
        to=to or [f"lead{n}@prospect.test"],
        subject=f"Quick question #{n}",
        text=f"Hi lead {n},\n.\nworth a chat?\n",
        html=f"<p>Hi lead {n}, worth a chat?</p>",
        reply_to="replies@sender.test",
        headers=dict(UNSUBSCRIBE),
    )


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer(username="mailer", password="s3cret") as smtp_server:
        yield smtp_server


@pytest.fixture
async def sender(server: SmtpTestServer) -> AsyncIterator[SmtpSender]:
    async with SmtpSender(smtp_settings(server.config())) as smtp_sender:
        yield smtp_sender


async def test_many_sends_share_one_connection(server: SmtpTestServer) -> None:
    sender = build_email_sender("smtp", server.config())
    assert isinstance(sender, SmtpSender)
    results = [await sender.send(make_email(n)) for n in range(1, 8)]
    await sender.aclose()

    assert server.connections == 1
    assert server.auth_attempts == [("mailer", True)]
    assert [m.message["Message-ID"] for m in server.messages] == [
        f"<msg-{n}@mail.sender.test>" for n in range(1, 8)
    ]
    assert [m.rcpt_tos for m in server.messages] == [
        [f"lead{n}@prospect.test"] for n in range(1, 8)
    ]
    assert all(m.mail_from == "ana@sender.test" for m in server.messages)
    first = results[0]
    assert (first.provider, first.provider_message_id, first.code) == (
        "smtp",
        "<msg-1@mail.sender.test>",
        "250",
    )
    assert first.text == "2.0.0 Message accepted for delivery"


async def test_a_send_waits_for_ready_after_the_envelope_and_abandons_when_told(
    server: SmtpTestServer, sender: SmtpSender
) -> None:
    """`ready` (the caller's start mark) is awaited once MAIL and RCPT are accepted: False
    resets the transaction, so nothing arrives, and the connection serves the next send."""
    order: list[str] = []

    async def ready(go: bool) -> bool:
        order.append("ready")
        return go

    first = make_email(1)
    mark = asyncio.ensure_future(ready(False))  # running beside the envelope, as a lane's mark
    abandoned = await sender.send_rendered(first, sender.render(first), ready=mark)
    assert abandoned is None and server.messages == [] and order == ["ready"]
    second = make_email(2)
    mark = asyncio.ensure_future(ready(True))
    sent = await sender.send_rendered(second, sender.render(second), ready=mark)
    assert sent is not None and sent.code == "250"
    assert [m.message["Message-ID"] for m in server.messages] == ["<msg-2@mail.sender.test>"]
    assert server.connections == 1

    async def broken() -> bool:
        raise RuntimeError("the database went away")

    third = make_email(3)
    with pytest.raises(RuntimeError):
        await sender.send_rendered(third, sender.render(third), ready=broken())
    assert len(server.messages) == 1
    await sender.send(make_email(4))
    assert len(server.messages) == 2 and server.connections == 1


async def test_headers_and_bodies_arrive_intact(server: SmtpTestServer, sender: SmtpSender) -> None:
    await sender.send(make_email(3))
    (received,) = server.messages
    msg = received.message
    assert msg["List-Unsubscribe"] == UNSUBSCRIBE["List-Unsubscribe"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["From"] == "Ana Núñez <ana@sender.test>"
    assert msg["Reply-To"] == "replies@sender.test"
    body = msg.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "Hi lead 3,\n.\nworth a chat?\n"


@pytest.mark.parametrize(("stage", "code"), [("DATA", 451), ("RCPT", 450), ("MAIL", 421)])
async def test_4xx_is_temporary_and_the_connection_recovers(
    server: SmtpTestServer, sender: SmtpSender, stage: str, code: int
) -> None:
    server.fail_next(code=code, text="4.7.1 try later", stage=stage)  # type: ignore[arg-type]
    with pytest.raises(TemporaryProviderError) as caught:
        await sender.send(make_email(1))
    assert caught.value.code == str(code)
    assert "4.7.1 try later" in str(caught.value)
    assert server.messages == []

    await sender.send(make_email(2))
    assert [m.message["Message-ID"] for m in server.messages] == ["<msg-2@mail.sender.test>"]
    # 421 makes the client hang up; other codes keep the connection.
    assert server.connections == (2 if code == 421 else 1)


async def test_5xx_on_rcpt_rejects_the_recipient(
    server: SmtpTestServer, sender: SmtpSender
) -> None:
    server.reject_recipient("ghost@prospect.test", code=550, text="5.1.1 user unknown")
    with pytest.raises(RecipientRejected) as caught:
        await sender.send(make_email(1, to=["ghost@prospect.test"]))
    assert caught.value.code == "550"
    assert "5.1.1 user unknown" in str(caught.value)

    # One bad recipient aborts the whole message: nobody gets a partial send.
    with pytest.raises(RecipientRejected):
        await sender.send(make_email(2, to=["ok@prospect.test", "ghost@prospect.test"]))
    assert server.messages == []

    await sender.send(make_email(3))
    assert len(server.messages) == 1
    assert server.connections == 1


@pytest.mark.parametrize("stage", ["DATA", "MAIL"])
async def test_other_5xx_is_permanent_but_not_a_recipient_rejection(
    sender: SmtpSender, server: SmtpTestServer, stage: str
) -> None:
    server.fail_next(code=554, text="5.7.1 content rejected", stage=stage)  # type: ignore[arg-type]
    with pytest.raises(PermanentProviderError) as caught:
        await sender.send(make_email(1))
    assert not isinstance(caught.value, RecipientRejected)
    assert caught.value.code == "554"


def _dkim_key() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(spki)


async def test_dkim_signature_verifies_on_what_the_server_received(
    server: SmtpTestServer,
) -> None:
    pem, txt = _dkim_key()
    config = server.config(dkim_selector="lf1", dkim_domain="sender.test", dkim_private_key=pem)
    async with SmtpSender(smtp_settings(config)) as sender:
        await sender.send(make_email(1))
    (received,) = server.messages

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"lf1._domainkey.sender.test."
        return txt

    assert dkim.verify(received.data, dnsfunc=dns)
    signature = re.sub(r"\s+", "", str(received.message["DKIM-Signature"]))
    signed = set(re.search(r"h=([^;]+)", signature).group(1).split(":"))  # type: ignore[union-attr]
    assert {"from", "to", "subject", "date", "message-id"} <= signed
    assert {"list-unsubscribe", "list-unsubscribe-post"} <= signed
    assert "d=sender.test" in signature
    tampered = received.data.replace(b"Quick question #1", b"Quick question #9")
    assert not dkim.verify(tampered, dnsfunc=dns)


async def test_reconnects_after_an_idle_drop(server: SmtpTestServer, sender: SmtpSender) -> None:
    await sender.send(make_email(1))
    server.drop_connections()
    await asyncio.sleep(0.05)
    await sender.send(make_email(2))
    assert server.connections == 2
    assert len(server.messages) == 2


async def test_reconnects_once_when_the_drop_shows_up_mid_command(
    server: SmtpTestServer, sender: SmtpSender
) -> None:
    server.drop_next(stage="MAIL")
    await sender.send(make_email(1))
    assert server.connections == 2
    assert len(server.messages) == 1

    server.drop_next(stage="MAIL")
    server.drop_next(stage="MAIL")
    with pytest.raises(TemporaryProviderError) as caught:
        await sender.send(make_email(2))
    assert caught.value.code == "disconnected"
    assert len(server.messages) == 1


async def test_drop_during_data_is_not_retried_blindly(
    server: SmtpTestServer, sender: SmtpSender
) -> None:
    server.drop_next(stage="DATA")
    with pytest.raises(TemporaryProviderError) as caught:
        await sender.send(make_email(1))
    assert caught.value.code == "unconfirmed"
    assert server.connections == 1

    await sender.send(make_email(2))
    assert server.connections == 2


async def test_connection_refused_is_temporary() -> None:
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=free_port(), tls_mode="none"))
    with pytest.raises(TemporaryProviderError) as caught:
        await sender.send(make_email(1))
    assert caught.value.code == "unreachable"


async def test_a_silent_server_times_out() -> None:
    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    silent = await asyncio.start_server(say_nothing, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=port, timeout=0.3))
        with pytest.raises(TemporaryProviderError) as caught:
            await sender.send(make_email(1))
        assert caught.value.code == "timeout"
        with pytest.raises(PermanentProviderError, match="timed out"):
            await check_smtp_login({"host": "127.0.0.1", "port": port, "timeout": 0.3})
    finally:
        silent.close()
        await silent.wait_closed()


async def test_login_check(server: SmtpTestServer) -> None:
    await check_smtp_login(server.config())
    assert server.auth_attempts == [("mailer", True)]

    with pytest.raises(PermanentProviderError, match="wrong username or password") as caught:
        await check_smtp_login(server.config(password="nope"))
    assert caught.value.code == "auth_failed"

    with pytest.raises(PermanentProviderError, match="unreachable") as caught:
        await check_smtp_login(server.config(port=free_port()))
    assert caught.value.code == "unreachable"

    # This server offers no STARTTLS: requiring it must fail, not silently send in clear.
    with pytest.raises(PermanentProviderError, match="STARTTLS") as caught:
        await check_smtp_login(server.config(tls_mode="starttls"))
    assert caught.value.code == "unsupported"


async def test_sending_with_bad_credentials_is_permanent(server: SmtpTestServer) -> None:
    sender = build_email_sender("smtp", server.config(password="nope"))
    with pytest.raises(PermanentProviderError) as caught:
        await sender.send(make_email(1))
    assert caught.value.code == "auth_failed"
    assert server.messages == []


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"host": "smtp.test", "tls_mode": "ssl"},
        {"host": "smtp.test", "username": "u"},
        {"host": "smtp.test", "port": "x"},
        {"host": "smtp.test", "dkim_selector": "s1", "dkim_domain": "d.test"},
        {
            "host": "smtp.test",
            "dkim_selector": "s1",
            "dkim_domain": "d.test",
            "dkim_private_key": NOT_A_KEY,
        },
    ],
)
def test_incomplete_config_is_not_configured(config: dict[str, object]) -> None:
    with pytest.raises(ProviderNotConfiguredError):
        build_email_sender("smtp", config)


def test_default_ports_follow_the_tls_mode() -> None:
    assert smtp_settings({"host": "h"}).port == 587
    assert smtp_settings({"host": "h", "tls_mode": "tls"}).port == 465
    assert smtp_settings({"host": "h", "tls_mode": "none"}).port == 25
    assert smtp_settings({"host": "h", "port": "2525"}).port == 2525


@pytest.mark.parametrize(
    ("kind", "config"),
    [("mailgun", {"api_key": "k"}), ("resend", {"api_key": "k", "rate_per_second": 0})],
)
def test_unknown_kind_or_bad_rate_is_not_configured(kind: str, config: dict[str, object]) -> None:
    with pytest.raises(ProviderNotConfiguredError) as caught:
        build_email_sender(kind, config)
    assert caught.value.code == "provider_not_configured"
