"""Adapters by name. Clients are built on first use and kept for the life of the process."""

from __future__ import annotations

from typing import Any

import httpx

from leadflood.providers.base import Enricher, ProviderNotConfiguredError
from leadflood.settings import Settings

ENRICHERS = ("sandbox", "apollo", "hunter")


class ProviderRegistry:
    def __init__(
        self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._settings = settings
        self._transport = transport
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
