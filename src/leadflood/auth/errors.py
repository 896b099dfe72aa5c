"""Errors of accounts, sessions, keys and tenancy: each with its status and stable code."""

from __future__ import annotations

from leadflood.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = "Wrong email or password."
    keep_changes = True  # the failed sign-in stays in the audit log


class InvalidToken(Unauthorized):
    code = "invalid_token"
    message = "The token is not valid; sign in again."


class TokenExpired(Unauthorized):
    code = "token_expired"
    message = "The token has expired; refresh it or sign in again."


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"
    message = "This refresh token was already used; every token of its session is now revoked."
    keep_changes = True  # the revoked family must stay revoked


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    message = "The form has expired or did not come from this site; reload the page and retry."


class RoleTooLow(Forbidden):
    code = "forbidden"


class UserRequired(Forbidden):
    code = "user_required"
    message = "Only a signed-in user can do this, not an API key."


class WorkspaceNotFound(NotFound):
    code = "workspace_not_found"
    message = "No such workspace among yours."


class MemberNotFound(NotFound):
    code = "member_not_found"
    message = "No member with this id in this workspace."


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    message = "No API key with this id in this workspace."


class InvitationNotFound(NotFound):
    code = "invitation_not_found"
    message = "No invitation with this id in this workspace."


class InvitationInvalid(AppError):
    status = 410
    code = "invitation_invalid"
    message = "This invitation link was already used, revoked or has expired."


class SessionNotFound(NotFound):
    code = "session_not_found"
    message = "No such session of yours."


class CredentialNotFound(NotFound):
    code = "credential_not_found"
    message = "No credentials for this provider in this workspace."


class UnknownProvider(InvalidInput):
    code = "unknown_provider"
    message = (
        "Workspace keys are kept for Apollo and Hunter only (apollo, hunter); a mailbox's "
        "sending credentials are set on the mailbox itself."
    )


class EmailTaken(Conflict):
    code = "email_taken"
    message = "A user with this email already exists."


class AlreadyMember(Conflict):
    code = "already_member"
    message = "This person is already a member of the workspace."


class LastOwner(Conflict):
    code = "last_owner"
    message = "A workspace keeps at least one owner; make someone else owner first."


class AlreadySetUp(Conflict):
    code = "already_set_up"
    message = "Lead Flood already has users; sign in instead."


class AccountTokenInvalid(AppError):
    status = 400
    code = "account_token_invalid"
    message = "This link is not valid: it expired, was already used or was replaced by a newer one."


class TwoFactorRequired(Unauthorized):
    code = "totp_required"
    message = "Enter the 6-digit code from your authenticator app (or a recovery code)."


class TwoFactorCodeInvalid(Unauthorized):
    code = "totp_invalid"
    message = "That code is not valid; use the current 6-digit code or an unused recovery code."
    keep_changes = True  # the failed attempt stays in the audit log


class TwoFactorAlreadyOn(Conflict):
    code = "totp_already_enabled"
    message = "Two-factor sign-in is already on; turn it off first to enrol a new device."


class TwoFactorNotStarted(Conflict):
    code = "totp_not_started"
    message = "Start the enrolment first: it shows the QR code and the secret to confirm."


class TwoFactorOff(Conflict):
    code = "totp_not_enabled"
    message = "Two-factor sign-in is not on for this account."
