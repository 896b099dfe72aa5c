"""Bounces: RFC 3464 delivery status notifications first (the `message/delivery-status` part
says who failed, how and why), then the plain-text reports of the MTAs that send none or
bury it (Postfix, Exim, qmail, Exchange / Microsoft 365, Gmail, Yahoo).

The type says what the failure means for the recipient: `hard` (the address does not exist),
`soft` (it exists but could not take the message now: full, temporary failures given up on),
`block` (a policy refused *us*: spam filters, block lists, authentication, our sender address,
our message's size or content). A block says nothing about the prospect, so it must never
suppress them. A `delayed` report is only a warning: the server is still trying."""

from __future__ import annotations

import re
from dataclasses import dataclass

from leadflood.inbox.rules.message import ADDRESS, MESSAGE_ID, Message
from leadflood.inbox.rules.result import BounceType, Classification

ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
SMTP_REPLY = re.compile(r"(?<![\d.])([45]\d\d)(?:[ -]#?([245]\.\d{1,3}\.\d{1,3})(?![\d.]))?[ -]")

DAEMONS = re.compile(
    r"^(?:mailer-daemon|mail-daemon|mailerdaemon|postmaster|mail\.delivery\.system|"
    r"microsoftexchange[0-9a-f]*)@",
    re.IGNORECASE,
)
DAEMON_NAMES = re.compile(r"mail delivery (?:system|subsystem)|mailer.daemon", re.IGNORECASE)
BOUNCE_SUBJECTS = re.compile(
    r"^\s*(?:undeliver(?:ed|able)|mail delivery failed|failure notice|delivery status notification|"
    r"returned mail|delivery failure|delivery (?:has )?failed|undelivered mail|"
    r"mail (?:could not be|not) delivered|message not delivered|non remis|unzustellbar|"
    r"nicht zustellbar|no se puede entregar|onbestelbaar|não entregue|delivery delayed|"
    r"delayed mail|warning: message .* delayed|delivery notification)",
    re.IGNORECASE,
)
# Where the notification ends and the copy of the returned message begins.
COPY_STARTS = re.compile(
    r"^\s*(?:-+ ?This is a copy of the message|-+ ?Below this line is a copy of the message|"
    r"-+ ?Original message ?-+|Original message headers:|-+ ?Original Message ?-+|"
    r"-+ ?The header of the original message is following|Received: from )",
    re.IGNORECASE | re.MULTILINE,
)

# What an MTA's text says about a recipient, in the order the patterns are tried.
RECIPIENT_PATTERNS = (
    ("Exchange", re.compile(
        r"(?:Delivery has failed to these recipients or (?:groups|distribution lists)|"
        r"Delivery is delayed to these recipients or (?:groups|distribution lists)|"
        r"Your message to)\s*:?\s*(?:[^\n<]*<mailto:)?(?P<rcpt>" + ADDRESS.pattern + ")",
        re.IGNORECASE,
    )),
    ("Gmail", re.compile(
        r"(?:Delivery to the following recipients? (?:failed permanently|has been delayed)"
        r"|wasn't delivered to|There was a temporary problem delivering "
        r"your message to)\s*:?\s*(?P<rcpt>" + ADDRESS.pattern + ")",
        re.IGNORECASE,
    )),
    ("Exim", re.compile(
        r"(?:following address\(es\) failed|message has not yet been delivered (?:is|are))"
        r"\s*:?\s*\n\s*\n?\s*<?(?P<rcpt>" + ADDRESS.pattern + ")>?",
        re.IGNORECASE,
    )),
    ("sendmail", re.compile(
        r"-+ ?The following addresses had (?:permanent fatal|transient non-fatal) errors ?-+\s*"
        r"\n\s*<?(?P<rcpt>" + ADDRESS.pattern + ")>?",
        re.IGNORECASE,
    )),
    # Postfix's text part, qmail and Yahoo: "<address>:" then the reason on the lines below.
    ("qmail/Postfix/Yahoo", re.compile(
        r"^\s*<(?P<rcpt>" + ADDRESS.pattern + r")>(?:\s*\(expanded from <[^>]+>\))?\s*:",
        re.IGNORECASE | re.MULTILINE,
    )),
)  # fmt: skip
DIAGNOSTIC_PATTERNS = (
    re.compile(r"Remote Server returned '(?P<diag>[^']+)'", re.IGNORECASE),
    re.compile(r"Reported error:\s*(?P<diag>[^\n]+)", re.IGNORECASE),
    re.compile(r"#(?P<diag>\d{3}[ -]\d\.\d{1,3}\.\d{1,3}[^#\n]*)#*", re.IGNORECASE),
    re.compile(
        r"The (?:error that the other server returned was|response (?:from the remote server )?"
        r"was):\s*(?P<diag>[^\n]+(?:\n(?!\s*\n)[^\n]+)*)",
        re.IGNORECASE,
    ),
    re.compile(r"Remote host said:\s*(?P<diag>[^\n]+(?:\n(?!\s*\n)[^\n]+)*)", re.IGNORECASE),
    # Exim puts the reply on the line under "SMTP error from remote mail server after …:".
    re.compile(r"SMTP error from remote [^\n]*:[ \t]*\n\s*(?P<diag>[^\n]+)", re.IGNORECASE),
    re.compile(r"host [^\n]*? said:\s*(?P<diag>[^\n]+(?:\n(?!\s*\n)[^\n]+)*)", re.IGNORECASE),
)

