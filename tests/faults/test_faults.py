# Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
"""The fault suite under pytest: one test per scenario (scenarios.py), each passing when
every invariant of checker.py holds after its faults.

    ADMISSION_GATEWAY=build/dev/examples/gateway/admission-gateway \\
        /usr/bin/python3 -m pytest -q tests/faults        # ADMISSION_FAULTS_SCALE=ci|full
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checker  # noqa: E402
import scenarios  # noqa: E402
from cluster import gateway_binary, redis_server_binary  # noqa: E402

def _prerequisites():
    gw = gateway_binary()
    if not gw or not os.access(gw, os.X_OK):
        return f"no gateway binary: set ADMISSION_GATEWAY (got {gw!r})"
    if not redis_server_binary():
        return "redis-server is not installed (apt-get install redis-server)"
    return None


@pytest.fixture(autouse=True)
def _needs_processes():
    why = _prerequisites()
    if why:
        pytest.skip(why)


def _assert_passed(result):
    if result.skipped:
        pytest.skip(result.skipped)
    print(result)
    failed = result.failed()
    assert not failed, f"invariants broken in {result.name}:\n" + "\n".join(map(repr, failed))


def test_drain_answers_in_flight_requests():
    _assert_passed(scenarios.drain_answers_in_flight())


def test_gateway_kill9_mid_payment():
    _assert_passed(scenarios.gateway_kill9_mid_payment())


def test_redis_stall_3s_holds_match_acknowledged():
    # Every time: the seats held equal the holds acknowledged to buyers after their retries.
    _assert_passed(scenarios.redis_stall_3s())


def test_redis_stall_10s():
    _assert_passed(scenarios.redis_stall_10s())


def test_primary_kill9_failover():
    _assert_passed(scenarios.primary_kill9_failover())


def test_network_cut_between_gateway_and_redis():
    _assert_passed(scenarios.network_cut())


def test_rolling_restart_drains_without_5xx():
    _assert_passed(scenarios.rolling_restart())
