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

# KNOWN FAILURE, to be removed by the lead when the exactly-once holds branch is merged (the
# Idempotency-Key record written in the same atomic step as the hold): until then a hold
# whose answer was lost (a 503 in a Redis stall, or a gateway killed mid-request) and then
# retried can be made twice, so the seats held can exceed the holds acknowledged to buyers.
# With this set, only that one assertion (taken_seats_match_acknowledged_holds) may fail, in
# the 3 s stall and in the gateway kill -9 scenario (same cause); the test is then reported
# as xfail, and every other check must pass.
KNOWN_FAILURE_PHANTOM_HOLDS_UNTIL_EXACTLY_ONCE = True


def _phantom_holds_allowed():
    return ([checker.TAKEN_SEATS_MATCH_ACKNOWLEDGED]
            if KNOWN_FAILURE_PHANTOM_HOLDS_UNTIL_EXACTLY_ONCE else [])


def _xfail_if_phantom(result, known):
    phantom = result.check(checker.TAKEN_SEATS_MATCH_ACKNOWLEDGED)
    if known and phantom is not None and not phantom.ok:
        pytest.xfail("KNOWN_FAILURE_PHANTOM_HOLDS_UNTIL_EXACTLY_ONCE: " + phantom.detail)


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


def _assert_passed(result, known_failures=()):
    if result.skipped:
        pytest.skip(result.skipped)
    print(result)
    failed = result.failed(ignore=known_failures)
    assert not failed, f"invariants broken in {result.name}:\n" + "\n".join(map(repr, failed))


def test_drain_answers_in_flight_requests():
    _assert_passed(scenarios.drain_answers_in_flight())


def test_gateway_kill9_mid_payment():
    known = _phantom_holds_allowed()
    r = scenarios.gateway_kill9_mid_payment()
    _assert_passed(r, known)
    _xfail_if_phantom(r, known)


def test_redis_stall_3s_holds_match_acknowledged():
    known = _phantom_holds_allowed()
    r = scenarios.redis_stall_3s()
    _assert_passed(r, known)
    _xfail_if_phantom(r, known)


def test_redis_stall_10s():
    _assert_passed(scenarios.redis_stall_10s())


def test_primary_kill9_failover():
    _assert_passed(scenarios.primary_kill9_failover())


def test_network_cut_between_gateway_and_redis():
    _assert_passed(scenarios.network_cut())


def test_rolling_restart_drains_without_5xx():
    _assert_passed(scenarios.rolling_restart())
