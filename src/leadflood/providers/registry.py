"""Adapters by name. Clients are built on first use and kept for the life of the process."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from typing import Any

import dns.asyncresolver
import httpx

from leadflood.providers.base import (
    EmailVerifier,
    Enricher,
    LeadSource,
    ProviderNotConfiguredError,
)
from leadflood.providers.http import build_webhook_client
from leadflood.settings import Settings

ENRICHERS = ("sandbox", "apollo", "hunter")
LEAD_SOURCES = ("sandbox", "apollo")
VERIFIERS = ("sandbox", "hunter")
KEYED = ("apollo", "hunter")  # the providers that need an API key


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

    def configured(self, stored: Collection[str] = ()) -> dict[str, bool]:
        """Which providers have what they need to run: the sandbox always does; the others
        with a key stored by the workspace (`stored`: its credentials' provider names) or set
        process-wide. Without `stored`, what the process alone can run."""
        keyed = {name: name in stored or bool(self._env_key(name)) for name in KEYED}
        return {"sandbox": True, **keyed}

    def key_for(self, name: str, stored: str | None = None) -> str:
        """The key `name` runs with: the workspace's stored credential first, then the
        process-wide setting (APOLLO_API_KEY / HUNTER_API_KEY); neither is
        ProviderNotConfiguredError (503 provider_not_configured)."""
        key = stored or self._env_key(name)
        if not key:
            raise ProviderNotConfiguredError(
                f"{name} has no API key: add one under Settings → Credentials "
                f"or set {name.upper()}_API_KEY",
                provider=name,
                code="provider_not_configured",
            )
        return key

    def enricher(self, name: str | None = None, *, api_key: str | None = None) -> Enricher:
        """The enrichment adapter `name` (default: the ENRICHER setting). `api_key` is the
        workspace's own credential; without one the process-wide setting is used."""
        name = name or self._settings.enricher
        if name not in ENRICHERS:
            raise ProviderNotConfiguredError(f"unknown enricher {name!r}", provider=name)
        if name == "sandbox":
            from leadflood.providers.sandbox import SandboxEnricher

            sandbox: Enricher = self._shared("enricher:sandbox", SandboxEnricher)
            return sandbox
        client: Enricher = self._keyed(name, api_key)
        return client

    def lead_source(self, name: str, *, api_key: str | None = None) -> LeadSource:
        """The people-search adapter `name`; `api_key` as for `enricher`."""
        if name not in LEAD_SOURCES:
            raise ProviderNotConfiguredError(f"unknown lead source {name!r}", provider=name)
        if name == "sandbox":
            from leadflood.providers.sandbox.source import SandboxLeadSource

            delay = self._settings.sandbox_search_delay
            sandbox: LeadSource = self._shared(
                "source:sandbox", lambda: SandboxLeadSource(delay=delay)
            )
            return sandbox
        client: LeadSource = self._keyed(name, api_key)
        return client

    def verifier(self, name: str, *, api_key: str | None = None) -> EmailVerifier:
        """The email verifier `name`; `api_key` as for `enricher`."""
        if name not in VERIFIERS:
            raise ProviderNotConfiguredError(f"unknown verifier {name!r}", provider=name)
        if name == "sandbox":
            from leadflood.providers.sandbox import SandboxVerifier

            sandbox: EmailVerifier = self._shared("verifier:sandbox", SandboxVerifier)
            return sandbox
        client: EmailVerifier = self._keyed(name, api_key)
        return client

    def resolver(self) -> dns.asyncresolver.Resolver | None:
        """The DNS resolver for MX lookups (None: the system's, built per lookup)."""
        return self._resolver

    def webhook_client(self) -> httpx.AsyncClient:
        """The one client of outbound webhooks (see `build_webhook_client`)."""
        client: httpx.AsyncClient = self._shared(
            "webhooks",
            lambda: build_webhook_client(self._transport, self._settings.webhook_networks),
        )
        return client

    def _env_key(self, name: str) -> str | None:
        key: str | None = getattr(self._settings, f"{name}_api_key", None)
        return key

    def _shared(self, slot: str, build: Callable[[], Any]) -> Any:
        if slot not in self._clients:
            self._clients[slot] = build()
        return self._clients[slot]

    def _keyed(self, name: str, api_key: str | None) -> Any:
        key = self.key_for(name, api_key)
        # One client per (provider, key): it serves search, enrichment and verification alike,
        # so a key's rate limit is kept by one limiter, and workspaces with their own keys
        # never share one. The slot holds a digest, never the key.
        slot = f"{name}:{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        if slot not in self._clients:
            self._clients[slot] = self._client_for(name, key)
        return self._clients[slot]

    def _client_for(self, name: str, key: str) -> Any:
        if name == "apollo":
            from leadflood.providers.apollo import ApolloClient

            return ApolloClient(key, transport=self._transport)
        if name == "hunter":
            from leadflood.providers.hunter import HunterClient

            return HunterClient(key, transport=self._transport)
        raise ProviderNotConfiguredError(f"unknown provider {name!r}", provider=name)

    async def aclose(self) -> None:
        for client in self._clients.values():
            close = getattr(client, "aclose", None)
            if close is not None:
                await close()
        self._clients.clear()
