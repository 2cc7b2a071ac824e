"""Exceptions raised by the Strata SDK.

Every server answer that is an error becomes a :class:`StrataError` subclass that carries the HTTP
status, the server's error ``code`` and its message (which names the thing that was missing or
wrong). Transport failures (server down, connection reset) that outlive the retries become
:class:`StrataConnectionError`.
"""
from __future__ import annotations


class StrataError(Exception):
    """Base class: ``status`` (HTTP status or None), ``code`` (server error code or None)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None, body=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = body


class StrataConnectionError(StrataError):
    """The server could not be reached (after the configured retries)."""


class AuthenticationError(StrataError):
    """401: a bad, expired or revoked token (or none where one is needed)."""


class PermissionDenied(StrataError):
    """403: signed in, but not allowed to do this."""


class NotFoundError(StrataError):
    """404: repository, revision, path or upload session missing (or not visible to the caller)."""


class ConflictError(StrataError):
    """409: a compare-and-set lost (the branch moved) or a name is taken."""


class RateLimitedError(StrataError):
    """429: too many failed authentications from this address."""


class InvalidRequestError(StrataError):
    """400 / 413 / 416 / 422: the request was malformed or refused."""


class IntegrityError(StrataError):
    """Bytes read back do not hash to the id or digest they must have."""


class SerializationError(StrataError):
    """A state dict holds a value the SDK cannot store without pickle."""


_BY_STATUS = {401: AuthenticationError, 403: PermissionDenied, 404: NotFoundError, 409: ConflictError,
              429: RateLimitedError, 400: InvalidRequestError, 413: InvalidRequestError,
              416: InvalidRequestError, 422: InvalidRequestError}


def error_for(status: int, code: str | None, message: str, body=None) -> StrataError:
    return _BY_STATUS.get(status, StrataError)(message, status=status, code=code, body=body)
