"""Deterministic enrichers for waterfall tests: each answers from a script and counts calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from leadflood.providers.base import EnrichmentInput, EnrichmentResult, ProviderError


@dataclass
class Scripted:
    name: str
    fields: dict[str, Any] = field(default_factory=dict)
    cost: float = 0.0
    max_cost: float = 0.0
    error: ProviderError | None = None
    calls: list[EnrichmentInput] = field(default_factory=list)

    async def enrich(self, person: EnrichmentInput) -> EnrichmentResult:
        self.calls.append(person)
        if self.error is not None:
            raise self.error
        return EnrichmentResult(
            provider=self.name, found=bool(self.fields), fields=dict(self.fields), cost=self.cost
        )
