from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every error the API and UI show to a user: a status and a stable code."""

    status: int = 400
    code: str = "bad_request"
    message: str = "The request could not be processed."
    # True when the work done before the error must still be committed (a failed sign-in's
    # audit event, a reused refresh token's revoked family).
    keep_changes: bool = False

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details


class NotFound(AppError):
    status = 404
    code = "not_found"
    message = "Not found."


class Conflict(AppError):
    status = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class InvalidInput(AppError):
    status = 422
    code = "validation_error"
    message = "The request is not valid."


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    message = "Sign in to continue."


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    message = "Your role does not allow this action."


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int, details: Any = None):
        super().__init__(message, details=details)
        self.retry_after = retry_after


class ProviderNotConfigured(AppError):
    status = 503
    code = "provider_not_configured"
    message = "This provider has no credentials; add them under Settings → Providers."


class ConfigError(Exception):
    """A setting is invalid: start-up stops with one line naming the variable."""
