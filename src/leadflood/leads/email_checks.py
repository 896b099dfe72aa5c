"""Email verification that needs no provider: syntax, MX, role and disposable addresses, and the
rule that combines them (with a provider's verdict when one is configured) into one status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver
from email_validator import EmailNotValidError, validate_email

from leadflood.providers.base import VerificationResult

Status = Literal["valid", "risky", "invalid", "unknown"]
MxStatus = Literal["found", "no_mx", "unknown"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ROLE_LOCAL_PARTS = _words(
    """
    info sales support admin administrator contact contacts hello hi help helpdesk noreply
    donotreply office team marketing billing accounts accounting finance hr jobs careers
    recruiting recruitment press media pr webmaster postmaster hostmaster abuse security privacy
    legal compliance enquiries inquiries enquiry inquiry feedback service services
    customerservice customercare care orders bookings booking reservations reception mail email
    newsletter news it devops ops operations partners partnerships investors ir root sysadmin
    noc all everyone staff management general welcome hola bonjour kontakt contacto contato
    vertrieb verkauf buchhaltung bureau accueil mailerdaemon bounce bounces notifications alerts
    """
)

DISPOSABLE_DOMAINS = _words(
    """
    mailinator.com mailinator.net mailinator.org guerrillamail.com guerrillamail.net
    guerrillamail.org guerrillamail.biz guerrillamail.de guerrillamailblock.com sharklasers.com
    grr.la pokemail.net spam4.me 10minutemail.com 10minutemail.net 10minutemail.co.uk
    20minutemail.com yopmail.com yopmail.net yopmail.fr temp-mail.org temp-mail.io tempmail.com
    tempmail.net tempmailo.com tempail.com tempr.email throwawaymail.com trashmail.com
    trashmail.de trashmail.net trash-mail.com getnada.com nada.email dispostable.com maildrop.cc
    mailnesia.com mailcatch.com mintemail.com mohmal.com moakt.com emailondeck.com fakeinbox.com
    fakemail.net mytemp.email tempinbox.com spamgourmet.com spambox.us mailnull.com
    burnermail.io discard.email discardmail.com einrot.com getairmail.com harakirimail.com
    inboxkitten.com jetable.org mail-temp.com mailpoof.com mailsac.com mvrht.com owlymail.com
    emailfake.com crazymailing.com tmail.ws tmpmail.org tmpmail.net minuteinbox.com 33mail.com
    anonbox.net byom.de wegwerfmail.de wegwerfmail.net spamdecoy.net dropmail.me
    linshiyouxiang.net 1secmail.com 1secmail.net 1secmail.org
    """
)

FREE_MAIL_DOMAINS = _words(
    """
    gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de yahoo.es yahoo.it
    yahoo.co.jp ymail.com rocketmail.com hotmail.com hotmail.co.uk hotmail.fr hotmail.de
    hotmail.it hotmail.es outlook.com outlook.fr outlook.de live.com live.fr live.co.uk msn.com
    aol.com icloud.com me.com mac.com protonmail.com protonmail.ch proton.me pm.me gmx.com
    gmx.de gmx.net gmx.at gmx.ch gmx.fr web.de t-online.de freenet.de yandex.ru yandex.com
    mail.ru inbox.ru list.ru bk.ru rambler.ru qq.com 163.com 126.com sina.com yeah.net naver.com
    daum.net hanmail.net hey.com fastmail.com fastmail.fm tutanota.com tuta.io zoho.com
    zohomail.com orange.fr wanadoo.fr free.fr laposte.net sfr.fr libero.it virgilio.it alice.it
    seznam.cz wp.pl o2.pl onet.pl interia.pl rediffmail.com comcast.net verizon.net att.net
    sbcglobal.net bellsouth.net cox.net earthlink.net shaw.ca rogers.com sympatico.ca
    bigpond.com optusnet.com.au btinternet.com sky.com virginmedia.com ntlworld.com talktalk.net
    uol.com.br bol.com.br terra.com.br
    """
)


# RFC 2606 / 6761 names that never receive mail; answering at once also keeps tests offline.
RESERVED_TLDS = frozenset({"invalid", "test", "localhost", "example"})


@dataclass(frozen=True, slots=True)
class SyntaxCheck:
    ok: bool
    local: str | None = None
    domain: str | None = None  # ASCII (IDNA) form, for DNS
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class MxResult:
    status: MxStatus
    hosts: tuple[str, ...] = ()  # by preference; the domain itself for an implicit MX (A/AAAA)
    detail: str | None = None

    def as_evidence(self) -> dict[str, Any]:
        return {"status": self.status, "hosts": list(self.hosts), "detail": self.detail}


def check_syntax(email: str) -> SyntaxCheck:
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        return SyntaxCheck(ok=False, reason=str(exc))
    return SyntaxCheck(ok=True, local=checked.local_part, domain=checked.ascii_domain)


def is_role_address(local: str) -> bool:
    """info@, sales@, no-reply@, support+eu@... : a team inbox, not a person."""
    base = local.split("+", 1)[0].casefold()
    return "".join(ch for ch in base if ch.isalnum()) in ROLE_LOCAL_PARTS


def _in_set(domain: str, domains: frozenset[str]) -> bool:
    labels = domain.casefold().rstrip(".").split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels) - 1))


def is_disposable(domain: str) -> bool:
    """A throwaway-inbox service, including its subdomains."""
    return _in_set(domain, DISPOSABLE_DOMAINS)


def is_free_mail(domain: str) -> bool:
    """A consumer mailbox provider: its domain says nothing about the person's company."""
    return _in_set(domain, FREE_MAIL_DOMAINS)


