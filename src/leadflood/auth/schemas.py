from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import phonenumbers
from pydantic import BaseModel, EmailStr, Field, field_validator

from leadflood.auth.passwords import MIN_LENGTH
from leadflood.models import Role
from leadflood.schemas import Read, Strict

Password = Field(min_length=MIN_LENGTH, max_length=200)
WorkspaceName = Field(min_length=1, max_length=120)


class LoginRequest(Strict):
    # Not EmailStr: signing in only looks the address up, and a valid account may live on a
    # domain the validator refuses (demo@leadflood.local, an intranet domain).
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=200)
    workspace_id: uuid.UUID | None = None
    # Required when the account has two-factor sign-in on (else 401 `totp_required`): the
    # current 6-digit code or an unused recovery code.
    totp_code: str | None = Field(None, min_length=1, max_length=20)


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=200)


class LogoutRequest(Strict):
    refresh_token: str | None = Field(None, max_length=200)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    workspace_id: uuid.UUID | None


class UserRead(Read):
    id: uuid.UUID
    email: str
    name: str | None
    created_at: datetime
    last_login_at: datetime | None
    email_verified_at: datetime | None = None
    totp_enabled_at: datetime | None = None


class WorkspaceRead(Read):
    id: uuid.UUID
    name: str
    slug: str
    default_country: str | None = Field(
        None,
        description="ISO 3166 alpha-2: phone numbers written without a country code are read "
        "as this country's when the lead's own country is unknown (imports).",
    )
    created_at: datetime


class WorkspaceWithRole(BaseModel):
    workspace: WorkspaceRead
    role: Role


class Me(BaseModel):
    user: UserRead
    workspaces: list[WorkspaceWithRole]


class WorkspaceCreate(Strict):
    name: str = WorkspaceName


class WorkspaceUpdate(Strict):
    """Only the fields sent change; `default_country: null` clears it."""

    name: str | None = Field(None, min_length=1, max_length=120)
    default_country: str | None = Field(
        None, description="An ISO 3166 alpha-2 code (DE, FR, US...), or null for none."
    )

    @field_validator("name")
    @classmethod
    def _named(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("A workspace keeps a name: send one, or leave the field out.")
        return value

    @field_validator("default_country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 country code (DE, FR, US...).")
        return code


class CurrentWorkspace(BaseModel):
    workspace: WorkspaceRead
    role: Role
    via: Literal["api_key", "token", "cookie"]


class SessionRead(Read):
    id: uuid.UUID
    kind: Literal["api", "browser"]
    workspace_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime
    current: bool = False


class MemberRead(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str | None
    role: Role
    created_at: datetime


class MemberUpdate(Strict):
    role: Role


class InvitationCreate(Strict):
    email: EmailStr
    role: Role = Role.member


class InvitationRead(Read):
    id: uuid.UUID
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None


class InvitationCreated(BaseModel):
    invitation: InvitationRead
    token: str
    url: str
    # Whether the system mailbox accepted the invitation mail; when not, `email_error` says why
    # and the link is to be sent by hand.
    emailed: bool = False
    email_error: str | None = None


class InvitationAccept(Strict):
    token: str = Field(min_length=1, max_length=200)
    password: str = Password
    name: str | None = Field(None, max_length=120)


class ApiKeyCreate(Strict):
    name: str = Field(min_length=1, max_length=120)
    role: Role = Role.member
    expires_at: datetime | None = None


class ApiKeyRead(Read):
    id: uuid.UUID
    name: str
    prefix: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(BaseModel):
    api_key: ApiKeyRead
    secret: str = Field(description="Shown once: store it now, it cannot be read again.")


ProviderName = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")


class CredentialSet(Strict):
    secret: str = Field(
        min_length=1,
        max_length=10_000,
        description="An API key, or a JSON object as text for providers with several fields.",
    )


class CredentialRead(Read):
    provider: str
    key_version: str
    created_at: datetime
    updated_at: datetime


class AuditEventRead(Read):
    id: uuid.UUID
    action: str
    actor: str | None
    actor_user_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    target_type: str | None
    target_id: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    details: dict[str, object]
    created_at: datetime


class PasswordResetRequest(Strict):
    email: str = Field(min_length=3, max_length=320)


class PasswordResetConfirm(Strict):
    token: str = Field(min_length=1, max_length=200)
    password: str = Password


class EmailVerifyConfirm(Strict):
    token: str = Field(min_length=1, max_length=200)


class MailQueued(BaseModel):
    """Answered the same whether or not the address has an account."""

    detail: str
    via: Literal["settings", "demo"]


class SessionsRevoked(BaseModel):
    revoked: int


class TotpEnrolment(BaseModel):
    secret: str
    otpauth_uri: str


class TotpCode(Strict):
    code: str = Field(min_length=1, max_length=20)


class RecoveryCodes(BaseModel):
    recovery_codes: list[str]
