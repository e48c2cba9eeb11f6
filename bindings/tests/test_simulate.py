"""A small simulator run agrees with the library's own counters."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from admission import simulate


def small(**kw) -> simulate.Config:
    base = dict(crowd=2000, surge_sec=10, trickle_per_sec=1, duration_sec=900, rate=20, burst=20,
                heartbeat_ttl=60, seed=7)
    base.update(kw)
    return simulate.Config(**base)


def test_small_run_is_consistent() -> None:
    sim = simulate.run(small())
    s = sim.summary
    lib = s["library_stats"]
    assert s["consistent"], s["consistency"]
    # users in = served + left + expired + still waiting
    assert lib["joined_total"] == (lib["admitted_total"] + lib["left_total"]
                                   + lib["expired_total"] + lib["waiting"])
    u = s["users"]
    assert u["arrived"] == lib["joined_total"]
    assert u["served"] == lib["admitted_total"] and u["left"] == lib["left_total"]
    assert s["ghosts"]["removed"] == lib["expired_total"]
    assert u["lost"] == 0
    w = s["wait_sec"]
    assert 0 <= w["p50"] <= w["p95"] <= w["p99"] <= w["max"]
    assert 0 <= s["fairness"]["overtook_share"] <= 1
    # Ghosts are counted for about one heartbeat TTL after their last poll, never longer.
    assert s["ghosts"]["counted_after_leaving_sec"]["max"] <= 60 + 1e-6
    assert s["eta_error"]["at_join"]["samples"] > 0


def test_same_seed_same_result() -> None:
    a = simulate.run(small(crowd=500, duration_sec=300)).summary
    b = simulate.run(small(crowd=500, duration_sec=300)).summary
    for k in ("users", "wait_sec", "fairness", "library_stats"):
        assert a[k] == b[k]


def test_no_abandon_everyone_served() -> None:
    s = simulate.run(small(crowd=1000, trickle_per_sec=0, abandon_share=0,
                           duration_sec=600)).summary
    assert s["consistent"]
    assert s["users"]["served"] == 1000 and s["users"]["ghosts"] == 0
    assert s["library_stats"]["expired_total"] == 0


def test_command_line_writes_json_and_plots(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "admission.simulate", "--crowd", "1000", "--surge-sec", "5",
         "--trickle-per-sec", "0.5", "--duration-sec", "300", "--rate", "20", "--burst", "20",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    assert "users served" in proc.stdout and "wait p50" in proc.stdout
    data = json.loads((out / "summary.json").read_text())
    assert data["consistent"] and data["users"]["arrived"] > 1000
    for name in ("line", "admissions", "eta", "wait-by-arrival"):
        png = out / f"simulation-{name}.png"
        assert png.stat().st_size > 1000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_policy_is_refused() -> None:
    assert simulate.main(["--burst", "-1", "--no-plots"]) == 2


def test_scheduled_opening_shuffles_the_early_arrivals() -> None:
    # Everyone in the 10 s surge (and the trickle until 20 s) arrives before the opening at
    # 20 s: pre-queued, then placed at random, so admission order no longer follows arrival
    # order among them.
    sim = simulate.run(small(crowd=1000, trickle_per_sec=0.5, duration_sec=300,
                             opens_at_sec=20))
    s = sim.summary
    assert s["consistent"], s["consistency"]
    o = s["arrival_order"]
    assert o["group"] == "prequeued" and o["users"] >= 1000 and o["admitted"] > 500
    assert abs(o["rank_correlation"]) < 0.2
    lib = s["library_stats"]
    assert lib["opened"] and lib["prequeued"] == 0
    assert lib["shuffled_at_opening"] > 0.9 * o["users"]
    assert s["stalled_sec"] == 0  # waiting for the opening is not a stall
    assert np.nanmin(sim.admit_t) >= 20  # nobody is admitted before the opening
    # Without the opening, the surge is served in arrival order.
    base = simulate.run(small(crowd=1000, trickle_per_sec=0.5, duration_sec=300)).summary
    assert base["arrival_order"]["group"] == "surge"
    assert base["arrival_order"]["rank_correlation"] > 0.9


def test_random_method_and_command_line_options() -> None:
    s = simulate.run(small(crowd=500, duration_sec=300, method="random")).summary
    assert s["consistent"], s["consistency"]
    assert s["config"]["method"] == "random" and s["users"]["served"] > 0
    assert simulate.main(["--crowd", "300", "--surge-sec", "5", "--duration-sec", "120",
                          "--rate", "20", "--burst", "20", "--opens-at-sec", "10",
                          "--method", "random", "--no-plots"]) == 0


def test_second_wave_rate_change_and_pace() -> None:
    cfg = small(crowd=1000, trickle_per_sec=0, abandon_share=0, duration_sec=400,
                second_wave=500, second_wave_at_sec=200, rate_change_at_sec=100,
                rate_change_to=10)
    sim = simulate.run(cfg)
    s = sim.summary
    assert s["consistent"], s["consistency"]
    assert s["users"]["arrived"] == 1500
    assert int(np.count_nonzero((sim.join_t >= 200) & (sim.join_t <= 210))) == 500
    rates = np.asarray(sim.series["policy_rate"])
    t = np.asarray(sim.series["t"])
    assert (rates[t < 100] == 20).all() and (rates[t >= 100] == 10).all()
    assert sim.room.get_policy("sale").admit_rate_per_sec == 10
    pace = s["pace"]
    assert pace["seconds"] > 0 and 0.9 <= pace["admitted_over_allowed"] <= 1.1
    assert pace["threshold_live_waiting"] == cfg.bypass + cfg.burst
    # Users inside their tier wait are left out of the second measure: its seconds are a subset.
    tiered = s["pace_tier_served"]
    assert 0 < tiered["seconds"] <= pace["seconds"]
    assert s["polls_per_admitted"] == pytest.approx(s["users"]["polls"] / s["users"]["served"])
    assert s["stalled_sec"] == 0


def test_ghosts_of_all_sets_the_shares(tmp_path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "admission.simulate", "--crowd", "500", "--surge-sec", "5",
         "--trickle-per-sec", "0", "--duration-sec", "120", "--rate", "20", "--burst", "20",
         "--ghosts-of-all", "0.3", "--no-plots", "--out", str(out)],
        capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    cfg = json.loads((out / "summary.json").read_text())["config"]
    # The defaults' leavers (20% x 50% = 10%) stay; ghosts become 30% of everyone.
    assert cfg["abandon_share"] == pytest.approx(0.4)
    assert cfg["abandon_share"] * cfg["ghost_share"] == pytest.approx(0.3)
    bad = subprocess.run([sys.executable, "-m", "admission.simulate", "--ghosts-of-all", "0.95"],
                         capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert bad.returncode == 2 and "--ghosts-of-all" in bad.stderr


def _run_simulate(args, stderr_tty: bool):
    """Runs the simulator's command line; stderr on a pseudo-terminal when `stderr_tty`.
    Returns (exit status, stdout, what reached stderr)."""
    cmd = [sys.executable, "-m", "admission.simulate", "--crowd", "300", "--surge-sec", "5",
           "--trickle-per-sec", "0", "--duration-sec", "60", "--rate", "20", "--burst", "20",
           "--no-plots"] + args
    if not stderr_tty:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              env=os.environ.copy())
        return proc.returncode, proc.stdout, proc.stderr
    import pty
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, text=True,
                                env=os.environ.copy())
        os.close(slave)
        err = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the other end closed (EIO on Linux)
                break
            if not chunk:
                break
            err += chunk
        out = proc.stdout.read()
        proc.wait(timeout=120)
        return proc.returncode, out, err.decode(errors="replace")
    finally:
        os.close(master)


def test_no_progress_when_not_a_terminal() -> None:
    code, out, err = _run_simulate([], stderr_tty=False)
    assert code == 0, err
    assert "users served" in out
    assert "simulated" not in err and "\r" not in err and "\r" not in out
    assert err == ""


def test_progress_on_a_terminal_and_off_by_flag() -> None:
    code, out, err = _run_simulate([], stderr_tty=True)
    assert code == 0, err
    assert "simulated 60/60s" in err and "admitted" in err and "waiting" in err, err
    assert "simulated" not in out  # the summary on stdout stays clean
    code, out, err = _run_simulate(["--progress", "off"], stderr_tty=True)
    assert code == 0, err
    assert "simulated" not in err


def test_progress_line() -> None:
    import io
    stream = io.StringIO()
    p = simulate.Progress(100.0, stream=stream, per_sec=1e-9)  # draws once, then only forced
    p.update(10.0, 5, 7)
    p.update(20.0, 9, 3)  # too soon: not drawn
    assert stream.getvalue().count("\r") == 1
    assert "simulated 10/100s" in stream.getvalue() and "admitted 5" in stream.getvalue()
    p.update(100.0, 12, 0, force=True)
    assert "simulated 100/100s (100%)" in stream.getvalue()
    p.finish()
    assert stream.getvalue().endswith("\r")
