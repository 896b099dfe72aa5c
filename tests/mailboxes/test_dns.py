"""The sender domain's SPF, DMARC and DKIM records as the mailbox page shows them: found,
missing (saying why when the name does not exist) or unknown when DNS cannot answer (offline),
never an exception. The resolver is dnspython's interface, answered from a table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import dns.asyncresolver
import dns.exception
import dns.resolver
import pytest

from leadflood.mailboxes.dns import check_domain


@dataclass
class _Txt:
    strings: tuple[bytes, ...]


class TableResolver:
    """Answers TXT lookups from `records`; a name mapped to an exception class raises it."""

    def __init__(self, records: dict[str, Any]) -> None:
        self.records = records
        self.asked: list[str] = []

    async def resolve(self, name: str, rdtype: str, lifetime: float) -> list[_Txt]:
        assert rdtype == "TXT"
        self.asked.append(name)
        found = self.records.get(name, dns.resolver.NXDOMAIN)
        if isinstance(found, type) and issubclass(found, BaseException):
            raise found()
        return [_Txt((value.encode(),)) for value in found]


async def _check(records: dict[str, Any], selector: str | None = None) -> dict[str, Any]:
    resolver = cast(dns.asyncresolver.Resolver, TableResolver(records))
    return await check_domain("Acme.example.", dkim_selector=selector, resolver=resolver)


async def test_published_records_are_found() -> None:
    result = await _check(
        {
            "acme.example": ["google-site-verification=x", "v=spf1 include:_spf.example ~all"],
            "_dmarc.acme.example": ["v=DMARC1; p=quarantine"],
            "s1._domainkey.acme.example": ["k=rsa; p=MIIBIjANBg"],
        },
        selector="s1",
    )
    assert result["domain"] == "acme.example"
    assert result["spf"] == {"status": "ok", "record": "v=spf1 include:_spf.example ~all"}
    assert result["dmarc"]["status"] == "ok"
    assert result["dkim"] == {"status": "ok", "record": "k=rsa; p=MIIBIjANBg"}


async def test_a_domain_that_does_not_exist_says_so() -> None:
    result = await _check({})
    assert result["spf"] == {"status": "missing", "detail": "acme.example does not exist in DNS"}
    assert result["dmarc"]["status"] == "missing"
    assert result["dkim"]["status"] == "not_configured"


async def test_records_without_the_policy_are_missing_without_a_reason() -> None:
    result = await _check(
        {"acme.example": ["hello"], "_dmarc.acme.example": dns.resolver.NoAnswer}, selector="s1"
    )
    assert result["spf"] == {"status": "missing", "detail": None}
    assert result["dmarc"] == {"status": "missing", "detail": None}
    assert result["dkim"] == {
        "status": "missing",
        "detail": "s1._domainkey.acme.example does not exist in DNS",
    }


async def test_two_spf_records_are_invalid() -> None:
    result = await _check({"acme.example": ["v=spf1 -all", "v=spf1 ~all"]})
    assert result["spf"]["status"] == "invalid"


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (dns.exception.Timeout, "DNS timed out"),
        (dns.resolver.NoResolverConfiguration, "no DNS resolver configured"),
        (dns.resolver.NoNameservers, "NoNameservers"),
        (OSError, "OSError"),
    ],
)
async def test_offline_dns_is_unknown_never_an_error(
    error: type[BaseException], detail: str
) -> None:
    result = await _check(
        {"acme.example": error, "_dmarc.acme.example": error, "s1._domainkey.acme.example": error},
        selector="s1",
    )
    for key in ("spf", "dmarc", "dkim"):
        assert result[key] == {"status": "unknown", "detail": detail}
