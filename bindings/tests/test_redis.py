"""The same API over the Redis store (a throwaway redis-server, or ADMISSION_TEST_REDIS_URL)."""

from __future__ import annotations

import uuid

import pytest

import admission


def test_redis_store_end_to_end(redis_url) -> None:
    clock = admission.SimulatedClock()
    room = admission.WaitingRoom(redis_url, clock=clock,
                                 redis_key_prefix="pytest-" + uuid.uuid4().hex[:8])
    assert room.store.startswith("redis://")
    room.set_policy("sale", admission.Policy(admit_rate_per_sec=1, burst=1, bypass_top_n=0,
                                             wait_tiers=[]))
    a = room.join("sale", "alice")
    b = room.join("sale", "bob")
    assert (a.position, b.position) == (1, 2)
    with pytest.raises(admission.AlreadyExists):
        room.join("sale", "alice")
    assert room.enter(a.token).granted
    assert room.enter(b.token).reason == "not_your_turn"
    clock.advance(1)
    assert room.enter(b.token).granted
    assert room.complete(a.token).state == "completed"
    assert room.leave(b.token).state == "left"
    stats = room.stats("sale")
    assert (stats.joined_total, stats.admitted_total, stats.completed_total) == (2, 2, 1)
    assert "sale" in room.events()
    with pytest.raises(admission.NotFound):
        room.status("sale." + "0" * 32)
    room.close()
