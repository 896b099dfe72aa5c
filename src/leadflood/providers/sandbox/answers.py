"""What a simulated recipient sends back, as raw RFC 5322 mail: the same answer for the same
message, so a demo or a test can rely on it (and a second run builds byte-identical mail, under
the same Message-ID, that the inbox stores once).

`answer_kind(email)` follows `simulated_outcome`: a "bounce" recipient's server returns a DSN
(multipart/report, 5.1.1 user unknown); a "reply" recipient answers with one of `REPLY_KINDS`,
chosen by a hash of the address; "deliver" and "silent" recipients never answer. The wording
of each answer is picked from a few real-looking variants by a hash of our Message-ID.

Pure: no database, no network, no clock (the caller says when the answer arrives)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from leadflood.providers.sandbox.names import stable_int
from leadflood.providers.sandbox.recipients import simulated_outcome
from leadflood.providers.sandbox.source import default_universe

REPLY_KINDS = (
    "interested",
    "not_interested",
    "question",
    "referral",
    "unsubscribe",
    "out_of_office",
)


@dataclass(frozen=True)
class Sent:
    """Our message, as the recipient saw it."""

    message_id: str  # with its angle brackets
    to_address: str
    from_address: str
    subject: str
    body_text: str
    sent_at: datetime
    first_name: str | None = None
    last_name: str | None = None


def is_sandbox_recipient(email: str) -> bool:
    """An address of a person in the sandbox universe: the only people who answer (the sandbox
    is a closed universe and never speaks for anyone else)."""
    return default_universe().index_of_email(email) is not None


def answer_kind(email: str) -> str | None:
    """ "bounce", one of REPLY_KINDS, or None (this recipient never answers)."""
    outcome = simulated_outcome(email)
    if outcome == "bounce":
        return "bounce"
    if outcome == "reply":
        address = email.strip().lower()
        return REPLY_KINDS[stable_int("sandbox-answer", address) % len(REPLY_KINDS)]
    return None


def answer_message_id(sent: Sent) -> str:
    """The answer's Message-ID: derived from ours, so the same answer is the same mail."""
    token = f"{stable_int('sandbox-answer-id', sent.message_id.strip()):016x}"
    return f"<sandbox.{token}@{_domain(sent.to_address)}>"


def return_date(sent: Sent) -> date:
    """An out-of-office recipient is back 3 to 6 days after our message."""
    return sent.sent_at.date() + timedelta(days=3 + stable_int("sandbox-ooo", sent.message_id) % 4)


def build_answer(sent: Sent, *, at: datetime) -> bytes | None:
    """The raw answer to `sent` arriving at `at`, or None when this recipient never answers."""
    kind = answer_kind(sent.to_address)
    return None if kind is None else build(sent, kind, at=at)


def build(sent: Sent, kind: str, *, at: datetime) -> bytes:
    """The answer of `kind` ("bounce" or one of REPLY_KINDS) to `sent`, whoever received it."""
    if kind == "bounce":
        return _dsn(sent, at)
    return _reply(sent, kind, at)


def _domain(address: str) -> str:
    return address.strip().lower().rpartition("@")[2] or "sandbox.invalid"


def _pick(sent: Sent, choices: tuple[str, ...]) -> str:
    return choices[stable_int("sandbox-wording", sent.message_id) % len(choices)]


def _colleague(sent: Sent) -> str:
    """Someone else at the recipient's company, from the universe when it has one."""
    universe = default_universe()
    address = sent.to_address.strip().lower()
    domain = _domain(address)
    company = universe.company_by_domain(domain)
    if company is not None:
        members = universe.members(company.index)
        start = stable_int("sandbox-colleague", address) % max(len(members), 1)
        for offset in range(len(members)):
            person = universe.person(members[(start + offset) % len(members)])
            if person.email and person.email.lower() != address:
                return person.email.lower()
    return f"operations@{domain}"


