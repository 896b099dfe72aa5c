"""SMTP sending over one reused connection per mailbox, with DKIM when configured."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self, cast

import aiosmtplib
from dkim import DKIMException
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

from leadflood.providers.base import (
    OutboundEmail,
    PermanentProviderError,
    ProviderError,
    ProviderNotConfiguredError,
    RecipientRejected,
    SendResult,
    TemporaryProviderError,
)
from leadflood.providers.email.mime import dkim_sign, render_bytes

PROVIDER = "smtp"
TlsMode = Literal["none", "starttls", "tls"]
DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class DkimKey:
    selector: str
    domain: str
    private_key_pem: bytes


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    tls_mode: TlsMode = "starttls"
    username: str | None = None
    password: str | None = None
    dkim: DkimKey | None = None
    timeout: float = DEFAULT_TIMEOUT
    validate_certs: bool = True
    local_hostname: str | None = None


def _missing(what: str) -> ProviderNotConfiguredError:
    return ProviderNotConfiguredError(
        f"SMTP is not configured: {what}", provider=PROVIDER, code="provider_not_configured"
    )


def smtp_settings(config: Mapping[str, Any]) -> SmtpSettings:
    """Settings from a mailbox's config; see `build_email_sender` for the keys."""
    host = config.get("host")
    if not host:
        raise _missing("host is required")
    tls_mode = config.get("tls_mode") or "starttls"
    if tls_mode not in DEFAULT_PORTS:
        raise _missing(f"tls_mode must be one of none, starttls, tls (got {tls_mode!r})")
    try:
        port = int(config.get("port") or DEFAULT_PORTS[tls_mode])
        timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
    except (TypeError, ValueError) as exc:
        raise _missing(f"port and timeout must be numbers ({exc})") from exc
    username = config.get("username") or None
    password = config.get("password")
    if username is not None and password is None:
        raise _missing("a password is required with a username")
    selector, domain, key = (
        config.get(k) for k in ("dkim_selector", "dkim_domain", "dkim_private_key")
    )
    dkim: DkimKey | None = None
    if selector and domain and key:
        pem = key.encode("ascii") if isinstance(key, str) else bytes(key)
        try:
            parse_pem_private_key(pem.replace(b"\r\n", b"\n"))
        except UnparsableKeyError as exc:
            raise _missing(f"dkim_private_key is not an RSA private key in PEM ({exc})") from exc
        dkim = DkimKey(selector=str(selector), domain=str(domain), private_key_pem=pem)
    elif selector or domain or key:
        raise _missing("DKIM needs dkim_selector, dkim_domain and dkim_private_key together")
    return SmtpSettings(
        host=str(host),
        port=port,
        tls_mode=cast(TlsMode, tls_mode),
        username=None if username is None else str(username),
        password=None if password is None else str(password),
        dkim=dkim,
        timeout=timeout,
        validate_certs=bool(config.get("validate_certs", True)),
        local_hostname=config.get("local_hostname") or None,
    )


def _response_error(exc: aiosmtplib.SMTPResponseException, *, stage: str) -> ProviderError:
    code = str(exc.code)
    text = f"SMTP {stage} refused: {exc.code} {exc.message}"
    if exc.code < 500:
        return TemporaryProviderError(text, provider=PROVIDER, code=code)
    if stage == "RCPT":
        return RecipientRejected(text, provider=PROVIDER, code=code)
    return PermanentProviderError(text, provider=PROVIDER, code=code)


def _connect_error(exc: Exception, settings: SmtpSettings) -> ProviderError:
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        if 400 <= exc.code < 500:
            return TemporaryProviderError(
                f"SMTP login to {where} failed for now: {exc.code} {exc.message}",
                provider=PROVIDER,
                code=str(exc.code),
            )
        return PermanentProviderError(
            f"SMTP login to {where} rejected (wrong username or password?): "
            f"{exc.code} {exc.message}",
            provider=PROVIDER,
            code="auth_failed",
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _response_error(exc, stage="connection")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentProviderError(
            f"TLS certificate of {where} is not valid: {exc.verify_message}",
            provider=PROVIDER,
            code="tls_failed",
        )
    if isinstance(exc, TimeoutError):
        return TemporaryProviderError(
            f"SMTP server {where} timed out", provider=PROVIDER, code="timeout"
        )
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError | OSError):
        return TemporaryProviderError(
            f"SMTP server {where} unreachable: {exc}", provider=PROVIDER, code="unreachable"
        )
    # aiosmtplib raises bare SMTPException for missing STARTTLS / AUTH support.
    return PermanentProviderError(
        f"SMTP server {where}: {exc}", provider=PROVIDER, code="unsupported"
    )


async def _open(settings: SmtpSettings) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        use_tls=settings.tls_mode == "tls",
        start_tls=settings.tls_mode == "starttls",
        validate_certs=settings.validate_certs,
        timeout=settings.timeout,
        local_hostname=settings.local_hostname,
    )
    try:
        await client.connect()
        if settings.username is not None:
            await client.login(settings.username, settings.password or "")
    except (aiosmtplib.SMTPException, OSError) as exc:
        client.close()
        raise _connect_error(exc, settings) from exc
    return client


