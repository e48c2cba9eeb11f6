"""The WaitingRoom API end to end on a simulated clock."""

from __future__ import annotations

import math

import pytest

import admission


def test_package_layout() -> None:
    assert admission.__version__
    assert isinstance(admission.has_redis, bool)
    assert admission.USER_STATES[0] == "waiting"
    assert "not_your_turn" in admission.ENTRY_BLOCKS
    for name in ("WaitingRoom", "Policy", "QueueStatus", "EnterResult", "EventStats",
                 "SimulatedClock", "Crowd", "Calendar"):
        assert getattr(admission, name).__doc__, name


def test_join_status_enter_complete(room, clock) -> None:
    first = room.join("sale", "alice")
    assert first.event_id == "sale" and first.user_id == "alice"
    assert first.token.startswith("sale.")
    assert first.state == "waiting" and first.status == "ready"
    assert first.position == 1 and first.ready_for_entry
    assert first.blocked_by == "none" and first.eta == 0
    assert first.reservation_token is None and first.reservation_expires_at is None
    assert first.now == pytest.approx(clock.now)
    assert "QueueStatus(" in repr(first)

    grant = room.enter(first.token)
    assert grant and grant.granted and not grant.repeated
    assert grant.reservation_token and grant.reservation_expires_at == pytest.approx(
        clock.now + 30)
    assert grant.status.state == "active" and grant.status.position == 0
    again = room.enter(first.token)
    assert again.repeated and again.reservation_token == grant.reservation_token

    assert room.find("sale", "alice").token == first.token  # by user id, while admitted
    done = room.complete(first.token)
    assert done.state == "completed"
    with pytest.raises(admission.NotFound):
        room.find("sale", "alice")  # an ended place is no place
    assert room.status(first.token).state == "completed"
    assert room.complete(first.token).state == "completed"  # repeats are harmless


def test_eta_and_confidence_are_sane(room, clock) -> None:
    statuses = [room.join("sale", f"u{i}") for i in range(20)]
    assert [s.position for s in statuses] == list(range(1, 21))
    for s in statuses:
        assert 0.0 <= s.eta_confidence <= 1.0
        assert s.eta >= 0 and math.isfinite(s.eta)
        assert s.poll_after >= 0.1
    # Before any admission the cursor's speed is the policy rate (2/s): a user waits for the
    # users ahead whom the grants have not reached (the burst's 2 are granted at once).
    assert statuses[-1].ahead_unreached == 17
    assert statuses[-1].eta == pytest.approx(17 / 2)
    assert statuses[-1].eta >= statuses[5].eta
    back = statuses[-1]
    assert not back.ready_for_entry and back.blocked_by == "not_your_turn"
    denied = room.enter(back.token)
    assert not denied and denied.reason == "not_your_turn" and denied.retry_after > 0
    assert denied.message
    # Admit the front for a while: the ETA is then measured, with some confidence.
    for _ in range(30):
        clock.advance(0.5)
        for s in statuses:
            st = room.status(s.token)
            if st.ready_for_entry:
                room.enter(s.token)
    left = [room.status(s.token) for s in statuses]
    waiting = [s for s in left if s.state == "waiting"]
    assert all(s.eta_confidence > 0 for s in waiting)
    stats = room.stats("sale")
    assert stats.admitted_total == 20 - len(waiting)
    assert stats.admission_rate_per_sec > 0


def test_leave_and_rejoin(room) -> None:
    s = room.join("sale", "bob")
    gone = room.leave(s.token)
    assert gone.state == "left" and gone.position == 0
    assert room.leave(s.token).state == "left"
    again = room.join("sale", "bob")  # a user who left may join again, at the back
    assert again.token != s.token


def test_stats_events_sweep(room, clock) -> None:
    tokens = [room.join("sale", f"g{i}").token for i in range(5)]
    stats = room.stats("sale")
    assert stats.event_id == "sale" and stats.waiting == 5 and stats.joined_total == 5
    assert set(stats.to_dict()) >= {"waiting", "active", "expired_total", "now"}
    assert "EventStats(" in repr(stats)
    assert room.events() == ["sale"]
    clock.advance(room.get_policy("sale").heartbeat_ttl + 1)
    assert room.sweep_all() >= 5
    stats = room.stats("sale")
    assert stats.waiting == 0 and stats.expired_total == 5
    assert room.status(tokens[0]).state == "expired"


def test_grants_presence_and_lapses(clock) -> None:
    """Grants go to the first present users; a grant unclaimed for claim_window lapses and
    absent users are passed over (docs/rules.md, "Presence, the cursor and grants")."""
    room = admission.WaitingRoom(clock=clock)
    policy = admission.Policy(admit_rate_per_sec=1, burst=1, bypass_top_n=0, wait_tiers=[],
                              claim_window=3)
    assert policy.claim_window == 3 and admission.Policy().claim_window == 5
    assert "claim_window=3" in repr(policy)
    room.set_policy("sale", policy)
    s = [room.join("sale", f"u{i}") for i in range(4)]
    assert s[0].ready_for_entry and s[0].grant_expires_at == pytest.approx(clock.now + 3)
    assert [x.ahead_unreached for x in s] == [0, 0, 1, 2]
    assert all(x.grant_expires_at is None for x in s[1:])
    stats = room.stats("sale")
    assert (stats.granted, stats.passed_total, stats.lapsed_total) == (1, 0, 0)
    assert stats.to_dict()["granted"] == 1
    # u0 never claims; u2 and u3 were told to come back within the presence window and do not.
    clock.advance(4)
    nxt = room.status(s[1].token)  # u0's grant lapsed, its token passes on to u1
    assert nxt.ready_for_entry and nxt.grant_expires_at == pytest.approx(clock.now + 3)
    stats = room.stats("sale")
    assert stats.lapsed_total == 1 and stats.granted == 1
    assert stats.passed_total == 2  # u2 and u3 were absent: passed over, keeping their place
    back = room.status(s[2].token)
    assert back.position == 3 and back.ahead_unreached == 0 and not back.ready_for_entry
    d = stats.to_dict()
    assert d["passed_total"] == 2 and d["lapsed_total"] == 1
    assert room.enter(nxt.token).granted
    assert room.stats("sale").granted == 0


def test_default_policy_and_create_on_join(clock) -> None:
    policy = admission.Policy(admit_rate_per_sec=7)
    room = admission.WaitingRoom(clock=clock, default_policy=policy)
    room.join("new-event", "x")
    assert room.get_policy("new-event") == policy
    closed = admission.WaitingRoom(clock=clock, create_events_on_join=False)
    with pytest.raises(admission.NotFound):
        closed.join("nope", "x")


def test_context_manager_and_close(clock) -> None:
    with admission.WaitingRoom(clock=clock) as room:
        room.join("e", "u")
        assert "memory" in repr(room) and room.clock is clock
    with pytest.raises(admission.FailedPrecondition):
        room.events()


def test_wall_clock_room_has_sweeper() -> None:
    room = admission.WaitingRoom()
    assert room.clock is None
    s = room.join("wall", "u1")
    assert s.now == pytest.approx(__import__("time").time(), abs=5)
    room.close()
