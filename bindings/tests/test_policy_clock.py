"""Policy conversion and validation; simulated clock arithmetic."""

from __future__ import annotations

import copy
import pathlib
import re

import pytest

import admission


def test_defaults_and_fields() -> None:
    p = admission.Policy()
    assert p.admit_rate_per_sec == 100 and p.burst == 100 and p.bypass_top_n == 10
    assert p.active_capacity == 50000
    assert p.heartbeat_ttl == 300 and p.active_ttl == 600
    assert p.reservation_ttl == 30 and p.ended_ttl == 600
    assert p.wait_tiers == [(10, 0.0), (50, 2.0), (None, 5.0)]
    assert p.rate_windows == [10.0, 60.0, 300.0]
    assert not p.paused and p.paused_reason == ""
    p.validate()
    assert p.tier_wait(1) == 0 and p.tier_wait(11) == 2 and p.tier_wait(10**9) == 5
    assert "Policy(admit_rate_per_sec=100" in repr(p)


def test_repr_names_every_field_in_order() -> None:
    p = admission.Policy(wait_tiers=[(3, 1.5), (None, 4)], paused_reason="it's", opens_at=1.5e9,
                         method="random", safety_net=True)
    assert repr(p) == (
        "Policy(admit_rate_per_sec=100, burst=100, bypass_top_n=10, active_capacity=50000, "
        "heartbeat_ttl=300, active_ttl=600, reservation_ttl=30, ended_ttl=600, "
        "wait_tiers=[(3, 1.5), (None, 4)], rate_windows=[10, 60, 300], paused=False, "
        "paused_reason='it's', prequeue_opens_at=None, opens_at=1500000000.0, closes_at=None, "
        "method='random', reject_message='', safety_net=True, claim_window=5, "
        "queue_message='')")


def test_stub_declares_every_field() -> None:
    """The stub's Policy (generated from the table of fields) against the module's."""
    stub = (pathlib.Path(admission.__file__).parent / "__init__.pyi").read_text()
    body = stub.split("class Policy:", 1)[1].split("\nclass ", 1)[0]
    declared = re.findall(r"^    ([a-z_]+): ", body, re.MULTILINE)
    keywords = re.findall(r"^        ([a-z_]+): .* = \.\.\.,$", body, re.MULTILINE)
    properties = sorted(name for name in dir(admission.Policy)
                        if isinstance(getattr(admission.Policy, name), property))
    assert sorted(declared) == properties
    assert keywords == declared


def test_kwargs_and_unknown_field() -> None:
    p = admission.Policy(burst=5, heartbeat_ttl=12.5, wait_tiers=[(3, 1.5), (None, 4)])
    assert p.burst == 5 and p.heartbeat_ttl == 12.5
    assert p.wait_tiers == [(3, 1.5), (None, 4.0)]
    with pytest.raises(TypeError):
        admission.Policy(no_such_field=1)


def test_round_trip(room) -> None:
    p = admission.Policy(admit_rate_per_sec=12.5, burst=30, bypass_top_n=3, active_capacity=99,
                         heartbeat_ttl=45, active_ttl=120.5, reservation_ttl=10,
                         ended_ttl=60, wait_tiers=[(5, 0), (None, 1.25)],
                         rate_windows=[5, 30], paused=True, paused_reason="maintenance",
                         queue_message="Verkauf ab 10:30 – 판매")
    room.set_policy("other", p)
    got = room.get_policy("other")
    assert got == p and got is not p
    assert got.paused_reason == "maintenance" and got.rate_windows == [5.0, 30.0]
    q = copy.deepcopy(got)
    q.burst = 31
    assert q != got and got.burst == 30
    assert got != "not a policy"
    # A paused room admits nobody.
    s = room.join("other", "u")
    assert s.blocked_by == "paused" and s.paused_reason == "maintenance"
    assert s.queue_message == "Verkauf ab 10:30 – 판매"
    assert s.eta_confidence == 0
    o = room.outlook("other")
    assert o.state == "paused" and o.waiting == 1 and o.active == 0
    assert o.queue_message == "Verkauf ab 10:30 – 판매" and o.event_id == "other"
    assert "RoomOutlook(event_id='other', state='paused'" in repr(o)
    with pytest.raises(admission.NotFound):
        room.outlook("nobody")


@pytest.mark.parametrize("field,value", [
    ("admit_rate_per_sec", -1.0),
    ("burst", -1),
    ("heartbeat_ttl", 0.0),
    ("wait_tiers", [(10, 5.0), (None, 1.0)]),   # waits must not decrease
    ("wait_tiers", [(10, 0.0)]),                # the last tier must be unbounded
    ("rate_windows", [60.0, 10.0]),             # strictly increasing
])
def test_validation_errors(room, field, value) -> None:
    p = admission.Policy()
    setattr(p, field, value)
    with pytest.raises(admission.InvalidArgument) as info:
        p.validate()
    assert info.value.code == admission.StatusCode.INVALID_ARGUMENT
    with pytest.raises(admission.InvalidArgument):
        room.set_policy("sale", p)
    assert room.get_policy("sale").admit_rate_per_sec == 2  # unchanged


def test_nan_duration_rejected() -> None:
    p = admission.Policy()
    with pytest.raises(admission.InvalidArgument):
        p.heartbeat_ttl = float("nan")


def test_clock_arithmetic() -> None:
    c = admission.SimulatedClock()
    start = c.now
    assert start == 1767225600.0  # 2026-01-01T00:00:00Z
    c.advance(1.5)
    assert c.now == pytest.approx(start + 1.5)
    c.advance(0.25)
    assert c.now == pytest.approx(start + 1.75)
    c.advance(-10)  # time never goes back
    assert c.now == pytest.approx(start + 1.75)
    c.advance_to(start + 100)
    assert c.now == pytest.approx(start + 100)
    c.advance_to(start)  # earlier: ignored
    assert c.now == pytest.approx(start + 100)
    assert "2026-01-01T00:01:40" in repr(c)
    assert admission.SimulatedClock(start=1000.0).now == 1000.0


def test_room_follows_clock(room, clock) -> None:
    s = room.join("sale", "u")
    clock.advance(42)
    st = room.status(s.token)
    assert st.now == pytest.approx(s.now + 42)
    assert st.waited == pytest.approx(42)
    clock.advance(room.get_policy("sale").heartbeat_ttl + 1)  # a ghost now
    assert room.status(s.token).state == "expired"
