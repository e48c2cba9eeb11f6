"""Fair openings through the bindings: the schedule and its pre-queue drawn at the opening, the
queueing methods, the safety net, and their counters (docs/rules.md, "Fair openings").

Everything runs on the in-memory store with a simulated clock and a seeded event secret, so
the draws are reproducible; the last test compares with the Redis store when there is one."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

import admission

T0 = 1767225600.0  # the SimulatedClock's default start, 2026-01-01T00:00:00Z


def make_room(clock: admission.SimulatedClock, seed: int = 1, store: str = "memory",
              event: str = "sale", **policy) -> admission.WaitingRoom:
    """A room whose event `event` has the test's policy (no tier waits unless given)."""
    kw = {"redis_key_prefix": "pytest-" + uuid.uuid4().hex[:8]} if store != "memory" else {}
    room = admission.WaitingRoom(store, clock=clock, event_secret_seed=seed, **kw)
    policy.setdefault("wait_tiers", [])
    room.set_policy(event, admission.Policy(**policy))
    return room


def drawn_order(room: admission.WaitingRoom, tokens) -> list:
    """The user ids of `tokens` sorted by their place in line."""
    statuses = [room.status(t) for t in tokens]
    return [s.user_id for s in sorted(statuses, key=lambda s: s.position)]


# --- The schedule ---------------------------------------------------------------------------


def test_policy_fields_round_trip(clock) -> None:
    p = admission.Policy()
    assert p.prequeue_opens_at is None and p.opens_at is None and p.closes_at is None
    assert p.method == "fifo" and p.reject_message == "" and not p.safety_net
    assert admission.QUEUE_METHODS == ("fifo", "random", "passthrough", "reject")
    assert admission.USER_STATES.index("prequeue") == 5  # Crowd's state column indexes it
    p = admission.Policy(prequeue_opens_at=T0 + 10, opens_at=T0 + 60.5, closes_at=T0 + 3600,
                         method="random", reject_message="Sold out", safety_net=True)
    p.validate()
    assert (p.prequeue_opens_at, p.opens_at, p.closes_at) == (T0 + 10, T0 + 60.5, T0 + 3600)
    text = repr(p)
    assert "opens_at=1767225660.5" in text and "method='random'" in text
    assert "safety_net=True" in text and "reject_message='Sold out'" in text
    room = admission.WaitingRoom(clock=clock)
    room.set_policy("e", p)
    got = room.get_policy("e")
    assert got == p and got.opens_at == T0 + 60.5 and got.method == "random"
    got.opens_at = None  # None unsets a time
    got.prequeue_opens_at = None
    assert got.opens_at is None and got != p


@pytest.mark.parametrize("fields", [
    dict(prequeue_opens_at=T0 + 10),                    # needs opens_at
    dict(prequeue_opens_at=T0 + 70, opens_at=T0 + 60),  # the pre-queue opens first
    dict(opens_at=T0 + 60, closes_at=T0 + 60),          # opens before it closes
    dict(reject_message="x" * 201),
])
def test_schedule_validation(fields) -> None:
    with pytest.raises(admission.InvalidArgument):
        admission.Policy(**fields).validate()


def test_bad_method_and_time() -> None:
    p = admission.Policy()
    with pytest.raises(admission.InvalidArgument) as info:
        p.method = "lottery"
    assert "lottery" in info.value.message
    with pytest.raises(admission.InvalidArgument):
        p.opens_at = float("nan")
    assert p.method == "fifo" and p.opens_at is None


def test_prequeue_join(clock) -> None:
    room = make_room(clock, opens_at=T0 + 60)
    a = room.join("sale", "alice")
    assert a.state == "prequeue" and a.status == "prequeue"
    assert a.opens_at == T0 + 60 and a.position == 0 and a.position_high == 1
    assert not a.ready_for_entry and a.blocked_by == "not_waiting"
    # The ETA runs to the opening, then to the farthest place the draw can give.
    assert a.eta_low >= 60 and a.eta_high >= a.eta_low
    assert "status='prequeue'" in repr(a) and "2026-01-01T00:01:00Z" in repr(a)
    b = room.join("sale", "bob")
    assert b.position_high == 2  # the pre-queue's size so far
    clock.advance(20)
    denied = room.enter(a.token)
    assert not denied.granted and denied.reason == "not_waiting"
    assert denied.retry_after == pytest.approx(40)
    assert room.status(a.token).opens_at == T0 + 60
    s = room.stats("sale")
    assert (s.prequeued, s.waiting, s.joined_total, s.opened) == (2, 0, 2, False)
    assert s.to_dict()["prequeued"] == 2
    # A user of an open line has no opening time.
    other = make_room(clock)
    assert other.join("sale", "carol").opens_at is None