async def check_smtp_login(config: Mapping[str, Any]) -> None:
    """Connect (with TLS as configured) and log in when a username is set. Every failure is a
    PermanentProviderError whose message says what to fix."""
    settings = smtp_settings(config)
    try:
        client = await _open(settings)
    except TemporaryProviderError as exc:
        raise PermanentProviderError(str(exc), provider=PROVIDER, code=exc.code) from exc
    try:
        await client.quit()
    except aiosmtplib.SMTPException:
        client.close()


class SmtpSender:
    """Sends over one connection, opened on first use and reopened once if the server dropped
    it. Sends are serialised: open one sender per parallel connection wanted."""

    name = PROVIDER

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        async with self._lock:
            await self._connected()

    async def close(self) -> None:
        async with self._lock:
            client, self._client = self._client, None
            if client is None or not client.is_connected:
                return
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()

    aclose = close

    async def send(self, email: OutboundEmail) -> SendResult:
        async with self._lock:
            result = await self._deliver(email, self.render(email), None)
        assert result is not None  # nothing to wait for, so never abandoned
        return result

    async def send_rendered(
        self, email: OutboundEmail, data: bytes, *, ready: Awaitable[bool] | None = None
    ) -> SendResult | None:
        """Sends `data`, which `render(email)` built. `ready` is awaited between the envelope
        (MAIL, RCPT: nothing is delivered yet) and DATA, so the caller's own round trip (the
        message's start mark) overlaps the envelope's; False resets the transaction and
        returns None."""
        async with self._lock:
            return await self._deliver(email, data, ready)

    def render(self, email: OutboundEmail) -> bytes:
        """The exact bytes handed to DATA (DKIM-signed when configured)."""
        try:
            data = render_bytes(email)
        except (ValueError, TypeError) as exc:
            raise PermanentProviderError(
                f"message cannot be encoded: {exc}", provider=PROVIDER, code="invalid_message"
            ) from exc
        dkim = self.settings.dkim
        if dkim is None:
            return data
        try:
            return dkim_sign(
                data,
                selector=dkim.selector,
                domain=dkim.domain,
                private_key_pem=dkim.private_key_pem,
            )
        except DKIMException as exc:
            raise PermanentProviderError(
                f"DKIM signing failed: {exc}", provider=PROVIDER, code="dkim_failed"
            ) from exc

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        self._client = await _open(self.settings)
        return self._client

    async def _deliver(
        self, email: OutboundEmail, data: bytes, ready: Awaitable[bool] | None
    ) -> SendResult | None:
        client = await self._connected()
        try:
            await self._envelope(client, email)
        except aiosmtplib.SMTPServerDisconnected:
            # Nothing was accepted yet, so a fresh connection cannot cause a duplicate.
            self._client = None
            client = await self._connected()
            try:
                await self._envelope(client, email)
            except aiosmtplib.SMTPServerDisconnected as exc:
                self._client = None
                raise TemporaryProviderError(
                    f"SMTP server dropped the connection twice: {exc}",
                    provider=PROVIDER,
                    code="disconnected",
                ) from exc
        if ready is not None:
            try:
                go = await ready
            except BaseException:
                await self._reset(client)
                raise
            if not go:
                await self._reset(client)
                return None
        try:
            response = await client.data(data)
        except aiosmtplib.SMTPDataError as exc:
            await self._reset(client)
            raise _response_error(exc, stage="DATA") from exc
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
            self._client = None
            # The server may have queued the message before the link broke: the caller must
            # reconcile by Message-ID instead of blindly re-sending.
            raise TemporaryProviderError(
                f"SMTP connection lost during DATA: {exc}", provider=PROVIDER, code="unconfirmed"
            ) from exc
        return SendResult(
            provider=PROVIDER,
            provider_message_id=email.message_id,
            code=str(response.code),
            text=response.message,
        )

    async def _envelope(self, client: aiosmtplib.SMTP, email: OutboundEmail) -> None:
        """MAIL and RCPT for every recipient; one refused recipient aborts the whole send, so a
        message never reaches only part of its recipients."""
        stage = "MAIL"
        try:
            await client.mail(email.from_email)
            stage = "RCPT"
            for recipient in email.to:
                await client.rcpt(recipient)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(client)
            raise _response_error(exc, stage=stage) from exc
        except aiosmtplib.SMTPTimeoutError as exc:
            self._client = None
            raise TemporaryProviderError(
                f"SMTP {stage} timed out", provider=PROVIDER, code="timeout"
            ) from exc

    async def _reset(self, client: aiosmtplib.SMTP) -> None:
        if not client.is_connected:
            self._client = None
            return
        try:
            await client.rset()
        except aiosmtplib.SMTPException:
            client.close()
            self._client = None