DELAY_WORDS = re.compile(
    r"has not yet been delivered|has been delayed|delivery (?:is|has been) delayed|"
    r"delay(?:ed)? (?:for|to these)|will (?:continue to )?(?:retry|try)|still (?:trying|retrying)|"
    r"delivery incomplete|temporary problem delivering|this is a warning|no action is required|"
    r"hasn't been delivered yet",
    re.IGNORECASE,
)
PERMANENT_WORDS = re.compile(
    r"permanent(?:ly)? (?:error|failure|fatal)|failed permanently|could not be delivered|"
    r"couldn't be delivered|delivery has failed|i've given up|"
    r"not going to try again|wasn't delivered|was not delivered|"
    r"message not delivered|address not found|returning message to sender|"
    r"unable to deliver|undeliverable|following address\(es\) failed",
    re.IGNORECASE,
)
SUBJECT_DELAY = re.compile(r"\(delay\)|delayed|verzögert|retardé|retrasad|vertraagd|atrasad", re.I)

MAILBOX_FULL = re.compile(
    r"mailbox (?:is )?full|over ?quota|quota exceeded|exceeded (?:the |their |his |her )?"
    r"(?:storage|quota)|insufficient (?:system )?storage|out of storage|mailbox size limit|"
    r"inbox is full|postfach (?:ist )?voll",
    re.IGNORECASE,
)
BLOCK_WORDS = re.compile(
    r"spam|block(?:ed|list|ing)|black ?list|listed (?:at|in|on|by)|spamhaus|spamcop|barracuda|"
    r"reputation|policy|banned|unsolicited|dmarc|\bspf\b|dkim|not authori[sz]ed|"
    r"relay(?:ing)? (?:access )?denied|not permitted to relay|\[TSS\d+\]|\[BL\d+\]|"
    r"too many (?:connections|messages)|rate limit|traffic not accepted|not accepted from",
    re.IGNORECASE,
)
USER_UNKNOWN = re.compile(
    r"user(?:name)? (?:unknown|not found|does not exist)|unknown (?:user|recipient|mailbox)|"
    r"no such (?:user|mailbox|recipient|address|person)|recipient (?:not found|unknown|rejected)|"
    r"address (?:not found|rejected|couldn't be found|unknown)|"
    r"does not exist|doesn't exist|not exist|no mailbox|mailbox (?:not found|"
    r"unavailable|does not exist)|invalid (?:recipient|mailbox|address)|unrouteable address|"
    r"RecipNotFound|RecipientNotFound|doesn't have an? [\w.-]+ account|"
    r"not a valid (?:user|mailbox)|account (?:that you tried to reach )?does not exist",
    re.IGNORECASE,
)
DISABLED = re.compile(
    r"disabled|deactivated|inactive|suspended|account (?:has been )?(?:closed|locked|removed)",
    re.IGNORECASE,
)
BAD_DOMAIN = re.compile(
    r"host (?:or domain name )?not found|domain (?:not found|does not exist|unknown)|no mx|"
    r"no such domain|name service error|unrouteable mail domain|dns error|domain name not found|"
    r"unresolvable|nxdomain",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Failure:
    recipient: str | None
    status: str | None
    diagnostic: str | None
    delayed: bool
    evidence: tuple[str, ...]


def detect(message: Message) -> Classification | None:
    found = _from_dsn(message)
    if found is None:
        signals = _ndr_signals(message)
        if not signals:
            return None
        found = _from_text(message, signals)
    if isinstance(found, Classification):
        return found
    original = message.returned_message_id or _message_id_in_copy(message.text)
    evidence = list(found.evidence)
    if original:
        evidence.append(f"our message {original} found in the returned copy")
    if found.delayed:
        return Classification(
            kind="bounce_warning",
            label="delayed",
            recipient=found.recipient,
            status=found.status,
            diagnostic=found.diagnostic,
            original_message_id=original,
            evidence=(*evidence, "delivery still being retried: a warning, not a bounce"),
        )
    bounce_type, label, why = bounce_type_of(found.status, found.diagnostic, message.text)
    return Classification(
        kind="bounce",
        label=label,
        bounce_type=bounce_type,
        recipient=found.recipient,
        status=found.status,
        diagnostic=found.diagnostic,
        original_message_id=original,
        evidence=(*evidence, why),
    )


def bounce_type_of(
    status: str | None, diagnostic: str | None, text: str = ""
) -> tuple[BounceType, str, str]:
    """The bounce type and label for an enhanced status code and the server's words."""
    words = diagnostic or ""
    if status:
        klass, subject, detail = (int(part) for part in status.split("."))
        code = f"{subject}.{detail}"
        if subject == 7 or code in ("1.7", "1.8"):
            return "block", "policy", f"status {status}: a policy refused the sender"
        if code in ("2.3", "3.4") or subject == 6:
            return "block", "message_rejected", f"status {status}: the message was refused"
        if code == "2.2":
            return "soft", "mailbox_full", f"status {status}: mailbox full"
        if klass == 4:
            label = "expired" if code == "4.7" else "temporary"
            return "soft", label, f"status {status}: a temporary failure that was given up on"
        if code == "4.7":
            return "soft", "expired", f"status {status}: delivery time expired"
        if code != "0.0":
            by_code = _by_code(status, subject, code, words)
            if by_code:
                return by_code
    # A generic or missing code: the server's words decide, the code's class settles the rest.
    for pattern, bounce_type, label in (
        (MAILBOX_FULL, "soft", "mailbox_full"),
        (BLOCK_WORDS, "block", "policy"),
        (USER_UNKNOWN, "hard", "user_unknown"),
        (DISABLED, "hard", "mailbox_disabled"),
        (BAD_DOMAIN, "hard", "bad_domain"),
    ):
        match = pattern.search(words)
        if match:
            said = " ".join(match.group(0).split())
            return bounce_type, label, f'diagnostic says "{said}"'  # type: ignore[return-value]
    klass_text = status[0] if status else _reply_class(words)
    if klass_text == "4":
        return "soft", "temporary", "a temporary failure (4xx) that was given up on"
    if klass_text == "5" or PERMANENT_WORDS.search(text):
        return "hard", "other", "a permanent failure with no more specific reason"
    return "soft", "other", "a failure of unknown permanence, taken as soft"


def _by_code(
    status: str, subject: int, code: str, words: str
) -> tuple[BounceType, str, str] | None:
    if subject == 1:
        label = "bad_domain" if code == "1.2" else "user_unknown"
        return "hard", label, f"status {status}: the address does not exist"
    if code == "2.1":
        return "hard", "mailbox_disabled", f"status {status}: mailbox disabled"
    if subject == 3:
        return "soft", "temporary", f"status {status}: the receiving system failed"
    if code == "4.1":  # Microsoft 365's directory check: the recipient is not in it
        return "hard", "user_unknown", f"status {status}: recipient rejected by the directory"
    if subject == 4:
        return "hard", "bad_domain", f"status {status}: no route to the recipient's domain"
    if subject == 5 and BLOCK_WORDS.search(words):
        return None
    if subject == 5:
        label = "user_unknown" if USER_UNKNOWN.search(words) else "other"
        return "hard", label, f"status {status}: the server refused the recipient"
    return None


def _reply_class(words: str) -> str | None:
    match = SMTP_REPLY.search(words)
    return match.group(1)[0] if match else None


# ---- RFC 3464 ----------------------------------------------------------------------------


def _from_dsn(message: Message) -> _Failure | Classification | None:
    failed: _Failure | None = None
    delayed: _Failure | None = None
    delivered: str | None = None
    for report in message.reports:
        if report.content_type != "message/delivery-status":
            continue
        for block in report.blocks:
            fields = {name.lower(): value for name, value in block}
            if not ({"action", "final-recipient", "original-recipient"} & fields.keys()):
                continue
            status = _enhanced(fields.get("status", ""))
            diagnostic = _strip_type(fields.get("diagnostic-code", "")) or None
            specific = _enhanced(diagnostic or "")
            if (
                specific
                and (not status or status.endswith(".0.0"))
                and specific[0] == (status or specific)[0]
            ):
                status = specific
            action = fields.get("action", "").strip().lower()
            if not action:
                action = {"5": "failed", "4": "delayed"}.get((status or " ")[0], "")
            recipient = _address(fields.get("original-recipient", "")) or _address(
                fields.get("final-recipient", "")
            )
            said = f"Action: {action or '-'}" + (f", Status: {status}" if status else "")
            item = _Failure(
                recipient=recipient,
                status=status,
                diagnostic=diagnostic,
                delayed=action == "delayed",
                evidence=(f"delivery status report (RFC 3464): {said}",),
            )
            if action == "failed" and failed is None:
                failed = item
            elif action == "delayed" and delayed is None:
                delayed = item
            elif action in ("delivered", "relayed", "expanded"):
                delivered = action
    found = failed or delayed
    if found is not None and found.recipient is None:
        header = _address(message.header("X-Failed-Recipients"))
        found = _Failure(header, found.status, found.diagnostic, found.delayed, found.evidence)
    if found is not None:
        return found
    if delivered:
        return Classification(
            kind="auto_reply",
            label="auto_reply",
            evidence=(f"delivery status report (RFC 3464) with Action: {delivered}: no failure",),
        )
    return None


def _enhanced(value: str) -> str | None:
    match = ENHANCED.search(value)
    return ".".join(match.groups()) if match else None


def _strip_type(value: str) -> str:
    """ "smtp; 550 5.1.1 ..." -> "550 5.1.1 ..." """
    value = " ".join(value.split())
    kind, sep, rest = value.partition(";")
    return rest.strip() if sep and len(kind) < 20 and " " not in kind.strip() else value


def _address(value: str) -> str | None:
    match = ADDRESS.search(value)
    return match.group(0).lower() if match else None


# ---- plain-text NDRs ---------------------------------------------------------------------


def _ndr_signals(message: Message) -> list[str]:
    signals = []
    sender = message.sender
    if DAEMONS.search(sender) or DAEMON_NAMES.search(message.sender_name):
        signals.append(f"sender {sender or message.sender_name} is a mail delivery system")
    if message.header("X-Failed-Recipients"):
        signals.append("header X-Failed-Recipients")
    if any(name.lower() == "x-ms-exchange-message-is-ndr" for name, _ in message.headers):
        signals.append("header X-MS-Exchange-Message-Is-Ndr")
    if BOUNCE_SUBJECTS.search(message.subject):
        signals.append(f'subject "{message.subject[:60]}"')
    if message.report_type == "delivery-status":
        signals.append("multipart/report; report-type=delivery-status")
    return signals


def _notification(text: str) -> str:
    cut = COPY_STARTS.search(text)
    return text[: cut.start()] if cut else text


def _from_text(message: Message, signals: list[str]) -> _Failure:
    notice = _notification(message.text)
    evidence = [f"non-standard delivery report: {signals[0]}"]
    recipient = None
    block_start = 0
    failed_header = message.header("X-Failed-Recipients")
    for mta, pattern in RECIPIENT_PATTERNS:
        match = pattern.search(notice)
        if match:
            recipient = match.group("rcpt").lower()
            block_start = match.end()
            evidence.append(f"{mta} wording names the recipient {recipient}")
            break
    if failed_header:
        recipient = _address(failed_header) or recipient
    diagnostic = _diagnostic(notice, block_start)
    status = _enhanced(diagnostic or "") or _qmail_code(notice)
    if diagnostic:
        evidence.append(f'diagnostic "{diagnostic[:80]}"')
    delayed = bool(
        (DELAY_WORDS.search(notice) or SUBJECT_DELAY.search(message.subject))
        and not PERMANENT_WORDS.search(notice)
    )
    return _Failure(recipient, status, diagnostic, delayed, tuple(evidence))


def _diagnostic(notice: str, block_start: int) -> str | None:
    for pattern in DIAGNOSTIC_PATTERNS:
        match = pattern.search(notice)
        if match:
            return _one_line(match.group("diag"))
    # The reason under the recipient (qmail, Yahoo, Postfix, Exim): the lines up to a blank one.
    block = notice[block_start:].lstrip(" :\t")
    block = re.split(r"\n\s*\n", block.lstrip("\n"), maxsplit=1)[0]
    reply = SMTP_REPLY.search(block)
    if reply:
        return _one_line(block[reply.start() :])
    return _one_line(block) or None


def _one_line(text: str) -> str:
    return " ".join(text.split()).strip(" '\"")[:300]


def _qmail_code(text: str) -> str | None:
    match = re.search(r"\(#([245]\.\d{1,3}\.\d{1,3})\)", text)
    return match.group(1) if match else None


def _message_id_in_copy(text: str) -> str | None:
    cut = COPY_STARTS.search(text)
    if not cut:
        return None
    match = re.search(r"^\s*Message-I[Dd]:\s*(.+)$", text[cut.start() :], re.MULTILINE)
    if not match:
        return None
    found = MESSAGE_ID.search(match.group(1))
    return found.group(0) if found else None
