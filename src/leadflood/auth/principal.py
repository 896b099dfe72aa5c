"""Who is calling: a user (by access token or browser session) or an API key, in one
workspace, with one role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from leadflood.models import ApiKey, Role, User, Workspace


@dataclass(frozen=True)
class Origin:
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass
class CurrentMember:
    workspace: Workspace
    role: Role
    user: User | None = None
    api_key: ApiKey | None = None
    session_id: uuid.UUID | None = None
    via: str = "api_key"  # "api_key" | "token" | "cookie" | "cli"
    origin: Origin = field(default_factory=Origin)

    @property
    def workspace_id(self) -> uuid.UUID:
        return self.workspace.id

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.email
        if self.api_key is not None:
            return f"API key {self.api_key.prefix}… ({self.api_key.name})"
        return "command line" if self.via == "cli" else "system"
