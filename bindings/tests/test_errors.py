"""Library errors arrive as admission.Error subclasses carrying the status code."""

from __future__ import annotations

import pytest

import admission
from admission import StatusCode


def test_hierarchy() -> None:
    for cls in (admission.InvalidArgument, admission.NotFound, admission.AlreadyExists,
                admission.FailedPrecondition, admission.JoinRefused,
                admission.ResourceExhausted, admission.Unimplemented, admission.Unavailable,
                admission.DeadlineExceeded, admission.Internal):
        assert issubclass(cls, admission.Error)
    assert issubclass(admission.JoinRefused, admission.FailedPrecondition)
    assert issubclass(admission.Unimplemented, NotImplementedError)
    assert issubclass(admission.InvalidArgument, ValueError)
    assert issubclass(admission.NotFound, LookupError)
    assert issubclass(admission.Unavailable, ConnectionError)
    assert issubclass(admission.DeadlineExceeded, TimeoutError)
    e = admission.errors.from_status(8, "too many")
    assert type(e) is admission.ResourceExhausted and e.code == StatusCode.RESOURCE_EXHAUSTED
    e = admission.errors.from_status(10, "aborted")
    assert type(e) is admission.Error and e.code == StatusCode.ABORTED
    assert type(admission.errors.from_status(12, "later")) is admission.Unimplemented
    e = admission.errors.from_status(9, "closed", refusal="closed", at=5.0)
    assert type(e) is admission.JoinRefused and (e.refusal, e.at) == ("closed", 5.0)
    assert type(admission.errors.from_status(99, "?")) is admission.Error


def test_already_exists(room) -> None:
    room.join("sale", "alice")
    with pytest.raises(admission.AlreadyExists) as info:
        room.join("sale", "alice")
    assert info.value.code == StatusCode.ALREADY_EXISTS
    assert "alice" in str(info.value) and info.value.message == str(info.value)


def test_not_found(room) -> None:
    with pytest.raises(admission.NotFound) as info:
        room.status("sale." + "0" * 32)
    assert info.value.code == StatusCode.NOT_FOUND
    with pytest.raises(admission.NotFound):
        room.get_policy("no-such-event")
    with pytest.raises(admission.NotFound):
        room.stats("no-such-event")


def test_invalid_argument(room) -> None:
    for bad in ("", "no spaces", "x" * 65):
        with pytest.raises(admission.InvalidArgument) as info:
            room.join(bad, "u")
        assert info.value.code == StatusCode.INVALID_ARGUMENT
    with pytest.raises(admission.InvalidArgument):
        room.join("sale", "bad user")
    with pytest.raises(admission.InvalidArgument):
        room.status("not-a-token")
    with pytest.raises(admission.InvalidArgument):
        admission.validate_event_id("a/b")
    admission.validate_user_id("alice@example.com")


def test_failed_precondition(room) -> None:
    s = room.join("sale", "carol")
    with pytest.raises(admission.FailedPrecondition) as info:
        room.complete(s.token)  # not admitted
    assert info.value.code == StatusCode.FAILED_PRECONDITION
    room.leave(s.token)
    with pytest.raises(admission.FailedPrecondition):
        room.enter(s.token)


def test_unavailable() -> None:
    if not admission.has_redis:
        pytest.skip("built without the Redis store")
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(admission.Unavailable) as info:
        admission.WaitingRoom(f"redis://127.0.0.1:{port}", redis_connect_timeout=0.5)
    assert info.value.code == StatusCode.UNAVAILABLE


def test_bad_store_url() -> None:
    with pytest.raises(admission.Error):
        admission.WaitingRoom("rediss://secure:6379")


def test_repr_and_raise_from_python() -> None:
    e = admission.NotFound("gone")
    assert e.code == StatusCode.NOT_FOUND and "NotFound('gone'" in repr(e)
    with pytest.raises(admission.Error):
        raise e
