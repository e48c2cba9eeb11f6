"""Shared fixtures of the binding tests: a room on a simulated clock, and a throwaway
redis-server when one is installed (or ADMISSION_TEST_REDIS_URL)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

import admission


@pytest.fixture
def clock() -> admission.SimulatedClock:
    """A simulated clock at its fixed default start."""
    return admission.SimulatedClock()


@pytest.fixture
def room(clock: admission.SimulatedClock) -> admission.WaitingRoom:
    """An in-memory room on the simulated clock, with event 'sale' at 2 admissions/s."""
    r = admission.WaitingRoom(clock=clock)
    r.set_policy("sale", admission.Policy(admit_rate_per_sec=2, burst=2, bypass_top_n=1,
                                          wait_tiers=[]))
    return r


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url():
    """A Redis URL: ADMISSION_TEST_REDIS_URL, else a redis-server started on a free port
    (skips when neither is available or the build has no Redis store)."""
    if not admission.has_redis:
        pytest.skip("built without the Redis store")
    url = os.environ.get("ADMISSION_TEST_REDIS_URL")
    if url:
        yield url
        return
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(server):
        pytest.skip("no redis-server and ADMISSION_TEST_REDIS_URL is not set")
    port = _free_port()
    with tempfile.TemporaryDirectory() as d:
        proc = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", d],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.skip("redis-server did not start")
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