def test_opening_draws_every_place_once(clock) -> None:
    n = 40
    room = make_room(clock, opens_at=T0 + 60, admit_rate_per_sec=1, burst=1, bypass_top_n=0)
    early = [room.join("sale", f"early-{i}").token for i in range(n)]
    # They poll just before the opening, as the advice has them do, so they are present when
    # the grants start (absent users would be passed over, keeping their place).
    clock.advance_to(T0 + 59)
    assert all(room.status(t).state == "prequeue" for t in early)
    clock.advance_to(T0 + 60)
    late = [room.join("sale", f"late-{i}") for i in range(5)]
    places = [room.status(t).position for t in early]
    assert sorted(places) == list(range(1, n + 1))  # 1..N, all distinct
    assert places != list(range(1, n + 1))          # drawn, not arrival order
    # Later arrivals queue behind every pre-queued user, in arrival order.
    assert [s.position for s in late] == list(range(n + 1, n + 6))
    assert all(s.state == "waiting" for s in late)
    # Fixed once drawn: the same answer on every poll.
    clock.advance(0.5)
    assert [room.status(t).position for t in early] == places
    s = room.stats("sale")
    assert (s.opened, s.shuffled_at_opening, s.prequeued, s.waiting) == (True, n, 0, n + 5)
    assert s.joined_total == n + 5
    # The first drawn user may enter; nobody else is ahead of them.
    first = early[places.index(1)]
    assert room.enter(first).granted


def test_same_seed_same_order(clock) -> None:
    def order(seed: int, event: str = "sale") -> list:
        c = admission.SimulatedClock()
        room = make_room(c, seed=seed, event=event, opens_at=T0 + 60)
        tokens = [room.join(event, f"u{i}").token for i in range(30)]
        c.advance_to(T0 + 60)
        return drawn_order(room, tokens)

    assert order(7) == order(7)
    assert order(7) != order(8)
    assert order(7) != order(7, event="other")  # each event has its own secret


def test_prequeue_order_is_uniform() -> None:
    # Who comes first among 4 pre-queued users, over 400 seeds: each about 100 times
    # (chi-square, 3 degrees of freedom, p = 0.001). Deterministic: the seeds are fixed.
    first = []
    for seed in range(400):
        c = admission.SimulatedClock()
        room = make_room(c, seed=seed, opens_at=T0 + 1)
        tokens = [room.join("sale", f"u{i}").token for i in range(4)]
        c.advance(1)
        first.append(drawn_order(room, tokens)[0])
    counts = np.array([first.count(f"u{i}") for i in range(4)])
    chi2 = float(((counts - 100.0) ** 2 / 100.0).sum())
    assert chi2 < 16.27, counts


def test_join_before_prequeue_opens(clock) -> None:
    room = make_room(clock, prequeue_opens_at=T0 + 10, opens_at=T0 + 60)
    with pytest.raises(admission.FailedPrecondition) as info:
        room.join("sale", "early-bird")
    e = info.value
    assert isinstance(e, admission.JoinRefused)
    assert e.code == admission.StatusCode.FAILED_PRECONDITION
    assert e.refusal == "not_open_yet" and e.at == T0 + 10
    assert "2026-01-01T00:00:10Z" in str(e) and "not_open_yet" in repr(e)
    clock.advance(10)
    assert room.join("sale", "early-bird").state == "prequeue"
    s = room.stats("sale")
    assert (s.refused_total, s.joined_total, s.prequeued) == (1, 1, 1)


def test_join_after_close(clock) -> None:
    room = make_room(clock, closes_at=T0 + 100.25, admit_rate_per_sec=1, burst=1,
                     bypass_top_n=0)
    a = room.join("sale", "alice")
    b = room.join("sale", "bob")
    clock.advance_to(T0 + 100.25)
    with pytest.raises(admission.FailedPrecondition) as info:
        room.join("sale", "carol")
    e = info.value
    assert isinstance(e, admission.JoinRefused) and e.refusal == "closed"
    assert e.at == T0 + 100.25 and "2026-01-01T00:01:40.25Z" in str(e)
    # Those already in line are still served.
    assert room.enter(a.token).granted
    clock.advance(1)
    assert room.enter(b.token).granted
    s = room.stats("sale")
    assert (s.refused_total, s.joined_total, s.admitted_total) == (1, 2, 2)


# --- Methods and the safety net -------------------------------------------------------------


def test_reject_method(clock) -> None:
    room = make_room(clock)
    inside = room.join("sale", "alice")
    p = room.get_policy("sale")
    p.method, p.reject_message = "reject", "Sold out, sorry."
    room.set_policy("sale", p)
    with pytest.raises(admission.JoinRefused) as info:
        room.join("sale", "bob")
    assert info.value.refusal == "rejected" and info.value.at is None
    assert info.value.message == "Sold out, sorry."
    p.reject_message = ""
    room.set_policy("sale", p)
    with pytest.raises(admission.FailedPrecondition, match="not accepting new arrivals"):
        room.join("sale", "bob")
    assert room.enter(inside.token).granted  # the line is still served
    s = room.stats("sale")
    assert (s.refused_total, s.joined_total, s.admitted_total) == (2, 1, 1)


