"""Errors the service layer raises; each door turns them into its own shape.

`reason` is a stable snake_case code for programs (`agent_not_found`); `message` is for
people. The HTTP status is carried so the API's error envelope needs no lookup table.
"""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 400

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        fields: list[dict[str, str]] | None = None,
    ):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.headers = headers or {}
        self.fields = fields or []
        """[{"field": "participants[0].target", "message": "..."}]: which input is wrong."""


class BadRequest(ServiceError):
    """The request itself is malformed (a bad query parameter, an unreadable token)."""

    status_code = 400


class InvalidInput(ServiceError):
    """The request is well-formed but a value breaks a rule."""

    status_code = 422


class Unauthenticated(ServiceError):
    status_code = 401


class Forbidden(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class TooManyRequests(ServiceError):
    status_code = 429


class ProviderUnavailable(ServiceError):
    """A provider could not be reached, or failed (5xx), during an admin action (setting a
    channel up)."""

    status_code = 503
