#!/usr/bin/python3
# Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
"""Runs the fault scenarios (all, or those named) and prints each one's operations, faults
and invariant checks: the command behind docs/reliability.md's "Fault suite" figures.

    ADMISSION_GATEWAY=build/release/examples/gateway/admission-gateway \\
    ADMISSION_FAULTS_SCALE=full /usr/bin/python3 tests/faults/run_faults.py [SCENARIO ...]

Exit code 0 when every check of every scenario that ran passed (skipped ones aside).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scenarios  # noqa: E402


def main(argv):
    chosen = [s for s in scenarios.ALL if not argv or s.__name__ in argv]
    if not chosen:
        print(f"no such scenario; choose from {[s.__name__ for s in scenarios.ALL]}")
        return 2
    name, params = scenarios.scale()
    print(f"fault suite, scale {name}: {params}")
    bad = 0
    for s in chosen:
        t0 = time.monotonic()
        r = s()
        print(r)
        print(f"  ({time.monotonic() - t0:.1f} s)")
        if not r.skipped and r.failed():
            bad += 1
        sys.stdout.flush()
    if os.environ.get("ADMISSION_FAULTS_JSON"):
        print(json.dumps({"scale": name}))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
