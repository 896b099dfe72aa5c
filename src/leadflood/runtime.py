"""What a running process holds: settings, the database and the provider clients. One is built
at start-up (API, worker, CLI) and handed to whatever needs it; nothing is built at import."""

from __future__ import annotations

from dataclasses import dataclass, field

from leadflood.db.engine import Database
from leadflood.providers.registry import ProviderRegistry
from leadflood.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    providers: ProviderRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.providers = ProviderRegistry(self.settings)

    async def aclose(self) -> None:
        await self.providers.aclose()
        await self.db.dispose()
