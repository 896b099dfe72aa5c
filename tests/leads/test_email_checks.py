from __future__ import annotations

import time
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver
import pytest

from leadflood.leads.email_checks import (
    MxResult,
    SyntaxCheck,
    check_syntax,
    combine,
    is_disposable,
    is_role_address,
    lookup_mx,
    verify_locally,
)
from leadflood.providers.base import VerificationResult


def error(kind: Any, *args: Any, **kwargs: Any) -> BaseException:
    """dnspython's exception classes are untyped: built through Any to keep mypy strict."""
    built: BaseException = kind(*args, **kwargs)
    return built


class FakeMx:
    def __init__(self, preference: int, exchange: str) -> None:
        self.preference = preference
        self.exchange = dns.name.from_text(exchange)


class ScriptedResolver(dns.asyncresolver.Resolver):
    """A dnspython resolver whose answers are given per record type (no network)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        super().__init__(configure=False)
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(self, qname: Any, rdtype: Any = "A", *args: Any, **kwargs: Any) -> Any:
        self.asked.append(str(rdtype))
        answer = self.answers.get(str(rdtype), error(dns.resolver.NoAnswer))
        if isinstance(answer, BaseException):
            raise answer
        return answer


def test_check_syntax() -> None:
    ok = check_syntax(" Jörg@Müller.de ")
    assert ok.ok and ok.local == "Jörg" and ok.domain == "xn--mller-kva.de"
    bad = check_syntax("jane@@acme.com")
    assert not bad.ok and bad.reason


@pytest.mark.parametrize(
    ("local", "role"),
    [("info", True), ("Sales", True), ("no-reply", True), ("support+eu", True),
     ("do_not_reply", True), ("jane", False), ("jane.sales", False), ("infoman", False)],
)  # fmt: skip
def test_role_addresses(local: str, role: bool) -> None:
    assert is_role_address(local) is role


@pytest.mark.parametrize(
    ("domain", "disposable"),
    [("mailinator.com", True), ("eu.Mailinator.com.", True), ("yopmail.com", True),
     ("10minutemail.com", True), ("acme.com", False), ("notmailinator.com", False),
     ("com", False)],
)  # fmt: skip
def test_disposable_domains(domain: str, disposable: bool) -> None:
    assert is_disposable(domain) is disposable


async def test_reserved_domain_answers_without_dns() -> None:
    started = time.monotonic()
    result = await lookup_mx("nothing.invalid", timeout=0.01)
    assert result.status == "no_mx"
    assert time.monotonic() - started < 1


async def test_unreachable_nameserver_is_unknown_not_an_error() -> None:
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = ["192.0.2.1"]  # TEST-NET-1: nothing answers there
    started = time.monotonic()
    result = await lookup_mx("acme.com", timeout=0.05, resolver=resolver)
    assert result.status == "unknown"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("answers", "status", "hosts", "detail"),
    [
        ({"MX": [FakeMx(20, "b.mx.acme.com."), FakeMx(10, "a.mx.acme.com.")]}, "found",
         ("a.mx.acme.com", "b.mx.acme.com"), None),
        ({"MX": [FakeMx(0, ".")]}, "no_mx", (), "null_mx"),
        ({"MX": error(dns.resolver.NXDOMAIN)}, "no_mx", (), "nxdomain"),
        ({"A": ["192.0.2.7"]}, "found", ("acme.com",), "implicit"),
        ({"AAAA": ["2001:db8::1"]}, "found", ("acme.com",), "implicit"),
        ({}, "no_mx", (), "no_records"),
        ({"MX": error(dns.resolver.LifetimeTimeout, timeout=0.1, errors={})}, "unknown", (),
         "timeout"),
        ({"MX": error(dns.resolver.NoNameservers)}, "unknown", (), "NoNameservers"),
        ({"MX": OSError("network unreachable")}, "unknown", (), "OSError"),
    ],
)  # fmt: skip
async def test_lookup_mx_branches(
    answers: dict[str, Any], status: str, hosts: tuple[str, ...], detail: str | None
) -> None:
    result = await lookup_mx("acme.com", resolver=ScriptedResolver(answers))
    assert result == MxResult(status, hosts, detail)  # type: ignore[arg-type]


async def test_no_resolver_configuration_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_config(self: dns.asyncresolver.Resolver, *args: Any, **kwargs: Any) -> None:
        raise error(dns.resolver.NoResolverConfiguration, "no nameservers")

    monkeypatch.setattr(dns.asyncresolver.Resolver, "__init__", no_config)
    assert (await lookup_mx("acme.com")).status == "unknown"


OK = SyntaxCheck(ok=True, local="jane", domain="acme.com")
FOUND = MxResult("found", ("mx.acme.com",))
NO_MX = MxResult("no_mx", detail="nxdomain")
UNKNOWN = MxResult("unknown", detail="timeout")


def provider(status: str) -> VerificationResult:
    return VerificationResult(provider="hunter", status=status, evidence={"score": 91})


@pytest.mark.parametrize(
    ("kwargs", "status", "reason"),
    [
        ({"mx": FOUND}, "valid", "mx_found"),
        ({"mx": UNKNOWN}, "unknown", "not_checked"),
        ({"mx": NO_MX}, "invalid", "no_mx"),
        ({"mx": FOUND, "role": True}, "risky", "role_address"),
        ({"mx": UNKNOWN, "disposable": True}, "risky", "disposable"),
        ({"mx": FOUND, "provider": provider("invalid")}, "invalid", "provider_invalid"),
        ({"mx": UNKNOWN, "provider": provider("valid")}, "valid", "provider_valid"),
        ({"mx": FOUND, "provider": provider("risky")}, "risky", "provider_risky"),
        ({"mx": FOUND, "provider": provider("unknown")}, "valid", "mx_found"),
        ({"mx": FOUND, "role": True, "provider": provider("valid")}, "risky", "role_address"),
    ],
)  # fmt: skip
def test_combine(kwargs: dict[str, Any], status: str, reason: str) -> None:
    got, evidence = combine(OK, **kwargs)
    assert (got, evidence["reason"]) == (status, reason)
    assert set(evidence) >= {"syntax", "mx", "role", "disposable", "provider", "level"}
    if "provider" in kwargs:
        assert evidence["provider"] == {
            "name": "hunter",
            "status": kwargs["provider"].status,
            "evidence": {"score": 91},
        }


def test_bad_syntax_is_invalid_whatever_else() -> None:
    status, evidence = combine(SyntaxCheck(ok=False, reason="no @"), provider=provider("valid"))
    assert status == "invalid" and evidence["syntax"] == {"ok": False, "reason": "no @"}


async def test_verify_locally_offline_never_raises() -> None:
    resolver = ScriptedResolver({"MX": error(dns.exception.Timeout)})
    status, evidence = await verify_locally("info@acme.com", resolver=resolver)
    assert status == "risky" and evidence["role"] is True
    assert evidence["mx"]["status"] == "unknown"
    status, _ = await verify_locally("not an email", resolver=resolver)
    assert status == "invalid"
