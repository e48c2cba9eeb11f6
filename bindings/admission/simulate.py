"""Flash-sale simulator: the real library on a simulated clock.

    python3 -m admission.simulate --crowd 300000 --surge-sec 60 --duration-sec 3600 --out DIR

A crowd arrives (most of it in a surge, then a trickle), joins one event of a WaitingRoom over
the in-memory store, and polls as real clients do: each user calls ``status`` again after the
``poll_after`` the library suggested, calls ``enter`` as soon as it says ``ready``, buys for a
while and calls ``complete``. Some users give up while waiting: some click "leave", the rest
close the tab and become ghosts that the heartbeat TTL must remove. Every decision (positions,
the token bucket, bypass, tiers, ETAs, ghosts) is the library's own: the simulator only
schedules the calls and records what it is told.

The loop is event-driven: every user's next action sits in a calendar queue
(``admission.Calendar``: one bucket per time step of the simulation, 100 ms by default, filed
and emptied in C++), and each step hands all the actions due at that instant to the library in
one batch (``admission.Crowd``: one C++ loop over the library's calls, GIL released, answers as
numpy arrays). Python only does vectorized bookkeeping on numpy arrays per batch; nothing loops
over users in Python, nor over all users per step, so 300,000 people and an hour of sale run in
well under a minute.

With ``--opens-at-sec S`` the sale has a scheduled opening: everyone who arrives before S joins
the pre-queue (polling, no place yet) and gets a place drawn at random at S; ``--method random``
draws every admission at random among those waiting. The summary then says how admission order
followed arrival order (the fairness of the opening).

``--second-wave N`` sends N more people over ``--surge-sec`` from ``--second-wave-at-sec``
(default: half the duration); ``--rate-change-at-sec T --rate-change-to R`` has the operator set
a new rate at T. The summary's ``pace`` is the admissions of the seconds when more than
bypass + burst users who still poll wait, over what the policy's rate allowed in them.

Outputs: a summary table on stdout, ``summary.json`` and PNG plots (matplotlib, Agg) in --out.
While it runs, a status line on stderr (simulated time, admitted, waiting, elapsed and time
left) when stderr is a terminal; nothing otherwise, or with ``--progress off``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

import admission

__all__ = ["Config", "Simulation", "run", "main"]

# Kinds of scheduled actions, in the order they are applied within one instant.
DONE, JOIN, ABANDON, POLL = 0, 1, 2, 3
_KINDS = (DONE, JOIN, ABANDON, POLL)

# What the simulator knows about each user (state array).
NOT_ARRIVED, WAITING, ADMITTED, LEFT, GHOST, COMPLETED, LOST, TIMED_OUT = range(8)

_WAITING = admission.USER_STATES.index("waiting")
_PREQUEUE = admission.USER_STATES.index("prequeue")


@dataclass
class Config:
    """Every knob of one simulated sale. Times are seconds from the start of the sale."""

    # Arrivals: `crowd` people during the first `surge_sec` seconds ("uniform" or "decay": an
    # exponentially falling rate with most people at the start), then a Poisson trickle until
    # `trickle_until_sec` (default: the end).
    crowd: int = 300_000
    surge_sec: float = 60.0
    surge_shape: str = "uniform"
    trickle_per_sec: float = 20.0
    trickle_until_sec: Optional[float] = None
    duration_sec: float = 3600.0
    # A second wave: `second_wave` more people arriving uniformly over `surge_sec` from
    # `second_wave_at_sec` (default: half the duration).
    second_wave: int = 0
    second_wave_at_sec: Optional[float] = None
    # Abandonment: this share of users gives up while waiting, after an exponential time with
    # mean `abandon_mean_sec` from joining; of those, `ghost_share` just vanish (ghosts), the
    # others call leave.
    abandon_share: float = 0.2
    abandon_mean_sec: float = 600.0
    ghost_share: float = 0.5
    # Polling: "follow" the library's poll_after (times a random factor in 1 +- poll_jitter),
    # or poll every `poll_fixed_sec` ("fixed").
    poll: str = "follow"
    poll_jitter: float = 0.1
    poll_fixed_sec: float = 10.0
    # Time an admitted user spends buying before complete: exponential with this mean, at least
    # `purchase_min_sec`.
    purchase_mean_sec: float = 120.0
    purchase_min_sec: float = 10.0
    # The policy.
    rate: float = 250.0
    burst: int = 100
    bypass: int = 10
    capacity: int = 50_000
    tiers: str = "10:0,50:2,inf:5"
    heartbeat_ttl: float = 300.0
    active_ttl: float = 600.0
    reservation_ttl: float = 30.0
    ended_ttl: float = 600.0
    # The operator changes the rate mid-sale: at `rate_change_at_sec` the policy's rate becomes
    # `rate_change_to` (set_policy, every other field unchanged).
    rate_change_at_sec: Optional[float] = None
    rate_change_to: Optional[float] = None
    # Fair openings (docs/rules.md): with `opens_at_sec`, the event opens at that second and
    # everyone who arrives before joins the pre-queue, whose order is drawn at the opening;
    # `method` is the queueing method, "fifo" or "random".
    opens_at_sec: Optional[float] = None
    method: str = "fifo"
    # Room options.
    min_poll_sec: float = 1.0
    max_poll_sec: float = 60.0
    sweep_interval_sec: float = 1.0
    # Simulation.
    resolution_sec: float = 0.1
    eta_sample_share: float = 0.05
    seed: int = 1

    def policy(self, start: float = 0.0) -> admission.Policy:
        """The library Policy these knobs describe, for a sale that starts at `start` (seconds
        since the epoch: the schedule's times are absolute)."""
        opens_at = None if self.opens_at_sec is None else start + self.opens_at_sec
        return admission.Policy(
            admit_rate_per_sec=self.rate,
            burst=self.burst,
            bypass_top_n=self.bypass,
            active_capacity=self.capacity,
            heartbeat_ttl=self.heartbeat_ttl,
            active_ttl=self.active_ttl,
            reservation_ttl=self.reservation_ttl,
            ended_ttl=self.ended_ttl,
            wait_tiers=parse_tiers(self.tiers),
            opens_at=opens_at,
            method=self.method,
        )


def parse_tiers(text: str) -> List[Tuple[Optional[int], float]]:
    """'10:0,50:2,inf:5' -> [(10, 0.0), (50, 2.0), (None, 5.0)]; '' -> no tiers."""
    tiers: List[Tuple[Optional[int], float]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        pos, _, wait = part.partition(":")
        bound = None if pos.strip().lower() in ("inf", "*", "") else int(pos)
        tiers.append((bound, float(wait or 0)))
    return tiers


def _arrivals(cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times of everyone."""
    if cfg.surge_shape == "decay":
        # Exponentially falling rate: ~95% of the crowd within the surge.
        surge = rng.exponential(cfg.surge_sec / 3.0, cfg.crowd)
        surge = np.where(surge > cfg.surge_sec, rng.uniform(0, cfg.surge_sec, cfg.crowd), surge)
    elif cfg.surge_shape == "uniform":
        surge = rng.uniform(0, cfg.surge_sec, cfg.crowd)
    else:
        raise ValueError(f"unknown surge shape {cfg.surge_shape!r}")
    until = cfg.duration_sec if cfg.trickle_until_sec is None else cfg.trickle_until_sec
    span = max(0.0, until - cfg.surge_sec)
    n_trickle = rng.poisson(cfg.trickle_per_sec * span) if span > 0 else 0
    trickle = cfg.surge_sec + rng.uniform(0, span, n_trickle)
    parts = [surge, trickle]
    if cfg.second_wave > 0:
        at = cfg.duration_sec / 2 if cfg.second_wave_at_sec is None else cfg.second_wave_at_sec
        parts.append(at + rng.uniform(0, cfg.surge_sec, cfg.second_wave))
    return np.sort(np.concatenate(parts))


class Progress:
    """A one-line status of a run on a terminal, redrawn at most `per_sec` times a second.

    Writes to `stream` (stderr by default): simulated time, admitted, waiting, elapsed and an
    estimate of the time left (elapsed over the simulated share done). `finish` clears the
    line so that the summary that follows starts clean.
    """

    def __init__(self, duration_sec: float, stream=None, per_sec: float = 4.0) -> None:
        self.duration = duration_sec
        self.stream = stream if stream is not None else sys.stderr
        self.period = 1.0 / per_sec
        self.start = time.perf_counter()
        self.next_at = 0.0  # the first call draws at once
        self.width = 0

    def update(self, t: float, admitted: int, waiting: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now < self.next_at:
            return
        self.next_at = now + self.period
        elapsed = now - self.start
        done = t / self.duration if self.duration > 0 else 1.0
        left = f"~{elapsed * (1 - done) / done:.0f}s left" if done > 0.01 else "..."
        line = (f"simulated {t:,.0f}/{self.duration:,.0f}s ({done:4.0%})  admitted {admitted:,}"
                f"  waiting {waiting:,}  elapsed {elapsed:.1f}s  {left}")
        pad = max(0, self.width - len(line))
        self.width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\r" + " " * self.width + "\r")
        self.stream.flush()


def _progress_wanted(mode: str, stream=None) -> bool:
    """--progress: "on", "off", or "auto" (on when `stream`, stderr by default, is a terminal)."""
    if mode == "on":
        return True
    if mode == "off":
        return False
    stream = stream if stream is not None else sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _quantiles(values: np.ndarray, qs: Sequence[float]) -> List[Optional[float]]:
    if len(values) == 0:
        return [None for _ in qs]
    return [float(v) for v in np.quantile(values, qs)]


class Simulation:
    """One simulated sale. `run()` plays it; then `summary`, `series` and the per-user arrays
    hold the results."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.res = cfg.resolution_sec
        self.clock = admission.SimulatedClock()
        self.t0 = self.clock.now
        self.room = admission.WaitingRoom(
            clock=self.clock,
            sweep_interval=0,
            min_poll_interval=cfg.min_poll_sec,
            max_poll_interval=cfg.max_poll_sec,
            create_events_on_join=False,
            # The pre-queue's shuffle and the random draws follow the seed, like the crowd.
            event_secret_seed=cfg.seed % 2**64,
        )
        self.policy = cfg.policy(self.t0)
        # With a scheduled opening, arrivals before it are pre-queued until then.
        self.scheduled = cfg.opens_at_sec is not None
        self.opens_at_sec = cfg.opens_at_sec if self.scheduled else 0.0
        self.room.set_policy("sale", self.policy)
        self.crowd = admission.Crowd(self.room, "sale", "user-")
        self.end_tick = int(round(cfg.duration_sec / self.res))
        self.calendar = admission.Calendar(self.end_tick, len(_KINDS), self.res)

        rng = self.rng
        self.arrival = _arrivals(cfg, rng)
        n = self.n = len(self.arrival)
        abandons = rng.random(n) < cfg.abandon_share
        ghosts = rng.random(n) < cfg.ghost_share
        self.abandon_kind = np.where(abandons, np.where(ghosts, GHOST, LEFT), 0).astype(np.int8)
        self.abandon_at = np.where(
            abandons, self.arrival + rng.exponential(cfg.abandon_mean_sec, n), np.inf
        )
        self.purchase = np.maximum(cfg.purchase_min_sec, rng.exponential(cfg.purchase_mean_sec, n))
        self.jitter = cfg.poll_jitter

        nan = np.full(n, np.nan)
        self.state = np.zeros(n, dtype=np.int8)
        self.join_t, self.admit_t, self.end_t = nan.copy(), nan.copy(), nan.copy()
        self.last_heartbeat = nan.copy()  # of abandoners: their last call before giving up
        self.join_eta, self.join_conf = nan.copy(), nan.copy()
        self.join_pos = np.zeros(n, dtype=np.int64)
        self.polls = 0  # status calls
        self.by_bypass = np.zeros(n, dtype=bool)
        self.samples: List[Tuple[np.ndarray, ...]] = []  # (user, t, eta, confidence)
        self.series: Dict[str, List[float]] = {
            k: []
            for k in ("t", "waiting", "live_waiting", "ghosts_counted", "active", "admitted",
                      "admissions_per_sec", "bucket_tokens", "measured_rate", "policy_rate",
                      "granted", "passed", "lapsed", "joined")
        }
        self.lost = 0
        self.live_waiting = 0  # users in state WAITING
        self.joins = 0  # users who joined so far
        self.wall_sec = 0.0
        self.summary: Dict[str, object] = {}

    # --- scheduling ----------------------------------------------------------------------

    def _next_poll(self, users: np.ndarray, t: float, poll_after: np.ndarray) -> None:
        """Schedules each user's next poll, or their abandonment if it comes first."""
        if self.cfg.poll == "fixed":
            nxt = np.full(len(users), t + self.cfg.poll_fixed_sec)
        elif self.jitter > 0:
            nxt = poll_after * self.rng.uniform(1 - self.jitter, 1 + self.jitter, len(users))
            nxt += t
        else:
            nxt = poll_after + t
        quits = self.abandon_at[users] <= nxt
        if quits.any():
            q = users[quits]
            # This call at `t` is their last contact with the library: a ghost's heartbeat.
            self.last_heartbeat[q] = t
            self.calendar.push_times(self.abandon_at[q], ABANDON, q)
            stay = ~quits
            users, nxt = users[stay], nxt[stay]
        self.calendar.push_times(nxt, POLL, users)

    # --- one instant ---------------------------------------------------------------------

    def _complete(self, users: np.ndarray, t: float) -> None:
        r = self.crowd.complete(users)
        ok = r["error"] == 0
        self.state[users[ok]] = COMPLETED
        self.end_t[users[ok]] = t
        # Bought for longer than active_ttl: the library timed them out (complete fails).
        self.state[users[~ok]] = TIMED_OUT

    def _join(self, users: np.ndarray, t: float) -> None:
        r = self.crowd.join(users)
        if (r["error"] != 0).any():
            raise RuntimeError(f"join failed: codes {set(r['error'].tolist())}")
        self.state[users] = WAITING
        self.live_waiting += len(users)
        self.joins += len(users)
        self.join_t[users] = t
        self.join_eta[users] = r["eta"]
        self.join_conf[users] = r["confidence"]
        self.join_pos[users] = r["position"]
        ready = r["ready"]
        if ready.any():  # at the front already: enter at once, as after any status
            self._settle(users[ready], self.crowd.enter(users[ready]), t)
            wait = ~ready
            users = users[wait]
            r = {k: r[k][wait] for k in ("error", "state", "granted", "by_bypass", "poll_after")}
        self._settle(users, r, t)

    def _abandon(self, users: np.ndarray, t: float) -> None:
        users = users[self.state[users] == WAITING]
        self.live_waiting -= len(users)
        ghosts = users[self.abandon_kind[users] == GHOST]
        self.state[ghosts] = GHOST
        self.end_t[ghosts] = t  # when they stopped polling
        leavers = users[self.abandon_kind[users] == LEFT]
        if len(leavers):
            r = self.crowd.leave(leavers)
            ok = r["error"] == 0
            self.state[leavers[ok]] = LEFT
            self.end_t[leavers[ok]] = t
            self.lost += int((~ok).sum())

    def _poll(self, users: np.ndarray, t: float) -> None:
        # Only users in line have a poll filed: _settle files the next one of those still
        # waiting, or their abandonment instead (never both), and nothing else changes them.
        users = self.rng.permutation(users)  # no order among clients polling in one instant
        # Everyone's status, then enter for whoever was ready: one library loop in C++.
        r = self.crowd.poll(users)
        self.polls += len(users)
        share = self.cfg.eta_sample_share
        if share > 0:
            # A random share of the polls that found the user waiting (the answers' ETAs are
            # the statuses'; `ready` is the status's too, so those who entered count).
            pick = self.rng.random(len(users)) < share
            pick &= (r["state"] == _WAITING) | r["ready"]
            if pick.any():
                self.samples.append((users[pick], np.full(pick.sum(), t), r["eta"][pick],
                                     r["confidence"][pick]))
        self._settle(users, r, t)

    def _settle(self, users: np.ndarray, r: Dict[str, np.ndarray], t: float) -> None:
        """After a status or an enter: admitted users buy, those still waiting poll again."""
        granted = r["granted"]
        again = r["state"] == _WAITING
        if self.scheduled:  # pre-queued users poll until the opening gives them a place
            again |= r["state"] == _PREQUEUE
        again &= r["error"] == 0
        if granted.any():
            g = users[granted]
            self.state[g] = ADMITTED
            self.live_waiting -= len(g)
            self.admit_t[g] = t
            self.by_bypass[g] = r["by_bypass"][granted]
            self.calendar.push_times(t + self.purchase[g], DONE, g)
            again &= ~granted
        n_again = int(np.count_nonzero(again))
        failed = len(users) - n_again - int(np.count_nonzero(granted))
        if failed:  # a follower of poll_after should never expire or error: count it
            lost = ~again & ~granted
            self.state[users[lost]] = LOST
            self.live_waiting -= failed
            self.lost += failed
        if n_again == len(users):
            self._next_poll(users, t, r["poll_after"])
        elif n_again:
            self._next_poll(users[again], t, r["poll_after"][again])

    def _sample_series(self, t: float) -> None:
        s = self.room.stats("sale")
        ser = self.series
        live = self.live_waiting
        prev = ser["admitted"][-1] if ser["admitted"] else 0
        dt = t - ser["t"][-1] if ser["t"] else 1.0
        waiting = s.waiting + s.prequeued  # the simulator counts pre-queued users as waiting
        ser["t"].append(t)
        ser["waiting"].append(waiting)
        ser["live_waiting"].append(live)
        ser["ghosts_counted"].append(waiting - live)
        ser["active"].append(s.active)
        ser["admitted"].append(s.admitted_total)
        ser["admissions_per_sec"].append((s.admitted_total - prev) / dt if dt > 0 else 0.0)
        ser["bucket_tokens"].append(s.bucket_tokens)
        ser["measured_rate"].append(s.admission_rate_per_sec)
        ser["policy_rate"].append(self.policy.admit_rate_per_sec)  # the rate of the last second
        ser["granted"].append(s.granted)
        ser["passed"].append(s.passed_total)
        ser["lapsed"].append(s.lapsed_total)
        ser["joined"].append(self.joins)

    # --- the run -------------------------------------------------------------------------

    def run(self, progress: Optional[Progress] = None) -> Dict[str, object]:
        """Plays the sale from the first arrival to duration_sec; returns the summary. With
        `progress`, its status line is updated as the run goes (a few times a second)."""
        cfg = self.cfg
        start = time.perf_counter()
        end_tick = self.end_tick
        self.calendar.push_times(self.arrival, JOIN, np.arange(self.n, dtype=np.int64))
        per_sec = max(1, int(round(1.0 / self.res)))
        sweep_every = max(1, int(round(cfg.sweep_interval_sec / self.res)))
        change_tick = -1
        if cfg.rate_change_at_sec is not None and cfg.rate_change_to is not None:
            change_tick = int(round(cfg.rate_change_at_sec / self.res))
        pop, advance_to, t0, res = self.calendar.pop, self.clock.advance_to, self.t0, self.res
        for tick in range(0, end_tick + 1):
            t = tick * res
            advance_to(t0 + t)
            if tick == change_tick:  # the operator's set_policy, before this instant's calls
                self.policy = self.policy.copy()
                self.policy.admit_rate_per_sec = cfg.rate_change_to
                self.room.set_policy("sale", self.policy)
            # One instant: purchases end, arrivals join, abandoners go, pollers poll.
            done, join, abandon, poll = pop(tick)
            if len(done):
                self._complete(done, t)
            if len(join):
                self._join(np.sort(join), t)  # arrival order within the instant
            if len(abandon):
                self._abandon(abandon, t)
            if len(poll):
                self._poll(poll, t)
            if tick % sweep_every == 0:
                self.room.sweep_all()  # what the room's background sweeper does
            if tick % per_sec == 0:
                self._sample_series(t)
                if progress is not None:
                    progress.update(t, self.series["admitted"][-1], self.live_waiting)
        if progress is not None:
            progress.update(end_tick * res, self.series["admitted"][-1] if self.series["admitted"]
                            else 0, self.live_waiting, force=True)
            progress.finish()
        self.room.sweep_all()
        self.wall_sec = time.perf_counter() - start
        self.summary = self._summarize()
        return self.summary

    # --- results -------------------------------------------------------------------------

    def _arrival_order(self, admitted: np.ndarray) -> Dict[str, object]:
        """How admission order follows arrival order among the early arrivals: those who
        joined before the opening (the pre-queue, with --opens-at-sec), else during the surge.
        A pre-queue shuffled at the opening leaves no trace of who came first (rank
        correlation near 0, the same admission times for every fifth of the arrivals); strict
        arrival order gives a correlation near 1 and admission times rising fifth by fifth."""
        cut = self.opens_at_sec if self.scheduled else self.cfg.surge_sec
        early = self.join_t < cut  # NaN (never joined) compares False
        idx = np.flatnonzero(early & admitted)  # user index = arrival order
        at = self.admit_t[idx] - self.opens_at_sec  # seconds after the opening (or the start)
        corr = None
        if len(idx) >= 2 and np.ptp(at) > 0:
            rank = np.empty(len(idx), dtype=np.int64)
            rank[np.argsort(at, kind="stable")] = np.arange(len(idx))
            corr = float(np.corrcoef(rank, np.arange(len(idx)))[0, 1])
        fifths = [_quantiles(part, (0.5,))[0] for part in np.array_split(at, 5)] if len(idx) else []
        later = admitted & (self.join_t >= cut)
        last_early = float(self.admit_t[idx].max()) if len(idx) else -np.inf
        return {
            "group": "prequeued" if self.scheduled else "surge",
            "before_sec": cut,
            "users": int(np.count_nonzero(early)),
            "admitted": int(len(idx)),
            "rank_correlation": corr,
            "admitted_at_p50_by_fifth_sec": fifths,
            "later_admitted_before_last_early": int(
                np.count_nonzero(self.admit_t[later] < last_early)),
        }

    def _summarize(self) -> Dict[str, object]:
        cfg = self.cfg
        stats = self.room.stats("sale")
        joined = ~np.isnan(self.join_t)
        admitted = ~np.isnan(self.admit_t)
        wait = self.admit_t[admitted] - self.join_t[admitted]
        w50, w95, w99 = _quantiles(wait, (0.5, 0.95, 0.99))

        # Ghosts: counted from when they stopped polling until the heartbeat TTL removed them
        # (the rules apply a ghost's removal at last heartbeat + TTL; sweeps every second make
        # the counters follow within sweep_interval).
        ghost = self.state == GHOST
        end_t = cfg.duration_sec
        removed_at = self.last_heartbeat + cfg.heartbeat_ttl
        ghost_removed = ghost & (removed_at <= end_t)
        counted = removed_at[ghost] - self.end_t[ghost]
        in_line = removed_at[ghost] - self.join_t[ghost]
        series_ghosts = np.asarray(self.series["ghosts_counted"], dtype=float)
        ghosts_peak = int(series_ghosts.max()) if len(series_ghosts) else 0
        # Seconds in which users who were still polling waited but nobody was admitted.
        series_live = np.asarray(self.series["live_waiting"], dtype=float)
        series_aps = np.asarray(self.series["admissions_per_sec"], dtype=float)
        opened = np.asarray(self.series["t"], dtype=float) >= self.opens_at_sec  # nobody before
        stalled = int(np.count_nonzero((series_live > 0) & (series_aps == 0) & opened))
        # The pace: over the seconds when more than bypass + burst users who still poll wait
        # (at both ends of the second, so that the line could fill every token of it), the
        # admissions of those seconds over what the policy's rate allowed in them.
        series_rate = np.asarray(self.series["policy_rate"], dtype=float)
        thr = cfg.bypass + cfg.burst
        full = np.zeros(len(series_live), dtype=bool)
        full[1:] = (series_live[1:] > thr) & (series_live[:-1] > thr) & opened[1:]
        full &= series_rate > 0
        # Seconds that end with the room at its active_capacity are the capacity's, not the
        # rate's: they are counted apart.
        occupied = (np.asarray(self.series["active"], dtype=float)
                    + np.asarray(self.series["granted"], dtype=float))
        at_capacity = full & (occupied >= cfg.capacity)
        full &= ~at_capacity
        ratio = series_aps[full] / series_rate[full]
        # The same over the seconds when more than bypass + burst polling users have waited out
        # the longest tier wait, counted as the polling users less those who joined within it
        # (a lower bound): a trickle that keeps more than bypass + burst people inside their tier
        # wait makes the line look long while nobody in it may be granted yet.
        tier_max = max([w for _, w in parse_tiers(cfg.tiers)] + [0.0])
        lag = int(math.ceil(tier_max))  # the series has one sample per second
        joins = np.asarray(self.series["joined"], dtype=float)
        before = np.zeros(len(joins))  # joins up to `lag` seconds before each sample
        if len(joins) > lag:
            before[lag:] = joins[:len(joins) - lag]
        recent = joins - before
        served_tier = series_live - recent
        full_t = np.zeros(len(series_live), dtype=bool)
        full_t[1:] = (served_tier[1:] > thr) & (served_tier[:-1] > thr) & opened[1:]
        full_t &= (series_rate > 0) & (occupied < cfg.capacity)
        ratio_t = series_aps[full_t] / series_rate[full_t]
        pace_tier_served = {
            "seconds": int(np.count_nonzero(full_t)),
            "admitted_over_allowed": (float(series_aps[full_t].sum() / series_rate[full_t].sum())
                                      if full_t.any() else None),
            "per_second_p10": _quantiles(ratio_t, (0.1,))[0],
        }
        pace = {
            "seconds": int(np.count_nonzero(full)),
            "seconds_at_capacity": int(np.count_nonzero(at_capacity)),
            "threshold_live_waiting": thr,
            "admitted_over_allowed": (float(series_aps[full].sum() / series_rate[full].sum())
                                      if full.any() else None),
            "per_second_p10": _quantiles(ratio, (0.1,))[0],
            "per_second_p50": _quantiles(ratio, (0.5,))[0],
        }

        # ETA error: |predicted - actual| / actual for users who were admitted, sampled at
        # join and along the wait. Samples with less than 5 s to go are left out (a relative
        # error over a sub-second remainder says nothing).
        def eta_errors(users: np.ndarray, at: np.ndarray, eta: np.ndarray,
                       conf: np.ndarray) -> Dict[str, object]:
            ok = ~np.isnan(self.admit_t[users])
            actual = self.admit_t[users][ok] - at[ok]
            pred, c = eta[ok], conf[ok]
            keep = actual >= 5.0
            actual, pred, c = actual[keep], pred[keep], c[keep]
            err = np.abs(pred - actual) / actual
            med, p90 = _quantiles(err, (0.5, 0.9))
            hi = c >= 0.5
            return {
                "samples": int(len(err)),
                "median": med,
                "p90": p90,
                "median_when_confidence_ge_0_5": _quantiles(err[hi], (0.5,))[0],
                "median_when_confidence_lt_0_5": _quantiles(err[~hi], (0.5,))[0],
                "underestimated_share": float(np.mean(pred < actual)) if len(err) else None,
            }

        ju = np.flatnonzero(joined)
        at_join = eta_errors(ju, self.join_t[ju], self.join_eta[ju], self.join_conf[ju])
        if self.samples:
            su = np.concatenate([s[0] for s in self.samples])
            st = np.concatenate([s[1] for s in self.samples])
            se = np.concatenate([s[2] for s in self.samples])
            sc = np.concatenate([s[3] for s in self.samples])
        else:
            su = np.zeros(0, dtype=np.int64)
            st = se = sc = np.zeros(0)
        along = eta_errors(su, st, se, sc)

        # Fairness, among admitted users in join order (the user index is the join order):
        # someone "overtook" when they were admitted strictly before a user who joined earlier.
        a = self.admit_t[admitted]
        prefix_max = np.maximum.accumulate(a)
        overtook = np.zeros(len(a), dtype=bool)
        overtook[1:] = a[1:] < prefix_max[:-1]
        admit_rank = np.empty(len(a), dtype=np.int64)
        admit_rank[np.argsort(a, kind="stable")] = np.arange(len(a))
        displacement = np.abs(admit_rank - np.arange(len(a)))

        served = int(admitted.sum())
        left = int(np.count_nonzero(self.state == LEFT))
        still_waiting_live = int(np.count_nonzero(self.state == WAITING))
        ghosts_pending = int((ghost & ~ghost_removed).sum())
        consistency = {
            "library_joined_eq_admitted_left_expired_waiting": stats.joined_total
            == stats.admitted_total + stats.left_total + stats.expired_total + stats.waiting
            + stats.prequeued,
            "joined": stats.joined_total == int(joined.sum()),
            "served": stats.admitted_total == served,
            "left": stats.left_total == left,
            "expired": stats.expired_total == int(ghost_removed.sum()),
            "waiting": stats.waiting + stats.prequeued == still_waiting_live + ghosts_pending,
            "completed": stats.completed_total == int(np.count_nonzero(self.state == COMPLETED)),
            "active_timed_out": stats.active_timed_out_total
            >= int(np.count_nonzero(self.state == TIMED_OUT)),
            "lost": self.lost == 0,
        }
        duration = cfg.duration_sec
        return {
            "config": asdict(cfg),
            "wall_sec": round(self.wall_sec, 3),
            "users": {
                "arrived": int(joined.sum()),
                "served": served,
                "served_by_bypass": int(self.by_bypass.sum()),
                "completed": int(np.count_nonzero(self.state == COMPLETED)),
                "left": left,
                "ghosts": int(ghost.sum()),
                "still_waiting": still_waiting_live,
                "lost": self.lost,
                "polls": self.polls,
            },
            "wait_sec": {"p50": w50, "p95": w95, "p99": w99,
                         "max": float(wait.max()) if len(wait) else None},
            "ghosts": {
                "removed": int(ghost_removed.sum()),
                "counted_after_leaving_sec": dict(zip(
                    ("p50", "p95", "max"), _quantiles(counted, (0.5, 0.95, 1.0)))),
                "time_in_line_sec_p50": _quantiles(in_line, (0.5,))[0],
                "ghost_seconds": float(np.sum(np.minimum(removed_at[ghost], duration)
                                              - self.end_t[ghost])),
                "peak_counted": ghosts_peak,
            },
            "eta_error": {"at_join": at_join, "along_wait": along},
            "stalled_sec": stalled,
            "pace": pace,
            "pace_tier_served": pace_tier_served,
            "polls_per_admitted": self.polls / served if served else None,
            "fairness": {
                "overtook_share": float(overtook.mean()) if len(a) else 0.0,
                "displacement_p99": _quantiles(displacement, (0.99,))[0],
                "displacement_max": int(displacement.max()) if len(a) else 0,
            },
            "arrival_order": self._arrival_order(admitted),
            "library_stats": stats.to_dict(),
            "consistency": consistency,
            "consistent": all(consistency.values()),
        }


def format_summary(s: Dict[str, object]) -> str:
    """The summary as an aligned text table."""

    def f(v: object, unit: str = "", digits: int = 1) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.{digits}f}{unit}"
        return f"{v:,}{unit}"

    u, w, g = s["users"], s["wait_sec"], s["ghosts"]
    e, fair, lib = s["eta_error"], s["fairness"], s["library_stats"]
    ej, ea = e["at_join"], e["along_wait"]
    rows = [
        ("users arrived", f(u["arrived"])),
        ("users served (admitted)", f"{f(u['served'])} ({f(u['served_by_bypass'])} by bypass)"),
        ("completed / left / ghosts", f"{f(u['completed'])} / {f(u['left'])} / {f(u['ghosts'])}"),
        ("still waiting at the end", f(u["still_waiting"])),
        ("status polls", f(u["polls"])),
        ("wait p50 / p95 / p99", f"{f(w['p50'], ' s')} / {f(w['p95'], ' s')} / "
                                 f"{f(w['p99'], ' s')}"),
        ("ghosts removed", f(g["removed"])),
        ("ghost counted after leaving p50/p95", f"{f(g['counted_after_leaving_sec']['p50'], ' s')}"
                                                f" / {f(g['counted_after_leaving_sec']['p95'], ' s')}"),
        ("ghosts counted at once, peak", f(g["peak_counted"])),
        ("status polls per admitted user", f(s["polls_per_admitted"])),
        ("seconds with users waiting, nobody admitted", f(s["stalled_sec"])),
        (f"pace while > {s['pace']['threshold_live_waiting']} polling users wait",
         f"{f(s['pace']['admitted_over_allowed'], '', 3)} of the rate over "
         f"{f(s['pace']['seconds'])} s; per second p10 {f(s['pace']['per_second_p10'], '', 3)}"
         + (f"; {f(s['pace']['seconds_at_capacity'])} s at capacity left out"
            if s["pace"].get("seconds_at_capacity") else "")),
        ("  ... while they have waited out the tiers",
         f"{f(s['pace_tier_served']['admitted_over_allowed'], '', 3)} of the rate over "
         f"{f(s['pace_tier_served']['seconds'])} s; per second p10 "
         f"{f(s['pace_tier_served']['per_second_p10'], '', 3)}"),
        ("grants passed over / lapsed", f"{f(lib.get('passed_total'))} / "
                                        f"{f(lib.get('lapsed_total'))}"),
        ("ETA error at join: median / p90", f"{f(ej['median'], '', 3)} / {f(ej['p90'], '', 3)}"),
        ("ETA error along wait: median / p90", f"{f(ea['median'], '', 3)} / {f(ea['p90'], '', 3)}"),
        ("  ... when confidence >= 0.5 / < 0.5",
         f"{f(ea['median_when_confidence_ge_0_5'], '', 3)} / "
         f"{f(ea['median_when_confidence_lt_0_5'], '', 3)}"),
        ("admitted before an earlier joiner", f"{100 * fair['overtook_share']:.2f} %"),
        ("order displacement p99 / max", f"{f(fair['displacement_p99'], '', 0)} / "
                                         f"{f(fair['displacement_max'])}"),
    ]
    cfg = s["config"]
    if cfg.get("opens_at_sec") is not None or cfg.get("method", "fifo") != "fifo":
        o = s["arrival_order"]
        who = ("pre-queued (joined before the opening)" if o["group"] == "prequeued"
               else f"early (joined in the first {o['before_sec']:g} s)")
        fifths = " / ".join(f(v, "", 0) for v in o["admitted_at_p50_by_fifth_sec"])
        rows += [
            (who, f"{f(o['users'])}, {f(o['admitted'])} admitted"),
            ("  admitted at p50, by fifth of arrival", f"{fifths} s"
             + (" after the opening" if o["group"] == "prequeued" else "")),
            ("  admission vs arrival order, rank corr.", f(o["rank_correlation"], "", 3)),
            ("  later arrivals admitted before the last", f(o["later_admitted_before_last_early"])),
        ]
    rows += [
        ("library: joined = admitted+left+expired+waiting",
         f"{lib['joined_total']:,} = {lib['admitted_total']:,} + {lib['left_total']:,} + "
         f"{lib['expired_total']:,} + {lib['waiting'] + lib.get('prequeued', 0):,}"),
        ("consistent with the library's stats", "yes" if s["consistent"] else
         "NO: " + ", ".join(k for k, v in s["consistency"].items() if not v)),
        ("wall time", f"{s['wall_sec']:.1f} s"),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def write_plots(sim: Simulation, out: str, prefix: str = "simulation-") -> List[str]:
    """Writes the PNG plots into `out`; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg, ser = sim.cfg, sim.series
    t_min = np.asarray(ser["t"]) / 60.0
    paths = []

    def save(fig, name: str) -> None:
        path = os.path.join(out, f"{prefix}{name}.png")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(t_min, ser["waiting"], label="in line (library's count)")
    ax.plot(t_min, ser["live_waiting"], label="in line, still polling", linestyle="--")
    ax.plot(t_min, ser["ghosts_counted"], label="ghosts still counted")
    ax.plot(t_min, ser["active"], label="active (admitted, buying)")
    ax.set_xlabel("minutes since the sale opened")
    ax.set_ylabel("users")
    ax.set_title("Line length and active users")
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, "line")

    fig, ax = plt.subplots(figsize=(9, 4.5))
    aps = np.asarray(ser["admissions_per_sec"])
    ax.plot(t_min, aps, linewidth=0.5, alpha=0.6, label="admissions in each second")
    if len(aps) >= 30:
        smooth = np.convolve(aps, np.ones(30) / 30, mode="same")
        ax.plot(t_min, smooth, label="30 s average")
    ax.plot(t_min, ser["measured_rate"], label="rate the library measured (ETA basis)",
            linestyle=":")
    ax.step(t_min, ser["policy_rate"], where="pre", color="k", linestyle="--", linewidth=1,
            label="policy rate")
    ax.set_xlabel("minutes since the sale opened")
    ax.set_ylabel("admissions / s")
    ax.set_title("Admissions per second")
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, "admissions")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    adm = np.flatnonzero(~np.isnan(sim.admit_t))
    pick = sim.rng.choice(adm, size=min(5000, len(adm)), replace=False) if len(adm) else adm
    actual = sim.admit_t[pick] - sim.join_t[pick]
    pred = sim.join_eta[pick]
    ax = axes[0]
    sc = ax.scatter(actual / 60, pred / 60, s=3, c=sim.join_conf[pick], cmap="viridis",
                    vmin=0, vmax=1)
    lim = max(1.0, float(np.nanmax(actual)) / 60 if len(actual) else 1.0)
    ax.plot([0, lim], [0, lim], "k--", linewidth=1, label="predicted = actual")
    ax.set_xlabel("actual wait (min)")
    ax.set_ylabel("ETA shown at join (min)")
    ax.set_title("ETA at join vs actual wait")
    fig.colorbar(sc, ax=ax, label="ETA confidence")
    ax.legend(loc="upper left")
    ax = axes[1]
    if sim.samples:
        su = np.concatenate([s[0] for s in sim.samples])
        st = np.concatenate([s[1] for s in sim.samples])
        se = np.concatenate([s[2] for s in sim.samples])
        ok = ~np.isnan(sim.admit_t[su])
        remaining = sim.admit_t[su][ok] - st[ok]
        err = (se[ok] - remaining) / np.maximum(remaining, 5.0)
        bins = np.linspace(0, max(60.0, float(remaining.max()) if len(remaining) else 60), 25)
        idx = np.digitize(remaining, bins)
        mids, med, lo, hi = [], [], [], []
        for b in range(1, len(bins)):
            e = err[idx == b]
            if len(e) >= 20:
                mids.append((bins[b - 1] + bins[b]) / 2 / 60)
                q = np.quantile(e, (0.1, 0.5, 0.9))
                lo.append(q[0])
                med.append(q[1])
                hi.append(q[2])
        ax.fill_between(mids, lo, hi, alpha=0.3, label="10th-90th percentile")
        ax.plot(mids, med, label="median")
    ax.axhline(0, color="k", linewidth=1)
    ax.set_xlabel("actual time still to wait (min)")
    ax.set_ylabel("(ETA - actual) / actual")
    ax.set_title("ETA error along the wait (signed)")
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, "eta")

    fig, ax = plt.subplots(figsize=(9, 4.5))
    if len(adm):
        pick = np.sort(sim.rng.choice(adm, size=min(20000, len(adm)), replace=False))
        ax.scatter(pick, (sim.admit_t[pick] - sim.join_t[pick]) / 60, s=1, alpha=0.5,
                   label="admitted users")
        ax.plot(pick, sim.join_eta[pick] / 60, color="C1", linewidth=0.8,
                label="ETA shown at join")
    ax.set_xlabel("arrival order (user number)")
    ax.set_ylabel("wait (min)")
    ax.set_title("Wait by arrival order")
    ax.grid(alpha=0.3)
    ax.legend(markerscale=5)
    save(fig, "wait-by-arrival")
    return paths


def run(cfg: Config, out: Optional[str] = None, plots: bool = True,
        progress: bool = False) -> Simulation:
    """Runs one simulation; with `out`, writes summary.json (and the plots) there. With
    `progress`, a status line on stderr while it runs."""
    sim = Simulation(cfg)
    sim.run(Progress(cfg.duration_sec) if progress else None)
    if out:
        os.makedirs(out, exist_ok=True)
        if plots:
            sim.summary["plots"] = [os.path.basename(p) for p in write_plots(sim, out)]
        with open(os.path.join(out, "summary.json"), "w") as f:
            json.dump(sim.summary, f, indent=2, default=_json_default)
            f.write("\n")
    return sim


def _json_default(v: object) -> object:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    raise TypeError(f"not JSON serializable: {type(v)}")


def _parser() -> argparse.ArgumentParser:
    d = Config()
    p = argparse.ArgumentParser(
        prog="python3 -m admission.simulate",
        description="Simulates a flash sale through the admission library on a simulated clock.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    a = p.add_argument_group("arrivals")
    a.add_argument("--crowd", type=int, default=d.crowd, help="people in the opening surge")
    a.add_argument("--surge-sec", type=float, default=d.surge_sec, help="length of the surge")
    a.add_argument("--surge-shape", choices=("uniform", "decay"), default=d.surge_shape)
    a.add_argument("--trickle-per-sec", type=float, default=d.trickle_per_sec,
                   help="arrivals per second after the surge (Poisson)")
    a.add_argument("--trickle-until-sec", type=float, default=None,
                   help="when the trickle stops (default: the end)")
    a.add_argument("--duration-sec", type=float, default=d.duration_sec, help="length of the sale")
    a.add_argument("--second-wave", type=int, default=d.second_wave,
                   help="people in a second wave, arriving uniformly over --surge-sec")
    a.add_argument("--second-wave-at-sec", type=float, default=None,
                   help="when the second wave starts (default: half the duration)")
    b = p.add_argument_group("behaviour")
    b.add_argument("--abandon-share", type=float, default=d.abandon_share,
                   help="share of users who give up while waiting")
    b.add_argument("--abandon-mean-sec", type=float, default=d.abandon_mean_sec,
                   help="mean time from joining to giving up (exponential)")
    b.add_argument("--ghost-share", type=float, default=d.ghost_share,
                   help="share of those who vanish without calling leave")
    b.add_argument("--ghosts-of-all", type=float, default=None,
                   help="a convenience: make ghosts this share of all users, keeping the leavers' "
                        "share (abandon share x (1 - ghost share)); sets --abandon-share and "
                        "--ghost-share")
    b.add_argument("--poll", choices=("follow", "fixed"), default=d.poll,
                   help="follow the library's poll_after, or poll every --poll-fixed-sec")
    b.add_argument("--poll-jitter", type=float, default=d.poll_jitter,
                   help="poll_after is multiplied by a random factor in 1 +- this")
    b.add_argument("--poll-fixed-sec", type=float, default=d.poll_fixed_sec)
    b.add_argument("--purchase-mean-sec", type=float, default=d.purchase_mean_sec,
                   help="mean time an admitted user spends buying (exponential)")
    b.add_argument("--purchase-min-sec", type=float, default=d.purchase_min_sec)
    q = p.add_argument_group("policy and room")
    q.add_argument("--rate", type=float, default=d.rate, help="admissions per second")
    q.add_argument("--burst", type=int, default=d.burst)
    q.add_argument("--bypass", type=int, default=d.bypass, help="bypass_top_n")
    q.add_argument("--capacity", type=int, default=d.capacity, help="active_capacity")
    q.add_argument("--tiers", default=d.tiers,
                   help="wait tiers as max_position:seconds,...; 'inf' for the last; '' for none")
    q.add_argument("--heartbeat-ttl", type=float, default=d.heartbeat_ttl)
    q.add_argument("--active-ttl", type=float, default=d.active_ttl)
    q.add_argument("--reservation-ttl", type=float, default=d.reservation_ttl)
    q.add_argument("--ended-ttl", type=float, default=d.ended_ttl)
    q.add_argument("--rate-change-at-sec", type=float, default=None,
                   help="the operator sets a new rate (--rate-change-to) at this second")
    q.add_argument("--rate-change-to", type=float, default=None,
                   help="the new admissions per second")
    q.add_argument("--opens-at-sec", type=float, default=None,
                   help="schedule the opening at this second: earlier arrivals join the "
                        "pre-queue and get places drawn at random at the opening")
    q.add_argument("--method", choices=("fifo", "random"), default=d.method,
                   help="queueing method: strict order, or every admission drawn at random")
    q.add_argument("--min-poll-sec", type=float, default=d.min_poll_sec)
    q.add_argument("--max-poll-sec", type=float, default=d.max_poll_sec)
    q.add_argument("--sweep-interval-sec", type=float, default=d.sweep_interval_sec)
    s = p.add_argument_group("simulation")
    s.add_argument("--resolution-sec", type=float, default=d.resolution_sec,
                   help="time step of the calendar: actions due within it run at one instant")
    s.add_argument("--eta-sample-share", type=float, default=d.eta_sample_share,
                   help="share of polls whose ETA is recorded for the error statistics")
    s.add_argument("--seed", type=int, default=d.seed)
    s.add_argument("--out", default=None, help="directory for summary.json and the PNG plots")
    s.add_argument("--no-plots", action="store_true", help="write summary.json only")
    s.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                   help="a status line on stderr while the run goes; auto: when stderr is a "
                        "terminal")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the exit status (1 if the run is inconsistent)."""
    args = vars(_parser().parse_args(argv))
    out, no_plots = args.pop("out"), args.pop("no_plots")
    progress = _progress_wanted(args.pop("progress"))
    ghosts = args.pop("ghosts_of_all")
    if ghosts is not None:
        leavers = args["abandon_share"] * (1 - args["ghost_share"])
        if not 0 <= ghosts <= 1 - leavers:
            print(f"error: --ghosts-of-all must lie in [0, {1 - leavers:g}]", file=sys.stderr)
            return 2
        args["abandon_share"] = leavers + ghosts
        args["ghost_share"] = ghosts / (leavers + ghosts) if leavers + ghosts > 0 else 0.0
    cfg = Config(**args)
    try:
        cfg.policy(admission.SimulatedClock().now).validate()
    except admission.InvalidArgument as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sim = run(cfg, out=out, plots=not no_plots, progress=progress)
    print(format_summary(sim.summary))
    if out:
        print(f"\nwrote {os.path.join(out, 'summary.json')}"
              + (f" and {len(sim.summary.get('plots', []))} plots" if not no_plots else ""))
    return 0 if sim.summary["consistent"] else 1


if __name__ == "__main__":
    sys.exit(main())