async def lookup_mx(
    domain: str,
    *,
    timeout: float = 3.0,
    resolver: dns.asyncresolver.Resolver | None = None,
) -> MxResult:
    """MX hosts of `domain`. Never raises: no resolver, offline, timeouts and server failures are
    "unknown"; a domain that does not exist, publishes a null MX (RFC 7505) or has neither MX nor
    address records is "no_mx"."""
    try:
        name = dns.name.from_text(domain.strip().rstrip(".") + ".")
    except (dns.exception.DNSException, ValueError):
        return MxResult("no_mx", detail="invalid_domain")
    if len(name) < 3 or name.labels[-2].decode("ascii", "replace").lower() in RESERVED_TLDS:
        return MxResult("no_mx", detail="reserved_domain")
    try:
        resolver = resolver or dns.asyncresolver.Resolver()
        try:
            answer = await resolver.resolve(name, "MX", lifetime=timeout)
        except dns.resolver.NoAnswer:
            return await _implicit_mx(resolver, name, timeout)
    except dns.resolver.NXDOMAIN:
        return MxResult("no_mx", detail="nxdomain")
    except dns.resolver.NoResolverConfiguration:
        return MxResult("unknown", detail="no_resolver")
    except dns.exception.Timeout:
        return MxResult("unknown", detail="timeout")
    except (dns.exception.DNSException, OSError) as exc:
        return MxResult("unknown", detail=type(exc).__name__)
    records = sorted(answer, key=lambda r: (getattr(r, "preference", 0), str(r)))
    hosts = tuple(str(getattr(r, "exchange", "")).rstrip(".") for r in records)
    if not [h for h in hosts if h]:
        return MxResult("no_mx", detail="null_mx")
    return MxResult("found", hosts=tuple(h for h in hosts if h))


async def _implicit_mx(
    resolver: dns.asyncresolver.Resolver,
    name: dns.name.Name,
    timeout: float,
) -> MxResult:
    # RFC 5321 §5.1: without MX records, the domain's own address is the mail host.
    for rdtype in ("A", "AAAA"):
        try:
            await resolver.resolve(name, rdtype, lifetime=timeout)
        except dns.resolver.NoAnswer:
            continue
        return MxResult("found", hosts=(name.to_text(omit_final_dot=True),), detail="implicit")
    return MxResult("no_mx", detail="no_records")


def combine(
    syntax: SyntaxCheck,
    *,
    mx: MxResult | None = None,
    role: bool = False,
    disposable: bool = False,
    provider: VerificationResult | None = None,
) -> tuple[Status, dict[str, Any]]:
    """One status and the evidence behind it.

    A provider's definite verdict (it talked to the mail server) outranks our DNS view; without
    one, a domain that receives mail makes the address "valid" at the domain level, which the
    evidence states as `"level": "domain"` (the mailbox itself was not checked).
    """
    evidence: dict[str, Any] = {
        "syntax": {"ok": syntax.ok, "reason": syntax.reason},
        "mx": mx.as_evidence() if mx else None,
        "role": role,
        "disposable": disposable,
        "provider": (
            {"name": provider.provider, "status": provider.status, "evidence": provider.evidence}
            if provider
            else None
        ),
    }
    verdict = provider.status if provider else "unknown"
    status: Status
    if not syntax.ok:
        status, why, level = "invalid", "bad_syntax", "syntax"
    elif verdict == "invalid":
        status, why, level = "invalid", "provider_invalid", "provider"
    elif verdict not in ("valid", "risky") and mx is not None and mx.status == "no_mx":
        status, why, level = "invalid", "no_mx", "domain"
    elif disposable:
        status, why, level = "risky", "disposable", "domain"
    elif role:
        status, why, level = "risky", "role_address", "address"
    elif verdict == "risky":
        status, why, level = "risky", "provider_risky", "provider"
    elif verdict == "valid":
        status, why, level = "valid", "provider_valid", "provider"
    elif mx is not None and mx.status == "found":
        status, why, level = "valid", "mx_found", "domain"
    else:
        status, why, level = "unknown", "not_checked", "none"
    evidence["reason"] = why
    evidence["level"] = level
    return status, evidence


async def verify_locally(
    email: str,
    *,
    timeout: float = 3.0,
    resolver: dns.asyncresolver.Resolver | None = None,
    provider: VerificationResult | None = None,
) -> tuple[Status, dict[str, Any]]:
    """Every check above for one address; `provider` is a verifier's result the caller already
    has (its errors are the caller's to retry). MX is not looked up for a bad syntax."""
    syntax = check_syntax(email)
    if not syntax.ok or syntax.domain is None or syntax.local is None:
        return combine(syntax, provider=provider)
    mx = await lookup_mx(syntax.domain, timeout=timeout, resolver=resolver)
    return combine(
        syntax,
        mx=mx,
        role=is_role_address(syntax.local),
        disposable=is_disposable(syntax.domain),
        provider=provider,
    )
