"""SPF, DMARC and DKIM records of a sender domain, looked up with dnspython. Offline, slow or
broken DNS gives "unknown", never an exception."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.resolver


async def _txt(
    resolver: dns.asyncresolver.Resolver, name: str, timeout: float
) -> tuple[str, list[str]]:
    """("found", records) | ("missing", [why]) | ("unknown", [reason])."""
    try:
        answer = await resolver.resolve(name, "TXT", lifetime=timeout)
    except dns.resolver.NXDOMAIN:
        return "missing", [f"{name} does not exist in DNS"]
    except dns.resolver.NoAnswer:
        return "missing", []
    except dns.resolver.NoResolverConfiguration:
        return "unknown", ["no DNS resolver configured"]
    except dns.exception.Timeout:
        return "unknown", ["DNS timed out"]
    except (dns.exception.DNSException, OSError) as exc:
        return "unknown", [type(exc).__name__]
    records = [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
    return "found", records


def _verdict(state: str, records: list[str], prefix: str) -> dict[str, Any]:
    if state == "unknown":
        return {"status": "unknown", "detail": records[0] if records else None}
    if state == "missing":
        return {"status": "missing", "detail": records[0] if records else None}
    matching = [r for r in records if r.lower().replace(" ", "").startswith(prefix)]
    if not matching:
        return {"status": "missing", "detail": None}
    if len(matching) > 1 and prefix == "v=spf1":
        return {"status": "invalid", "detail": "more than one SPF record", "records": matching}
    return {"status": "ok", "record": matching[0]}


async def check_domain(
    domain: str,
    *,
    dkim_selector: str | None = None,
    timeout: float = 3.0,
    resolver: dns.asyncresolver.Resolver | None = None,
) -> dict[str, Any]:
    domain = domain.strip().lower().rstrip(".")
    try:
        resolver = resolver or dns.asyncresolver.Resolver()
    except (dns.exception.DNSException, OSError) as exc:
        unknown = {"status": "unknown", "detail": type(exc).__name__}
        return _result(domain, unknown, unknown, unknown)
    names = [domain, f"_dmarc.{domain}"]
    if dkim_selector:
        names.append(f"{dkim_selector}._domainkey.{domain}")
    found = await asyncio.gather(*(_txt(resolver, n, timeout) for n in names))
    spf = _verdict(*found[0], "v=spf1")
    dmarc = _verdict(*found[1], "v=dmarc1")
    if dkim_selector:
        state, records = found[2]
        dkim = _verdict(state, records, "v=dkim1")
        if dkim["status"] == "missing" and state == "found" and any("p=" in r for r in records):
            dkim = {"status": "ok", "record": next(r for r in records if "p=" in r)}
    else:
        dkim = {"status": "not_configured", "detail": "no DKIM selector on this mailbox"}
    return _result(domain, spf, dmarc, dkim)


def _result(
    domain: str, spf: dict[str, Any], dmarc: dict[str, Any], dkim: dict[str, Any]
) -> dict[str, Any]:
    return {
        "domain": domain,
        "spf": spf,
        "dmarc": dmarc,
        "dkim": dkim,
        "checked_at": datetime.now(UTC).isoformat(),
    }
