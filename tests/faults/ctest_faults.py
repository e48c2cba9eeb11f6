#!/usr/bin/python3
# Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
"""The ctest entry of the fault suite (label `faults`): runs test_faults.py under pytest, or
exits 77 (ctest's SKIP_RETURN_CODE here) with the reason when it cannot run: no
redis-server, no pytest, no gateway binary."""

import os
import shutil
import sys

SKIP = 77


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    redis = os.environ.get("ADMISSION_REDIS_SERVER") or shutil.which("redis-server")
    if not redis:
        print("SKIPPED: the fault suite needs redis-server (apt-get install redis-server)")
        return SKIP
    gw = os.environ.get("ADMISSION_GATEWAY", "")
    if not os.access(gw, os.X_OK):
        print(f"SKIPPED: no gateway binary at ADMISSION_GATEWAY={gw!r}")
        return SKIP
    try:
        import pytest
    except ImportError:
        print("SKIPPED: pytest is missing (apt-get install python3-pytest)")
        return SKIP
    return pytest.main(["-q", "-rsxX", "-p", "no:cacheprovider", "-s",
                        os.path.join(here, "test_faults.py")])


if __name__ == "__main__":
    sys.exit(main())