def _reply_text(sent: Sent, kind: str) -> str:
    hello = _pick(sent, ("Hi", "Hello", "Hey", "Good morning"))
    sign = sent.first_name or "Best"
    if kind == "interested":
        text = _pick(sent, (
            "This sounds interesting. Could we set up a call next Tuesday or Wednesday "
            "afternoon? Send me a couple of times that work for you.",
            "Happy to chat. We have been looking at exactly this for next quarter. "
            "Let's find a time this week.",
            "Timing is good on our side. Tell me more: can you send pricing and a short deck "
            "before we book a call?",
            "Yes, worth a call. My calendar is fairly open on Thursday morning.",
        ))  # fmt: skip
    elif kind == "not_interested":
        text = _pick(sent, (
            "Appreciate the note, but we're not interested at the moment.",
            "We already use another tool for this and are happy with it, so no thanks.",
            "Honestly not a fit for us right now.",
            "We're all set on this front. Good luck with it.",
        ))  # fmt: skip
    elif kind == "question":
        text = _pick(sent, (
            "How does this compare with what we do today in our CRM? And what does it cost "
            "for a team of ten?",
            "Before anything else: do you integrate with HubSpot?",
            "Which companies of our size use it already? Any references in our industry?",
            "What would the onboarding look like on our side, and how long does it take?",
        ))  # fmt: skip
    elif kind == "referral":
        other = _colleague(sent)
        text = _pick(sent, (
            f"I'm not the right person for this. Please reach out to {other}, who handles "
            "this for us.",
            f"Thanks for the note. {other} is responsible for this area, you should email "
            "them directly.",
            f"Looping in {other}, who owns our tooling decisions.",
        ))  # fmt: skip
    else:  # unsubscribe
        text = _pick(sent, (
            "Please remove me from your mailing list.",
            "Unsubscribe.",
            "Please take me off your list and do not contact me again.",
            "Stop emailing me, thank you.",
        ))  # fmt: skip
    return f"{hello},\n\n{text}\n\n{sign}"


def _ooo_text(sent: Sent) -> str:
    back = return_date(sent)
    when = f"{back.strftime('%A')}, {back.day} {back.strftime('%B %Y')}"
    other = _colleague(sent)
    return _pick(sent, (
        f"Thank you for your email. I am out of the office with limited access to email and "
        f"will be back on {when}. For anything urgent, please contact {other}.",
        f"I'm currently away on annual leave and will return on {when}. I will reply to your "
        "message when I'm back.",
        f"Hello, I am out of the office until {when} and will answer when I return.",
    ))  # fmt: skip


def _quoted(sent: Sent) -> str:
    lines = "\n".join(f"> {line}" if line else ">" for line in sent.body_text.splitlines())
    stamp = sent.sent_at.strftime("%a, %d %b %Y at %H:%M")
    return f"\n\nOn {stamp}, {sent.from_address} wrote:\n{lines}\n"


def _reply(sent: Sent, kind: str, at: datetime) -> bytes:
    mail = EmailMessage()
    name = " ".join(p for p in (sent.first_name, sent.last_name) if p)
    mail["From"] = formataddr((name, sent.to_address)) if name else sent.to_address
    mail["To"] = sent.from_address
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = answer_message_id(sent)
    mail["In-Reply-To"] = sent.message_id
    mail["References"] = sent.message_id
    if kind == "out_of_office":
        mail["Subject"] = f"Automatic reply: {sent.subject}"
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Autoreply"] = "yes"
        mail.set_content(_ooo_text(sent))
    else:
        mail["Subject"] = f"Re: {sent.subject}"
        mail.set_content(_reply_text(sent, kind) + _quoted(sent))
    return mail.as_bytes()


def _dsn(sent: Sent, at: datetime) -> bytes:
    # Built as text: the stdlib generator cannot write a message/delivery-status part it did
    # not parse itself.
    domain = _domain(sent.to_address)
    mta = f"mx1.{domain}"
    boundary = f"{stable_int('sandbox-boundary', sent.message_id):016x}/{mta}"
    reason = (
        f"550 5.1.1 <{sent.to_address}>: Recipient address rejected: User unknown in virtual "
        "mailbox table"
    )
    lines = [
        f"From: {formataddr(('Mail Delivery System', f'MAILER-DAEMON@{mta}'))}",
        f"To: {sent.from_address}",
        "Subject: Undelivered Mail Returned to Sender",
        f"Date: {format_datetime(at)}",
        f"Message-ID: {answer_message_id(sent)}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        "This is a MIME-encapsulated message.",
        "",
        f"--{boundary}",
        "Content-Description: Notification",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        f"This is the mail system at host {mta}.",
        "",
        "I'm sorry to have to inform you that your message could not",
        "be delivered to one or more recipients. It's attached below.",
        "",
        f"<{sent.to_address}>: host {mta} said: {reason}",
        "",
        f"--{boundary}",
        "Content-Description: Delivery report",
        "Content-Type: message/delivery-status",
        "",
        f"Reporting-MTA: dns; {mta}",
        f"Arrival-Date: {format_datetime(sent.sent_at)}",
        "",
        f"Final-Recipient: rfc822; {sent.to_address}",
        f"Original-Recipient: rfc822; {sent.to_address}",
        "Action: failed",
        "Status: 5.1.1",
        f"Remote-MTA: dns; {mta}",
        f"Diagnostic-Code: smtp; {reason}",
        "",
        f"--{boundary}",
        "Content-Description: Undelivered Message Headers",
        "Content-Type: text/rfc822-headers",
        "",
        f"From: {sent.from_address}",
        f"To: {sent.to_address}",
        f"Subject: {sent.subject}",
        f"Message-ID: {sent.message_id}",
        f"Date: {format_datetime(sent.sent_at)}",
        "",
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")