def test_passthrough_admits_at_once(clock) -> None:
    room = make_room(clock, method="passthrough", admit_rate_per_sec=0, burst=0,
                     active_capacity=1)
    for name in ("alice", "bob", "carol"):  # neither the bucket nor the capacity applies
        s = room.join("sale", name)
        assert s.state == "active" and s.reservation_token is not None and s.position == 0
    again = room.enter(s.token)
    assert again.granted and again.repeated and again.reservation_token == s.reservation_token
    st = room.stats("sale")
    assert (st.admitted_by_passthrough, st.admitted_total, st.active, st.waiting) == (3, 3, 3, 0)
    # A pause stops every method: the arrival waits.
    p = room.get_policy("sale")
    p.paused = True
    room.set_policy("sale", p)
    paused = room.join("sale", "dave")
    assert paused.state == "waiting" and paused.blocked_by == "paused"


def test_safety_net_admits_into_an_empty_line(clock) -> None:
    room = make_room(clock, safety_net=True, active_capacity=1)
    first = room.join("sale", "alice")
    assert first.state == "active" and first.reservation_token is not None
    # At capacity: the next arrival waits, and the one after joins a line that is not empty.
    second = room.join("sale", "bob")
    assert second.state == "waiting" and second.blocked_by == "capacity_full"
    room.complete(first.token)
    third = room.join("sale", "carol")
    assert third.state == "waiting" and third.position == 2
    s = room.stats("sale")
    assert (s.admitted_by_safety_net, s.admitted_total, s.waiting) == (1, 1, 2)
    # Without the net, a join into an empty line always queues (ready at once).
    plain = make_room(clock, event="quiet")
    q = plain.join("quiet", "dave")
    assert q.state == "waiting" and q.status == "ready"
    assert plain.stats("quiet").admitted_by_safety_net == 0


def test_random_method_gives_ranges(clock) -> None:
    room = make_room(clock, method="random", admit_rate_per_sec=1, burst=1, bypass_top_n=1)
    # The front is drawn 90 s of grants ahead of the cursor: 1 + 1 + 90 users here.
    tokens = [room.join("sale", f"u{i}").token for i in range(120)]
    statuses = [room.status(t) for t in tokens]
    for s in statuses:
        assert s.state == "waiting"
        assert s.position_high >= s.position >= 1
        assert s.eta_low <= s.eta <= s.eta_high
    ranged = [s for s in statuses if s.position_high > s.position]
    assert ranged, "users not drawn yet are shown a range"
    assert ".." in repr(ranged[0])
    st = room.stats("sale")
    drawn = st.drawn
    # Drawn ahead of the cursor: bypass_top_n + burst + ceil(rate * 90 s), besides the one the
    # burst granted.
    assert st.granted == 1 and drawn - st.granted == 92
    assert len(statuses) - len(ranged) == drawn
    # The drawn users are the front; its first enters, and the draws go on.
    front = [t for t, s in zip(tokens, statuses) if s.position == 1 == s.position_high]
    assert room.enter(front[0]).granted
    assert room.stats("sale").admitted_total == 1


def test_crowd_reports_prequeue(clock) -> None:
    room = make_room(clock, opens_at=T0 + 60)
    crowd = admission.Crowd(room, "sale")
    r = crowd.join(np.arange(5, dtype=np.int64))
    assert (r["error"] == 0).all()
    assert (r["state"] == admission.USER_STATES.index("prequeue")).all()
    assert not r["ready"].any() and (r["position"] == 0).all()
    clock.advance_to(T0 + 60)
    r = crowd.status(np.arange(5, dtype=np.int64))
    assert sorted(r["position"].tolist()) == [1, 2, 3, 4, 5]


# --- The Redis store ------------------------------------------------------------------------


def test_redis_draws_like_memory(redis_url) -> None:
    """With one seed the Redis store draws the memory store's order (once it implements fair
    openings; until then it refuses the schedule with Unimplemented)."""
    def order(store: str) -> list:
        c = admission.SimulatedClock()
        room = make_room(c, seed=11, store=store, opens_at=T0 + 60)
        tokens = [room.join("sale", f"u{i}").token for i in range(20)]
        assert room.status(tokens[0]).state == "prequeue"
        c.advance_to(T0 + 60)
        return drawn_order(room, tokens)

    try:
        on_redis = order(redis_url)
    except admission.Unimplemented as e:
        pytest.skip(f"the Redis store does not implement fair openings yet: {e}")
    assert on_redis == order("memory")
