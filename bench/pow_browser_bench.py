#!/usr/bin/python3
# Solve times of the proof of work on join in headless Chromium: for each difficulty, starts
# admission-gateway with --pow=on --pow_difficulty=D and opens the waiting-room page RUNS times
# (bench/pow_browser.js, each time a fresh event), which solves its challenge in a Web Worker.
# Prints one Markdown row per difficulty: the median solve time, the median number of hashes
# tried (expected: 2^D; a search's length varies a lot, so few runs give a rough median), and
# the hash rate (hashes over time, summed over the runs: steadier than either), and the
# expected solve time at that rate (2^D / rate), the figure to size a difficulty by.
#
#   bench/pow_browser_bench.py build/release/examples/gateway/admission-gateway [RUNS] [D ...]
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: pow_browser_bench.py GATEWAY_BINARY [RUNS] [DIFFICULTY ...]")
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    difficulties = [int(d) for d in sys.argv[3:]] or [12, 14, 16, 18, 20]
    print("| difficulty | expected hashes | median solve (ms) | median hashes | hashes/s | "
          "expected solve (ms) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for d in difficulties:
        gateway = subprocess.Popen(
            [binary, "--listen=127.0.0.1:0", "--pow=on", f"--pow_difficulty={d}",
             "--access_log=false", "--admit_rate_per_sec=1000", "--burst=1000",
             "--rate_limit_ip_per_sec=0", "--rate_limit_token_per_sec=0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            first = gateway.stdout.readline()
            port = first.strip().rstrip("/").rsplit(":", 1)[1]
            times, hashes = [], []
            for i in range(runs):
                url = f"http://127.0.0.1:{port}/?event=bench-{d}-{i}&user=u{i}"
                out = subprocess.run(["node", os.path.join(HERE, "pow_browser.js"), url,
                                      "admitted", "300"], capture_output=True, text=True)
                line = json.loads(out.stdout.strip().splitlines()[-1])
                if "pow_ms" not in line:
                    sys.exit(f"difficulty {d}: the page did not solve a challenge: {line}")
                times.append(line["pow_ms"])
                hashes.append(line["pow_hashes"])
            rate = sum(hashes) / (sum(times) / 1000) if sum(times) > 0 else float("nan")
            print(f"| {d} | {2 ** d:,} | {statistics.median(times):,.0f} | "
                  f"{statistics.median(hashes):,.0f} | {rate:,.0f} | {2 ** d / rate * 1000:,.0f} |",
                  flush=True)
        finally:
            gateway.terminate()
            gateway.wait()


if __name__ == "__main__":
    main()
