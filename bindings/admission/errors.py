"""Exceptions raised by the `admission` package.

Every library error is an :class:`Error` carrying the library's status code (``.code``, a
:class:`StatusCode`, the same numbers as ``absl::StatusCode``), so callers catch a class
instead of parsing messages::

    try:
        room.join("sale", "alice")
    except admission.AlreadyExists as e:
        print(e.code.name, e.message)
"""

from __future__ import annotations

import enum
from typing import Dict, Optional, Type

__all__ = [
    "StatusCode",
    "Error",
    "InvalidArgument",
    "NotFound",
    "AlreadyExists",
    "FailedPrecondition",
    "JoinRefused",
    "ResourceExhausted",
    "Unimplemented",
    "Unavailable",
    "DeadlineExceeded",
    "Internal",
    "from_status",
]


class StatusCode(enum.IntEnum):
    """The codes of ``absl::StatusCode`` (and gRPC)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class Error(Exception):
    """Base class of every error the library reports.

    Attributes:
        code: the :class:`StatusCode` of the failed call.
        message: the library's message (also ``str(e)``).
    """

    #: The code of this class; the base class is used for codes without a subclass.
    default_code: StatusCode = StatusCode.UNKNOWN

    def __init__(self, message: str = "", code: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = StatusCode(code) if code is not None else type(self).default_code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code.name})"


class InvalidArgument(Error, ValueError):
    """A malformed id or token, or a policy/option out of range."""

    default_code = StatusCode.INVALID_ARGUMENT


class NotFound(Error, LookupError):
    """Unknown (or forgotten) token, or unknown event."""

    default_code = StatusCode.NOT_FOUND


class AlreadyExists(Error):
    """The user already waits or is active in the event."""

    default_code = StatusCode.ALREADY_EXISTS


class FailedPrecondition(Error):
    """The call does not fit the user's state (e.g. enter after leaving, complete before
    admission), or the room is closed."""

    default_code = StatusCode.FAILED_PRECONDITION


class JoinRefused(FailedPrecondition):
    """A join the event's schedule or its queueing method refused (see docs/rules.md, "Fair
    openings"); the message is meant for the person joining.

    Attributes:
        refusal: why: ``"not_open_yet"`` (before ``prequeue_opens_at``), ``"closed"`` (from
            ``closes_at`` on) or ``"rejected"`` (the ``reject`` method).
        at: the time the refusal names, in seconds since the epoch (``prequeue_opens_at`` or
            ``closes_at``); None for ``"rejected"``.
    """

    def __init__(self, message: str = "", code: Optional[int] = None,
                 refusal: str = "rejected", at: Optional[float] = None) -> None:
        super().__init__(message, code)
        self.refusal = refusal
        self.at = at

    def __repr__(self) -> str:
        return f"JoinRefused({self.message!r}, refusal={self.refusal!r}, at={self.at!r})"


class ResourceExhausted(Error):
    """A limit of the store was reached (e.g. 2**32 pre-queue joins in one event)."""

    default_code = StatusCode.RESOURCE_EXHAUSTED


class Unimplemented(Error, NotImplementedError):
    """The store does not implement what was asked (e.g. a policy feature this store lacks)."""

    default_code = StatusCode.UNIMPLEMENTED


class Unavailable(Error, ConnectionError):
    """The store (Redis) cannot be reached or refused service for now; retry later."""

    default_code = StatusCode.UNAVAILABLE


class DeadlineExceeded(Error, TimeoutError):
    """The store did not answer in time; the call may or may not have taken effect."""

    default_code = StatusCode.DEADLINE_EXCEEDED


class Internal(Error):
    """The store answered something the library cannot understand (a bug)."""

    default_code = StatusCode.INTERNAL


_BY_CODE: Dict[StatusCode, Type[Error]] = {
    cls.default_code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        ResourceExhausted,
        Unimplemented,
        Unavailable,
        DeadlineExceeded,
        Internal,
    )
}


def from_status(code: int, message: str, refusal: Optional[str] = None,
                at: Optional[float] = None) -> Error:
    """The exception for a non-OK status: the subclass for `code`, else :class:`Error`; a
    :class:`JoinRefused` when the status carries a join refusal (`refusal`, `at`).

    Called by the compiled module for every failed library call.
    """
    try:
        status_code = StatusCode(code)
    except ValueError:
        status_code = StatusCode.UNKNOWN
    if refusal is not None and status_code == StatusCode.FAILED_PRECONDITION:
        return JoinRefused(message, status_code, refusal, at)
    cls = _BY_CODE.get(status_code, Error)
    return cls(message, status_code)
