"""Email verification against the sandbox universe, deterministic and free.

Rules, first match wins:

1. not shaped like an address                      -> invalid ("syntax")
2. the local part contains "bounce", at a universe
   company or a reserved `.example` domain         -> invalid ("bounce_local_part")
3. the domain is `risky.example`                   -> risky   ("risky_domain", accept-all)
4. an address of a universe person                 -> valid, or risky when the company's server
                                                      accepts all mail (about 4% of companies)
5. another address at a universe company's domain  -> invalid ("no_such_mailbox"), or risky on an
                                                      accept-all domain
6. any other domain                                -> unknown ("unknown_domain"): the sandbox
                                                      knows nothing of real mailboxes
"""

from __future__ import annotations

from typing import Any

from leadflood.providers.base import VerificationResult
from leadflood.providers.sandbox.source import default_universe
from leadflood.providers.sandbox.universe import Universe

PROVIDER = "sandbox"
RISKY_DOMAIN = "risky.example"


def _reserved(domain: str) -> bool:
    """RFC 2606 test domains: no real person can own a mailbox there."""
    return domain.endswith(".example") or domain in ("example.com", "example.net", "example.org")


def _result(status: str, rule: str, reason: str, **evidence: Any) -> VerificationResult:
    return VerificationResult(
        provider=PROVIDER, status=status, evidence={"rule": rule, "reason": reason, **evidence}
    )


class SandboxVerifier:
    name = PROVIDER

    def __init__(self, universe: Universe | None = None) -> None:
        self.universe = universe or default_universe()

    async def verify(self, email: str) -> VerificationResult:
        address = email.strip().lower()
        local, at, domain = address.rpartition("@")
        if (
            not at
            or not local
            or "@" in local
            or "." not in domain
            or any(c.isspace() for c in address)
        ):
            return _result("invalid", "syntax", "not an email address", regexp=False)
        company = self.universe.company_by_domain(domain)
        if "bounce" in local and (company is not None or _reserved(domain)):
            return _result(
                "invalid", "bounce_local_part", "the local part asks to bounce", smtp_check=False
            )
        if domain == RISKY_DOMAIN:
            return _result(
                "risky", "risky_domain", f"{RISKY_DOMAIN} accepts every address", accept_all=True
            )
        if company is None:
            return _result(
                "unknown", "unknown_domain", "domain outside the sandbox universe", mx_records=None
            )
        known = self.universe.index_of_email(address)
        found = {"mx_records": True, "accept_all": company.accept_all, "company": company.name}
        if company.accept_all:
            return _result(
                "risky",
                "accept_all",
                "the server accepts every address",
                **found,
                smtp_check=known is not None,
            )
        if known is None:
            return _result(
                "invalid",
                "no_such_mailbox",
                "the server rejects this mailbox",
                **found,
                smtp_check=False,
            )
        return _result(
            "valid",
            "universe_person",
            "a known mailbox",
            **found,
            smtp_check=True,
            source_id=f"sandbox:{self.universe.seed}:{known}",
        )
