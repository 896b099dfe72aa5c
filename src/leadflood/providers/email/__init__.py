"""Email senders: SMTP (with DKIM) and the Resend, Postmark and SendGrid HTTP APIs."""

from __future__ import annotations

from typing import Any

import httpx

from leadflood.providers.base import EmailSender, ProviderNotConfiguredError
from leadflood.providers.email.mime import build_mime, dkim_sign
from leadflood.providers.email.postmark import PostmarkSender
from leadflood.providers.email.resend import ResendSender
from leadflood.providers.email.sendgrid import SendGridSender
from leadflood.providers.email.smtp import (
    DkimKey,
    SmtpSender,
    SmtpSettings,
    check_smtp_login,
    smtp_settings,
)

__all__ = [
    "EMAIL_SENDER_KINDS",
    "DkimKey",
    "PostmarkSender",
    "ResendSender",
    "SendGridSender",
    "SmtpSender",
    "SmtpSettings",
    "build_email_sender",
    "build_mime",
    "check_smtp_login",
    "dkim_sign",
    "smtp_settings",
]

EMAIL_SENDER_KINDS = ("smtp", "resend", "postmark", "sendgrid")


def _rate(config: dict[str, Any], kind: str, default: float) -> float:
    value = config.get("rate_per_second")
    if value is None:
        return default
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = 0.0
    if rate <= 0:
        raise ProviderNotConfiguredError(
            f"{kind}: rate_per_second must be a positive number",
            provider=kind,
            code="provider_not_configured",
        )
    return rate


def build_email_sender(
    kind: str, config: dict[str, Any], *, transport: httpx.AsyncBaseTransport | None = None
) -> EmailSender:
    """Build the sender for a mailbox. Config keys by kind:

    - smtp: host (required), port (default 25 / 587 / 465 by tls_mode), tls_mode
      ('none' | 'starttls' (default) | 'tls'), username, password (required with a username),
      dkim_selector + dkim_domain + dkim_private_key (PEM; all three or none), timeout (s, 30),
      validate_certs (True), local_hostname. `transport` is ignored.
    - resend: api_key (required), base_url, rate_per_second (default 2).
    - postmark: api_key (the server token, required), message_stream (default 'outbound'),
      base_url, rate_per_second (default 10).
    - sendgrid: api_key (required), base_url (default https://api.sendgrid.com/v3; EU subusers
      use https://api.eu.sendgrid.com/v3), rate_per_second (default 10).

    A missing required key raises ProviderNotConfiguredError.
    """
    if kind == "smtp":
        return SmtpSender(smtp_settings(config))
    if kind not in EMAIL_SENDER_KINDS:
        raise ProviderNotConfiguredError(
            f"unknown email provider {kind!r}", provider=kind, code="provider_not_configured"
        )
    api_key = config.get("api_key")
    if not api_key:
        raise ProviderNotConfiguredError(
            f"{kind} is not configured: api_key is required",
            provider=kind,
            code="provider_not_configured",
        )
    options: dict[str, Any] = {"transport": transport}
    if config.get("base_url"):
        options["base_url"] = str(config["base_url"])
    if kind == "resend":
        return ResendSender(str(api_key), rate_per_second=_rate(config, kind, 2.0), **options)
    if kind == "postmark":
        return PostmarkSender(
            str(api_key),
            message_stream=str(config.get("message_stream") or "outbound"),
            rate_per_second=_rate(config, kind, 10.0),
            **options,
        )
    return SendGridSender(str(api_key), rate_per_second=_rate(config, kind, 10.0), **options)
