"""The batch helpers of the simulator: Crowd (library calls in a C++ loop) and Calendar."""

from __future__ import annotations

import math

import numpy as np
import pytest

import admission

WAITING = admission.USER_STATES.index("waiting")
ACTIVE = admission.USER_STATES.index("active")
NOT_FOUND = int(admission.StatusCode.NOT_FOUND)
FAILED_PRECONDITION = int(admission.StatusCode.FAILED_PRECONDITION)


def test_crowd_answers_as_the_single_calls_do(room, clock) -> None:
    crowd = admission.Crowd(room, "sale", "c")
    r = crowd.join(np.arange(5))
    assert len(crowd) == 5
    assert r["error"].dtype == np.int32 and r["ready"].dtype == np.bool_
    assert r["position"].tolist() == [1, 2, 3, 4, 5]
    assert (r["state"] == WAITING).all()
    # The same user through the plain API: same token, same place.
    one = room.status(crowd.token(3))
    assert one.user_id == "c3" and one.position == 4
    s = crowd.status(np.array([3, 0]))
    assert s["position"].tolist() == [4, 1]
    assert s["eta"][0] == pytest.approx(one.eta)
    assert s["poll_after"][0] == pytest.approx(one.poll_after)
    assert s["ready"].tolist() == [room.status(crowd.token(3)).ready_for_entry, True]


def test_crowd_poll_enters_the_ready_only(room, clock) -> None:
    crowd = admission.Crowd(room, "sale")
    crowd.join(np.arange(6))
    # Burst 2: the joins granted the first two; the bypass (1) gives credit only to position 1,
    # so the others are told to wait.
    r = crowd.poll(np.arange(6))
    assert r["granted"].tolist() == [True, True, False, False, False, False]
    assert r["state"].tolist() == [ACTIVE] * 2 + [WAITING] * 4
    assert (r["blocked_by"][2:] == admission.ENTRY_BLOCKS.index("not_your_turn")).all()
    assert (r["poll_after"][2:] > 0).all()
    stats = room.stats("sale")
    assert stats.admitted_total == 2 and stats.waiting == 4
    # An admitted user who polls again is told it is active; nothing else happens.
    again = crowd.poll(np.array([0]))
    assert not again["granted"][0] and again["state"][0] == ACTIVE
    assert room.stats("sale").admitted_total == 2


def test_crowd_errors_are_codes_not_exceptions(room) -> None:
    crowd = admission.Crowd(room, "sale")
    crowd.join(np.arange(2))
    r = crowd.status(np.array([0, 7]))  # 7 never joined
    assert r["error"].tolist() == [0, NOT_FOUND]
    assert r["state"][1] == -1
    c = crowd.complete(np.array([1]))  # waiting, not admitted
    assert c["error"][0] == FAILED_PRECONDITION
    again = crowd.join(np.array([0]))
    assert again["error"][0] == int(admission.StatusCode.ALREADY_EXISTS)
    with pytest.raises(admission.InvalidArgument):
        crowd.status(np.array([-1]))
    with pytest.raises(admission.NotFound):
        crowd.token(7)


def test_crowd_leave_and_complete(room, clock) -> None:
    crowd = admission.Crowd(room, "sale")
    crowd.join(np.arange(4))
    left = crowd.leave(np.array([3]))
    assert left["error"][0] == 0 and left["state"][0] == admission.USER_STATES.index("left")
    assert crowd.enter(np.array([0]))["granted"][0]
    done = crowd.complete(np.array([0]))
    assert done["state"][0] == admission.USER_STATES.index("completed")
    stats = room.stats("sale")
    assert (stats.joined_total, stats.admitted_total, stats.left_total,
            stats.completed_total) == (4, 1, 1, 1)


def test_crowd_many_users_out_of_order(room) -> None:
    """Tokens are found by index whatever the order (the C++ loop prefetches ahead)."""
    crowd = admission.Crowd(room, "sale")
    order = np.random.default_rng(3).permutation(3000)
    crowd.join(order)
    r = crowd.status(order[::-1].copy())
    assert (r["error"] == 0).all()
    positions = np.empty(3000, dtype=np.int64)
    positions[order] = np.arange(1, 3001)
    assert r["position"].tolist() == positions[order[::-1]].tolist()


def test_calendar_hands_out_by_tick_and_kind() -> None:
    cal = admission.Calendar(10, kinds=3, tick_sec=0.5)
    assert (cal.last_tick, cal.kinds, cal.tick_sec, cal.next_tick, len(cal)) == (10, 3, 0.5, 0, 0)
    cal.push(np.array([2, 1, 2]), 2, np.array([7, 8, 9]))
    cal.push(np.array([2]), 0, np.array([5]))
    assert len(cal) == 4
    assert [a.tolist() for a in cal.pop(0)] == [[], [], []]
    assert [a.tolist() for a in cal.pop(1)] == [[], [], [8]]
    assert [a.tolist() for a in cal.pop(2)] == [[5], [], [7, 9]]  # filing order within a tick
    assert len(cal) == 0 and cal.next_tick == 3
    # Popping ahead hands out everything due by then, in tick order.
    cal.push(np.array([5, 4]), 1, np.array([1, 2]))
    assert [a.tolist() for a in cal.pop(6)] == [[], [2, 1], []]


def test_calendar_times_and_limits() -> None:
    cal = admission.Calendar(10, kinds=2, tick_sec=0.1)
    # Seconds to ticks: the first tick at or after the time; a hair past a tick stays on it.
    cal.push_times(np.array([0.0, 0.1 * 3, 0.31, 0.2000000001]), 0, np.array([0, 1, 2, 3]))
    cal.push_times(np.array([5.0, math.inf]), 1, np.array([4, 5]))  # after the last tick
    assert cal.dropped == 2 and len(cal) == 4
    assert cal.pop(0)[0].tolist() == [0]
    assert cal.pop(3)[0].tolist() == [3, 1]
    # What is due now or earlier goes to the next tick.
    cal.push_times(np.array([0.0, -5.0]), 1, np.array([6, 7]))
    assert [a.tolist() for a in cal.pop(4)] == [[2], [6, 7]] and cal.next_tick == 5
    with pytest.raises(admission.InvalidArgument):
        cal.push(np.array([1]), 0, np.array([1]))  # already played
    with pytest.raises(admission.InvalidArgument):
        cal.push(np.array([6]), 2, np.array([1]))  # no such kind
    with pytest.raises(admission.InvalidArgument):
        cal.push(np.array([6, 7]), 0, np.array([1]))
    with pytest.raises(admission.InvalidArgument):
        cal.push_times(np.array([math.nan]), 0, np.array([1]))
    with pytest.raises(admission.InvalidArgument):
        cal.pop(11)
    assert len(cal) == 0
