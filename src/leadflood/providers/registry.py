"""Adapters by name. Clients are built on first use and kept for the life of the process."""

from __future__ import annotations

import hashlib
from typing import Any

import dns.asyncresolver
import httpx

from leadflood.providers.base import (
    EmailVerifier,
    Enricher,
    LeadSource,
    ProviderNotConfiguredError,
)
from leadflood.settings import Settings

ENRICHERS = ("sandbox", "apollo", "hunter")
LEAD_SOURCES = ("sandbox", "apollo")
VERIFIERS = ("sandbox", "hunter")


class ProviderRegistry:
    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: dns.asyncresolver.Resolver | None = None,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._resolver = resolver
        self._clients: dict[str, Any] = {}

    def configured(self) -> dict[str, bool]:
        """Which providers have what they need to run (the sandbox always does)."""
        return {
            "sandbox": True,
            "apollo": bool(self._settings.apollo_api_key),
            "hunter": bool(self._settings.hunter_api_key),
        }

    def enricher(self, name: str | None = None) -> Enricher:
        name = name or self._settings.enricher
        if name not in ENRICHERS:
            raise ProviderNotConfiguredError(f"unknown enricher {name!r}", provider=name)
        if name not in self._clients:
            self._clients[name] = self._build(name)
        client: Enricher = self._clients[name]
        return client

    def lead_source(self, name: str, *, api_key: str | None = None) -> LeadSource:
        """The people-search adapter `name`. `api_key` is the workspace's own credential;
        without one the process-wide setting (APOLLO_API_KEY) is used; the sandbox needs none."""
        if name not in LEAD_SOURCES:
            raise ProviderNotConfiguredError(f"unknown lead source {name!r}", provider=name)
        if name == "sandbox":
            if "source:sandbox" not in self._clients:
                from leadflood.providers.sandbox.source import SandboxLeadSource

                self._clients["source:sandbox"] = SandboxLeadSource(
                    delay=self._settings.sandbox_search_delay
                )
            sandbox: LeadSource = self._clients["source:sandbox"]
            return sandbox
        key = api_key or getattr(self._settings, f"{name}_api_key")
        if not key:
            raise ProviderNotConfiguredError(
                f"{name} has no API key: add one under Settings → Credentials "
                f"or set {name.upper()}_API_KEY",
                provider=name,
            )
        # One client per key: workspaces with their own keys never share a rate limiter.
        slot = f"source:{name}:{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        if slot not in self._clients:
            from leadflood.providers.apollo import ApolloClient

            self._clients[slot] = ApolloClient(key, transport=self._transport)
        client: LeadSource = self._clients[slot]
        return client

    def verifier(self, name: str) -> EmailVerifier:
        """The sandbox verifier always works; Hunter's needs its key. The adapters that both
        enrich and verify are shared, so one client (and one rate limiter) serves both."""
        if name not in VERIFIERS:
            raise ProviderNotConfiguredError(f"unknown verifier {name!r}", provider=name)
        key = f"verifier:{name}" if name == "sandbox" else name
        if key not in self._clients:
            if name == "sandbox":
                from leadflood.providers.sandbox import SandboxVerifier

                self._clients[key] = SandboxVerifier()
            else:
                self._clients[key] = self._build(name)
        client: EmailVerifier = self._clients[key]
        return client

    def resolver(self) -> dns.asyncresolver.Resolver | None:
        """The DNS resolver for MX lookups (None: the system's, built per lookup)."""
        return self._resolver

    def _build(self, name: str) -> Any:
        if name == "sandbox":
            from leadflood.providers.sandbox import SandboxEnricher

            return SandboxEnricher()
        key = getattr(self._settings, f"{name}_api_key")
        if not key:
            raise ProviderNotConfiguredError(
                f"{name} has no API key: set {name.upper()}_API_KEY", provider=name
            )
        if name == "apollo":
            from leadflood.providers.apollo import ApolloClient

            return ApolloClient(key, transport=self._transport)
        from leadflood.providers.hunter import HunterClient

        return HunterClient(key, transport=self._transport)

    async def aclose(self) -> None:
        for client in self._clients.values():
            close = getattr(client, "aclose", None)
            if close is not None:
                await close()
        self._clients.clear()
