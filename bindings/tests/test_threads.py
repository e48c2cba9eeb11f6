"""Several Python threads drive one room: the GIL is released inside the library."""

from __future__ import annotations

import threading

import admission


def test_concurrent_joins_get_unique_positions(clock) -> None:
    room = admission.WaitingRoom(clock=clock)
    room.set_policy("sale", admission.Policy(admit_rate_per_sec=1, burst=1, bypass_top_n=0))
    threads, per_thread = 8, 250
    results: list = [None] * threads
    barrier = threading.Barrier(threads)

    def worker(k: int) -> None:
        barrier.wait()
        mine = []
        for i in range(per_thread):
            s = room.join("sale", f"t{k}-{i}")
            room.status(s.token)  # heartbeat, interleaved with other threads' joins
            mine.append(s)
        results[k] = mine

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
        assert not t.is_alive(), "deadlock: a thread did not finish"
    statuses = [s for mine in results for s in mine]
    n = threads * per_thread
    assert sorted(s.position for s in statuses) == list(range(1, n + 1))
    assert len({s.token for s in statuses}) == n
    assert room.stats("sale").waiting == n


def test_gil_released_while_library_works(clock) -> None:
    """A pure-Python thread keeps running while another thread is inside library calls; the
    batch helper holds no GIL either."""
    import numpy as np

    room = admission.WaitingRoom(clock=clock)
    crowd = admission.Crowd(room, "sale")
    stop = threading.Event()
    ticks = [0]

    def spinner() -> None:
        while not stop.is_set():
            ticks[0] += 1

    t = threading.Thread(target=spinner)
    t.start()
    try:
        r = crowd.join(np.arange(20000))
        crowd.status(np.arange(20000))
    finally:
        stop.set()
        t.join()
    assert (r["error"] == 0).all()
    assert sorted(r["position"].tolist()) == list(range(1, 20001))
    assert ticks[0] > 0


def test_concurrent_enter_respects_bucket(clock) -> None:
    room = admission.WaitingRoom(clock=clock)
    room.set_policy("sale", admission.Policy(admit_rate_per_sec=0.001, burst=50,
                                             bypass_top_n=0, wait_tiers=[]))
    tokens = [room.join("sale", f"u{i}").token for i in range(400)]
    granted = []
    lock = threading.Lock()

    def worker(chunk) -> None:
        for tok in chunk:
            if room.enter(tok).granted:
                with lock:
                    granted.append(tok)

    pool = [threading.Thread(target=worker, args=(tokens[k::4],)) for k in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
        assert not t.is_alive()
    assert len(granted) <= 50
    assert room.stats("sale").admitted_total == len(granted)
