"""Python bindings of the `admission` library: virtual waiting rooms.

Drive the real C++ library (in-memory or Redis store) from Python::

    import admission

    clock = admission.SimulatedClock()
    room = admission.WaitingRoom(clock=clock)
    room.set_policy("sale", admission.Policy(admit_rate_per_sec=50, burst=50))
    me = room.join("sale", "alice")          # QueueStatus with .token, .position, .eta
    clock.advance(me.poll_after)
    if room.status(me.token).ready_for_entry:
        grant = room.enter(me.token)         # EnterResult; truthy when granted

Durations are float seconds, instants float seconds since the epoch (None for "never" or
"unset"), enums strings. Errors raise :class:`admission.Error` subclasses carrying ``.code``.

Fair openings (docs/rules.md): a Policy's ``prequeue_opens_at`` / ``opens_at`` /
``closes_at`` schedule a sale whose pre-queue is drawn at random at the opening, ``method``
is ``"fifo"``, ``"random"``, ``"passthrough"`` or ``"reject"``, and ``safety_net`` admits
arrivals into an empty line at once. A join the schedule or the method refuses raises
:class:`admission.JoinRefused` (a FailedPrecondition with ``.refusal`` and ``.at``).

The GIL is released during every library call. ``python3 -m admission.simulate`` runs a flash
sale on a simulated clock.
"""

from __future__ import annotations

from .errors import (
    AlreadyExists,
    DeadlineExceeded,
    Error,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    JoinRefused,
    NotFound,
    ResourceExhausted,
    StatusCode,
    Unavailable,
    Unimplemented,
)
from ._admission import (
    ENTRY_BLOCKS,
    QUEUE_METHODS,
    USER_STATES,
    Calendar,
    Crowd,
    EnterResult,
    EventStats,
    Policy,
    QueueStatus,
    RoomOutlook,
    SimulatedClock,
    WaitingRoom,
    __version__,
    has_redis,
    validate_event_id,
    validate_user_id,
)

__all__ = [
    "WaitingRoom",
    "Policy",
    "QueueStatus",
    "EnterResult",
    "EventStats",
    "RoomOutlook",
    "SimulatedClock",
    "Crowd",
    "Calendar",
    "USER_STATES",
    "ENTRY_BLOCKS",
    "QUEUE_METHODS",
    "has_redis",
    "validate_event_id",
    "validate_user_id",
    "Error",
    "StatusCode",
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
    "__version__",
]
