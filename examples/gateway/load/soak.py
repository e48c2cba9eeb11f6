#!/usr/bin/python3
# The soak of issue 18 (docs/benchmarks.md, "Soak"): the circulation scenario for a long time on
# N gateways sharing one Redis, sampling every --interval_sec what would show a leak or a slow
# drift: each gateway's RSS, open file descriptors, sockets and open HTTP connections (its
# /metrics), its 5xx count, CPU; Redis's used_memory, clients and commands; and the latency of
# a probe from this tool (per gateway, on one kept-alive connection: 10 GET /healthz and 5 join
# + status of a fresh probe user, who then leaves, untimed). Writes samples.csv, summary.json
# and a plot (four panels: RSS, fds, probe latency, Redis memory; warm-up shaded), and prints a
# verdict: "no growth after warm-up" and "no errors", or what grew and what failed.
#
#   /usr/bin/python3 examples/gateway/load/soak.py --build build/release --duration_sec=1800 \
#       --rate=2000 --out /tmp/soak --plot docs/img/soak.png
#   /usr/bin/python3 examples/gateway/load/soak.py --duration_sec=40 --rate=50 --interval_sec=5
#
# Builds nothing: takes BUILD/examples/gateway/admission-gateway and
# BUILD/examples/gateway/load/admission-gateway-load, and redis-server from PATH. Everything runs
# on loopback on free ports; Redis runs with no persistence in a temporary directory. The
# gateways run as crowd.sh runs them (per-client rate limits off: every simulated user here is
# 127.0.0.1; access log off; --pow=off; --create_events_on_join) with the circulation's policy of
# run_scenarios.sh scaled to --rate (admit 1.25 x rate/s, burst 2.5 x rate, reservations 60 s:
# at 2,000 users/s that is run_scenarios.sh's 2500/5000/60), one shared --token_secret and key
# prefix, and --drain_sec=0 so that SIGTERM stops them at once. One admission-gateway-load
# --mode=circulation per gateway, at rate/N users/s each, all into one event.
#
# Python 3 standard library, plus matplotlib (Debian's python3-matplotlib) for the plot only.
import argparse
import csv
import http.client
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
EVENT = "soak"
# "No growth": a least-squares slope after warm-up within this many MiB per 10 minutes, or
# within this fraction of the mean per 10 minutes, whichever is larger.
GROWTH_MIB_PER_10MIN = 2.0
GROWTH_FRACTION_PER_10MIN = 0.02


def log(*args):
    print("[soak %s]" % time.strftime("%H:%M:%S"), *args, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Processes: each in its own process group, so that cleanup takes its children too.

class Children:
    def __init__(self):
        self.procs = []  # (name, Popen)

    def start(self, name, argv, stdout, stderr):
        p = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        self.procs.append((name, p))
        return p

    @staticmethod
    def stop(p, sig=signal.SIGTERM, wait_sec=10.0):
        if p.poll() is not None:
            return p.returncode
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return p.wait(timeout=wait_sec)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return p.wait()

    def stop_all(self):
        for _, p in reversed(self.procs):
            self.stop(p, wait_sec=5.0)


def proc_cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)
    except (OSError, IndexError, ValueError):
        return None


def proc_rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_fds(pid):
    """(open fds, of which sockets)."""
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return None, None
    sockets = 0
    for n in names:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, n)).startswith("socket:"):
                sockets += 1
        except OSError:
            pass
    return len(names), sockets


# ---------------------------------------------------------------------------------------------
# Redis, spoken by hand (RESP).

def redis_command(port, *args, timeout=5.0):
    payload = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        payload += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        f = s.makefile("rb")
        head = f.readline()
        if head.startswith(b"$"):
            n = int(head[1:])
            return f.read(n + 2)[:-2].decode() if n >= 0 else None
        if head.startswith(b"-"):
            raise RuntimeError("redis: " + head[1:].strip().decode())
        return head[1:].strip().decode()


def redis_info(port):
    info = {}
    text = redis_command(port, "INFO", "all") or ""
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            info[k] = v
    return info


# ---------------------------------------------------------------------------------------------
# Gateways: their /metrics and the probe.

def parse_metrics(text):
    """5xx responses, open HTTP connections and store errors from the Prometheus text."""
    out = {"5xx": 0, "http_conns": None, "store_errors": 0}
    for line in text.splitlines():
        if line.startswith("admission_gateway_http_requests_total{"):
            labels, _, value = line.rpartition(" ")
            if 'code="5' in labels:
                out["5xx"] += int(float(value))
        elif line.startswith("admission_http_connections_open "):
            out["http_conns"] = int(float(line.split()[1]))
        elif line.startswith("admission_gateway_store_errors_total "):
            out["store_errors"] = int(float(line.split()[1]))
    return out


class Probe:
    """One kept-alive connection to a gateway; times 10 healthz and 5 join+status a sample."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def _request(self, method, path, body=None, headers=None):
        for attempt in range(2):  # a closed keep-alive connection is reopened once, untimed
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                t0 = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                return r.status, data, (time.perf_counter() - t0) * 1000
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    return 0, b"", None
        return 0, b"", None

    def metrics(self):
        status, data, _ = self._request("GET", "/metrics")
        return parse_metrics(data.decode(errors="replace")) if status == 200 else None

    def sample(self):
        """(latencies in ms, failures)."""
        lat, failures = [], 0
        for _ in range(10):
            status, _, ms = self._request("GET", "/healthz")
            if status == 200:
                lat.append(ms)
            else:
                failures += 1
        for _ in range(5):
            body = json.dumps({"event_id": EVENT, "user_id": "probe"})
            status, data, ms = self._request("POST", "/api/v1/queue/join", body,
                                             {"Content-Type": "application/json"})
            if status != 202:
                failures += 1
                continue
            lat.append(ms)
            try:
                token = json.loads(data)["waiting_token"]
            except (ValueError, KeyError):
                failures += 1
                continue
            status, _, ms = self._request("GET", "/api/v1/queue/status?token=" + token)
            if status == 200:
                lat.append(ms)
            else:
                failures += 1
            self._request("DELETE", "/api/v1/queue/leave?token=" + token)  # untimed
        return lat, failures

    def close(self):
        if self.conn is not None:
            self.conn.close()


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[max(0, min(len(v) - 1, math.ceil(p / 100 * len(v)) - 1))]


def slope_per_10min(ts, ys):
    """Least-squares slope of ys over ts (seconds), per 600 s; None with fewer than 2 points."""
    pts = [(t, y) for t, y in zip(ts, ys) if y is not None]
    if len(pts) < 2:
        return None
    mt = sum(t for t, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    den = sum((t - mt) ** 2 for t, _ in pts)
    if den == 0:
        return None
    return sum((t - mt) * (y - my) for t, y in pts) / den * 600


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description="The soak of issue 18: circulation on N gateways "
                                 "and one Redis, sampled every interval.")
    ap.add_argument("--build", default="build/dev")
    ap.add_argument("--duration_sec", type=float, default=1800)
    ap.add_argument("--rate", type=float, default=2000, help="users/s in total")
    ap.add_argument("--gateways", type=int, default=2)
    ap.add_argument("--interval_sec", type=float, default=10)
    ap.add_argument("--warmup_sec", type=float, default=120,
                    help="warm-up excluded from the growth figures (capped at a third of the "
                    "run for short runs)")
    ap.add_argument("--redis_settle_sec", type=float, default=720,
                    help="Redis memory is judged from here (departed tokens stay 600 s, "
                    "--ended_ttl_sec; capped at a third of the run for short runs)")
    ap.add_argument("--connections", type=int, default=24,
                    help="connections (threads) per load generator")
    ap.add_argument("--out", default=None, help="directory for CSV, JSON, PNG and logs")
    ap.add_argument("--plot", default=None, help="PNG path (default: OUT/soak.png)")
    args = ap.parse_args()

    gateway_bin = os.path.join(args.build, "examples/gateway/admission-gateway")
    load_bin = os.path.join(args.build, "examples/gateway/load/admission-gateway-load")
    missing = [b for b in (gateway_bin, load_bin) if not os.access(b, os.X_OK)]
    if missing:
        for b in missing:
            print("soak.py: %s is not built (or not executable); build the gateway targets of "
                  "%s first, or pass --build" % (b, args.build), file=sys.stderr)
        return 2
    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        print("soak.py: redis-server is not on PATH", file=sys.stderr)
        return 2
    if args.gateways < 1 or args.rate <= 0 or args.duration_sec <= 0 or args.interval_sec <= 0:
        print("soak.py: --gateways, --rate, --duration_sec and --interval_sec must be positive",
              file=sys.stderr)
        return 2
    out = args.out or tempfile.mkdtemp(prefix="soak-")
    os.makedirs(out, exist_ok=True)
    plot_path = args.plot or os.path.join(out, "soak.png")
    warmup = min(args.warmup_sec, args.duration_sec / 3)
    args.redis_settle_sec = max(warmup, min(args.redis_settle_sec, args.duration_sec / 3))

    # SIGTERM (and Ctrl-C) end the run through the finally below.
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    children = Children()
    redis_dir = tempfile.mkdtemp(prefix="soak-redis-")
    probes = []
    samples = []
    interrupted = False
    gen_results = []
    gen_exit = []
    started_wall = time.time()
    try:
        # --- Redis -----------------------------------------------------------------------------
        redis_port = free_port()
        redis = children.start("redis", [redis_bin, "--port", str(redis_port), "--bind",
                                         "127.0.0.1", "--save", "", "--appendonly", "no",
                                         "--dir", redis_dir, "--protected-mode", "no"],
                               open(os.path.join(out, "redis.log"), "wb"), subprocess.STDOUT)
        for _ in range(100):
            try:
                if redis_command(redis_port, "PING") == "PONG":
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("redis-server did not answer on port %d (see %s/redis.log)"
                               % (redis_port, out))
        log("redis-server on 127.0.0.1:%d (pid %d)" % (redis_port, redis.pid))

        # --- Gateways --------------------------------------------------------------------------
        admit = max(100, math.ceil(1.25 * args.rate))
        burst = max(200, math.ceil(2.5 * args.rate))
        secret = secrets.token_hex(32)
        gw_flags = ["--listen=127.0.0.1:0", "--store=redis://127.0.0.1:%d" % redis_port,
                    "--redis_key_prefix=soak", "--token_secret=" + secret,
                    "--create_events_on_join", "--pow=off", "--rate_limit_ip_per_sec=0",
                    "--rate_limit_token_per_sec=0", "--access_log=false", "--drain_sec=0",
                    "--admit_rate_per_sec=%d" % admit, "--burst=%d" % burst,
                    "--reservation_ttl_sec=60"]
        gateways = []  # dicts: proc, port
        for i in range(args.gateways):
            stdout_path = os.path.join(out, "gateway%d.out" % i)
            p = children.start("gateway%d" % i, [gateway_bin] + gw_flags,
                               open(stdout_path, "wb"),
                               open(os.path.join(out, "gateway%d.err" % i), "wb"))
            port = None
            for _ in range(300):
                if p.poll() is not None:
                    break
                with open(stdout_path) as f:
                    text = f.read()
                marker = "listening on http://127.0.0.1:"
                if marker in text and "/" in text.split(marker, 1)[1]:
                    port = int(text.split(marker, 1)[1].split("/", 1)[0])
                    break
                time.sleep(0.05)
            if port is None:
                with open(os.path.join(out, "gateway%d.err" % i)) as f:
                    err = f.read()[-2000:]
                raise RuntimeError("gateway %d did not start; its stderr:\n%s" % (i, err))
            gateways.append({"proc": p, "port": port})
            log("gateway %d on 127.0.0.1:%d (pid %d)" % (i, port, p.pid))
        log("policy (default for the event %r): admit %d/s, burst %d, reservations 60 s"
            % (EVENT, admit, burst))
        for g in gateways:
            pr = Probe(g["port"])
            for _ in range(100):
                status, _, _ = pr._request("GET", "/healthz")
                if status == 200:
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError("gateway on port %d: /healthz does not answer" % g["port"])
            probes.append(pr)

        # --- Load generators -------------------------------------------------------------------
        per_gw = args.rate / args.gateways
        gens = []
        for i, g in enumerate(gateways):
            json_out = os.path.join(out, "load%d.json" % i)
            argv = [load_bin, "--mode=circulation", "--url=http://127.0.0.1:%d" % g["port"],
                    "--rate=%g" % per_gw, "--duration_sec=%g" % args.duration_sec,
                    "--drain_sec=5", "--steady_from_sec=%g" % warmup,
                    "--connections=%d" % args.connections, "--event=" + EVENT,
                    "--seed=%d" % (i + 1), "--label=load%d" % i, "--json_out=" + json_out]
            p = children.start("load%d" % i, argv, open(os.path.join(out, "load%d.txt" % i),
                                                        "wb"),
                               open(os.path.join(out, "load%d.err" % i), "wb"))
            gens.append({"proc": p, "json": json_out})
        log("%d load generators, %g users/s each, for %g s; warm-up %g s; sampling every %g s "
            "into %s" % (len(gens), per_gw, args.duration_sec, warmup, args.interval_sec, out))

        # --- Sampling --------------------------------------------------------------------------
        csv_path = os.path.join(out, "samples.csv")
        cols = ["t_sec"]
        for i in range(args.gateways):
            cols += ["gw%d_%s" % (i, c) for c in ("rss_mib", "fds", "sockets", "http_conns",
                                                  "5xx", "store_errors", "cpu_pct")]
        cols += ["probe_p50_ms", "probe_p99_ms", "probe_max_ms", "probe_failures",
                 "redis_used_mib", "redis_rss_mib", "redis_clients", "redis_keys",
                 "redis_cmds_per_sec", "redis_cpu_pct", "load_cpu_pct"]
        csv_file = open(csv_path, "w", newline="")
        writer = csv.DictWriter(csv_file, fieldnames=cols)
        writer.writeheader()

        t0 = time.monotonic()
        pids_cpu = {"redis": redis.pid}
        for i, g in enumerate(gateways):
            pids_cpu["gw%d" % i] = g["proc"].pid
        for i, g in enumerate(gens):
            pids_cpu["load%d" % i] = g["proc"].pid
        last_ticks = {k: proc_cpu_ticks(v) for k, v in pids_cpu.items()}
        last_t = t0
        last_cmds = None
        n = 0
        while True:
            due = t0 + n * args.interval_sec
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            now = time.monotonic()
            t = now - t0
            if t > args.duration_sec + 0.5:
                break
            row = {"t_sec": round(t, 1)}
            ticks = {k: proc_cpu_ticks(v) for k, v in pids_cpu.items()}
            dt = max(1e-3, now - last_t)

            def cpu(k):
                if ticks.get(k) is None or last_ticks.get(k) is None or n == 0:
                    return None
                return round(100.0 * (ticks[k] - last_ticks[k]) / CLK_TCK / dt, 1)
            lat_all, failures = [], 0
            for i, g in enumerate(gateways):
                pid = g["proc"].pid
                if g["proc"].poll() is not None:
                    raise RuntimeError("gateway %d exited (code %s) at %.0f s; see %s/gateway%d.err"
                                       % (i, g["proc"].returncode, t, out, i))
                rss = proc_rss_kib(pid)
                fds, socks = proc_fds(pid)
                m = probes[i].metrics() or {}
                lat, fail = probes[i].sample()
                lat_all += lat
                failures += fail
                row.update({"gw%d_rss_mib" % i: round(rss / 1024, 2) if rss else None,
                            "gw%d_fds" % i: fds, "gw%d_sockets" % i: socks,
                            "gw%d_http_conns" % i: m.get("http_conns"),
                            "gw%d_5xx" % i: m.get("5xx"),
                            "gw%d_store_errors" % i: m.get("store_errors"),
                            "gw%d_cpu_pct" % i: cpu("gw%d" % i)})
            try:
                info = redis_info(redis_port)
            except (OSError, RuntimeError):
                info = {}
            cmds = int(info["total_commands_processed"]) if "total_commands_processed" in info \
                else None
            keys = None
            db0 = info.get("db0")  # keys=N,expires=M,...
            if db0:
                keys = int(db0.split(",")[0].split("=")[1])
            load_cpu = [cpu("load%d" % i) for i in range(len(gens))]
            row.update({
                "probe_p50_ms": round(percentile(lat_all, 50), 3) if lat_all else None,
                "probe_p99_ms": round(percentile(lat_all, 99), 3) if lat_all else None,
                "probe_max_ms": round(max(lat_all), 3) if lat_all else None,
                "probe_failures": failures,
                "redis_used_mib": round(int(info["used_memory"]) / 2**20, 2)
                if "used_memory" in info else None,
                "redis_rss_mib": round(int(info["used_memory_rss"]) / 2**20, 2)
                if "used_memory_rss" in info else None,
                "redis_clients": int(info["connected_clients"])
                if "connected_clients" in info else None,
                "redis_keys": keys,
                "redis_cmds_per_sec": round((cmds - last_cmds) / dt)
                if cmds is not None and last_cmds is not None else None,
                "redis_cpu_pct": cpu("redis"),
                "load_cpu_pct": round(sum(c for c in load_cpu if c is not None), 1)
                if n > 0 else None,
            })
            last_ticks, last_t, last_cmds = ticks, now, cmds
            writer.writerow(row)
            csv_file.flush()
            samples.append(row)
            log("t=%4.0f s  rss %s MiB  fds %s  conns %s  probe p50/p99 %s/%s ms  redis %s MiB "
                "%s clients %s cmd/s  cpu gw %s load %s redis %s" % (
                    t, "/".join(str(row["gw%d_rss_mib" % i]) for i in range(args.gateways)),
                    "/".join(str(row["gw%d_fds" % i]) for i in range(args.gateways)),
                    "/".join(str(row["gw%d_http_conns" % i]) for i in range(args.gateways)),
                    row["probe_p50_ms"], row["probe_p99_ms"], row["redis_used_mib"],
                    row["redis_clients"], row["redis_cmds_per_sec"],
                    "/".join(str(row["gw%d_cpu_pct" % i]) for i in range(args.gateways)),
                    row["load_cpu_pct"], row["redis_cpu_pct"]))
            n += 1
        csv_file.close()

        # --- The generators' results -----------------------------------------------------------
        for i, g in enumerate(gens):
            try:
                code = g["proc"].wait(timeout=60)
            except subprocess.TimeoutExpired:
                log("load generator %d still running 60 s after the end: stopping it" % i)
                code = Children.stop(g["proc"])
            gen_exit.append(code)
            try:
                with open(g["json"]) as f:
                    gen_results.append(json.load(f))
            except (OSError, ValueError):
                gen_results.append(None)
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: cleaning up")
    except RuntimeError as e:
        children.stop_all()
        print("soak.py: %s" % e, file=sys.stderr)
        shutil.rmtree(redis_dir, ignore_errors=True)
        return 1
    finally:
        for pr in probes:
            pr.close()
        children.stop_all()
        shutil.rmtree(redis_dir, ignore_errors=True)

    if not samples:
        print("soak.py: no samples taken", file=sys.stderr)
        return 1
    summary = summarise(args, warmup, samples, gen_results, gen_exit, interrupted, out,
                        started_wall)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    try:
        plot(args, warmup, samples, plot_path)
        log("plot: %s" % plot_path)
    except ImportError as e:
        log("no plot (%s): install python3-matplotlib" % e)
    print_summary(summary)
    log("results in %s (samples.csv, summary.json, load*.json, logs)" % out)
    return 0 if summary["verdict"]["ok"] else 1


def summarise(args, warmup, samples, gen_results, gen_exit, interrupted, out, started_wall):
    post = [s for s in samples if s["t_sec"] >= warmup]
    ts = [s["t_sec"] for s in post]

    def series(key, rows=post):
        return [s.get(key) for s in rows]

    def growth(key, since=warmup):
        rows = [s for s in samples if s["t_sec"] >= since]
        ts = [s["t_sec"] for s in rows]
        ys = [y for y in series(key, rows) if y is not None]
        if not ys:
            return None
        first, last = ys[0], ys[-1]
        mean = sum(ys) / len(ys)
        slope = slope_per_10min(ts, series(key, rows))
        bound = max(GROWTH_MIB_PER_10MIN, GROWTH_FRACTION_PER_10MIN * mean)
        # The slope of the second half too: a plateau reached late shows as a smaller one.
        half = [s for s in rows if s["t_sec"] >= (since + rows[-1]["t_sec"]) / 2]
        return {"since_sec": since, "first_mib": first, "last_mib": last, "growth_mib": round(last - first, 2),
                "growth_pct": round(100 * (last - first) / first, 2) if first else None,
                "slope_mib_per_10min": round(slope, 3) if slope is not None else None,
                "slope_second_half_mib_per_10min":
                    (lambda v: round(v, 3) if v is not None else None)(
                        slope_per_10min([s["t_sec"] for s in half], series(key, half))),
                "bound_mib_per_10min": round(bound, 3),
                "grows": slope is not None and slope > bound}

    def rng(key):
        ys = [y for y in series(key) if y is not None]
        return [min(ys), max(ys)] if ys else None

    gws = []
    for i in range(args.gateways):
        gws.append({"rss": growth("gw%d_rss_mib" % i), "fds": rng("gw%d_fds" % i),
                    "sockets": rng("gw%d_sockets" % i),
                    "http_conns": rng("gw%d_http_conns" % i),
                    "5xx_total": samples[-1].get("gw%d_5xx" % i),
                    "store_errors_total": samples[-1].get("gw%d_store_errors" % i),
                    "cpu_pct_mean": mean_of(series("gw%d_cpu_pct" % i, samples))})
    redis = growth("redis_used_mib", args.redis_settle_sec)
    redis_after_warmup = growth("redis_used_mib")
    redis_clients = rng("redis_clients")
    p99 = [s["probe_p99_ms"] for s in samples if s["probe_p99_ms"] is not None]
    warm_p99 = [s["probe_p99_ms"] for s in samples
                if s["t_sec"] < warmup and s["probe_p99_ms"] is not None]
    post_p99 = [y for y in series("probe_p99_ms") if y is not None]
    probe = {"p99_ms_warmup_max": max(warm_p99) if warm_p99 else None,
             "p99_ms_after_warmup": {"min": min(post_p99) if post_p99 else None,
                                     "median": percentile(post_p99, 50),
                                     "max": max(post_p99) if post_p99 else None,
                                     "slope_ms_per_10min":
                                         slope_per_10min(ts, series("probe_p99_ms"))},
             "p99_ms_first_last": [p99[0], p99[-1]] if p99 else None,
             "failures": sum(s["probe_failures"] or 0 for s in samples)}
    gens = []
    gen_errors = 0
    for i, r in enumerate(gen_results):
        if r is None:
            gens.append({"exit": gen_exit[i] if i < len(gen_exit) else None, "result": None})
            gen_errors += 1
            continue
        codes_5xx = 0
        transport = 0
        routes = {}
        for name, route in r.get("routes", {}).items():
            for code, cnt in route.get("codes", {}).items():
                if code == "error":
                    transport += cnt
                elif code.startswith("5"):
                    codes_5xx += cnt
            routes[name] = {k: route.get(k) for k in ("requests", "p50_ms", "p99_ms", "max_ms")}
        gen_errors += r.get("errors", 0)
        gens.append({"exit": gen_exit[i] if i < len(gen_exit) else None,
                     "requests_per_sec": r.get("requests_per_sec"), "users": r.get("users"),
                     "entries_to_exits_steady": r.get("entries_to_exits_steady"),
                     "still_in_room": r.get("still_in_room"), "errors": r.get("errors"),
                     "lost": r.get("lost"), "denied": r.get("denied"), "5xx": codes_5xx,
                     "transport_errors": transport, "routes": routes,
                     "activation_wait": r.get("activation_wait"), "lag": r.get("lag")})
    server_5xx = sum(g["5xx_total"] or 0 for g in gws)
    # CPU per request (all routes, the generators' window rate): what a bigger rate would need.
    req_per_sec = sum(g.get("requests_per_sec") or 0 for g in gens)
    cpu_us = None
    if req_per_sec > 0:
        gw_cpu = sum(g["cpu_pct_mean"] or 0 for g in gws)
        cpu_us = {"requests_per_sec": round(req_per_sec, 1),
                  "gateways": round(gw_cpu / 100 / req_per_sec * 1e6, 1),
                  "redis": round((mean_of([s["redis_cpu_pct"] for s in samples]) or 0) / 100
                                 / req_per_sec * 1e6, 1),
                  "load_generators": round((mean_of([s["load_cpu_pct"] for s in samples]) or 0)
                                           / 100 / req_per_sec * 1e6, 1)}
    rss_grows = [i for i, g in enumerate(gws) if g["rss"] and g["rss"]["grows"]]
    complete = (not interrupted and len(gen_results) == args.gateways
                and all(r is not None for r in gen_results))
    errors = gen_errors + server_5xx + probe["failures"]
    verdict = {
        "growth": ("no growth after warm-up" if not rss_grows and not (redis and redis["grows"])
                   else "GROWTH after warm-up: %s" % ", ".join(
                       ["gateway %d RSS" % i for i in rss_grows]
                       + (["Redis used_memory"] if redis and redis["grows"] else []))),
        "errors": ("no errors" if errors == 0 and complete else
                   "ERRORS: generators %d (incl. missing results), gateway 5xx %d, probe "
                   "failures %d%s" % (gen_errors, server_5xx, probe["failures"],
                                      "" if complete else "; run incomplete")),
        "bound": "least-squares slope after warm-up within max(%g MiB, %g%% of the mean) per "
                 "10 min" % (GROWTH_MIB_PER_10MIN, 100 * GROWTH_FRACTION_PER_10MIN),
        "enough_samples": len(post) >= 3,
        "long_enough": args.duration_sec - warmup >= 600,
    }
    verdict["ok"] = (not rss_grows and not (redis and redis["grows"]) and errors == 0
                     and complete)
    return {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_wall)),
            "args": vars(args), "warmup_sec": warmup, "samples": len(samples),
            "samples_after_warmup": len(post), "cpus": os.cpu_count(),
            "interrupted": interrupted, "gateways": gws, "redis_used_memory": redis,
            "redis_used_memory_after_warmup": redis_after_warmup,
            "redis_clients": redis_clients, "redis_cpu_pct_mean":
                mean_of([s["redis_cpu_pct"] for s in samples]),
            "load_cpu_pct_mean": mean_of([s["load_cpu_pct"] for s in samples]),
            "cpu_us_per_request": cpu_us, "probe": probe, "load_generators": gens, "verdict": verdict, "out": out}


def mean_of(values):
    v = [x for x in values if x is not None]
    return round(sum(v) / len(v), 1) if v else None


def print_summary(s):
    print()
    print("Soak: %d gateways, %g users/s, %g s, warm-up %g s, %d samples (%d after warm-up)" % (
        s["args"]["gateways"], s["args"]["rate"], s["args"]["duration_sec"], s["warmup_sec"],
        s["samples"], s["samples_after_warmup"]))
    for i, g in enumerate(s["gateways"]):
        r = g["rss"] or {}
        print("  gateway %d: RSS %s -> %s MiB after warm-up (%+.2f MiB, %s%%; slope %s MiB/10 min,"
              " second half %s), fds %s, sockets %s, HTTP connections %s, 5xx %s, store errors "
              "%s, CPU %s%%" % (i, r.get("first_mib"), r.get("last_mib"), r.get("growth_mib") or 0,
                                r.get("growth_pct"), r.get("slope_mib_per_10min"),
                                r.get("slope_second_half_mib_per_10min"), g["fds"], g["sockets"],
                                g["http_conns"], g["5xx_total"], g["store_errors_total"],
                                g["cpu_pct_mean"]))
    r = s["redis_used_memory"] or {}
    print("  redis: used_memory %s -> %s MiB from %g s (slope %s MiB/10 min, second half %s),"
          " clients %s, CPU %s%%" % (r.get("first_mib"), r.get("last_mib"), r.get("since_sec", 0),
                                     r.get("slope_mib_per_10min"),
                                     r.get("slope_second_half_mib_per_10min"), s["redis_clients"],
                                     s["redis_cpu_pct_mean"]))
    r = s["redis_used_memory_after_warmup"] or {}
    print("         from warm-up: %s -> %s MiB (%+.2f MiB, %s%%)" % (
        r.get("first_mib"), r.get("last_mib"), r.get("growth_mib") or 0, r.get("growth_pct")))
    p = s["probe"]
    print("  probe p99: warm-up max %s ms; after warm-up min/median/max %s/%s/%s ms; failures %d"
          % (fmt(p["p99_ms_warmup_max"]), fmt(p["p99_ms_after_warmup"]["min"]),
             fmt(p["p99_ms_after_warmup"]["median"]), fmt(p["p99_ms_after_warmup"]["max"]),
             p["failures"]))
    for i, g in enumerate(s["load_generators"]):
        if g.get("routes") is None:
            print("  load %d: no result (exit %s)" % (i, g["exit"]))
            continue
        print("  load %d: %s req/s, %s users, errors %s, 5xx %s, transport %s, lost %s, denied %s,"
              " still in room %s; status p50/p99 %s/%s ms, join p99 %s ms; lag p99 %s ms" % (
                  i, fmt(g["requests_per_sec"]), g["users"], g["errors"], g["5xx"],
                  g["transport_errors"], g["lost"], g["denied"], g["still_in_room"],
                  fmt(g["routes"].get("status", {}).get("p50_ms")),
                  fmt(g["routes"].get("status", {}).get("p99_ms")),
                  fmt(g["routes"].get("join", {}).get("p99_ms")),
                  fmt((g.get("lag") or {}).get("p99_ms"))))
    print("  CPU (mean, %% of one core): load generators %s, redis %s; %d cores" % (
        s["load_cpu_pct_mean"], s["redis_cpu_pct_mean"], s["cpus"]))
    c = s["cpu_us_per_request"]
    if c:
        print("  CPU per request at %s req/s: gateways %s us, redis %s us, load generators %s us "
              "(at low rates the fixed costs, sweeps and scans, inflate these)" % (
                  c["requests_per_sec"], c["gateways"], c["redis"], c["load_generators"]))
    v = s["verdict"]
    notes = []
    if not v["enough_samples"]:
        notes.append("too few samples after warm-up to judge growth")
    if not v["long_enough"]:
        notes.append("under 10 minutes after warm-up: the room is still filling (stays up to "
                     "30 s, departed tokens kept 600 s), so growth here is not a leak")
    print("Verdict: %s; %s (%s)%s" % (v["growth"], v["errors"], v["bound"],
                                      "".join("; " + n for n in notes)))


def fmt(x):
    return "-" if x is None else ("%.3g" % x if isinstance(x, float) else str(x))


def plot(args, warmup, samples, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = [s["t_sec"] / 60 for s in samples]
    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(9, 10))
    for i in range(args.gateways):
        c = "C%d" % i
        axes[0].plot(t, [s["gw%d_rss_mib" % i] for s in samples], color=c,
                     label="gateway %d" % i)
        axes[1].plot(t, [s["gw%d_fds" % i] for s in samples], color=c,
                     label="gateway %d fds" % i)
        if any(s.get("gw%d_http_conns" % i) is not None for s in samples):
            axes[1].plot(t, [s["gw%d_http_conns" % i] for s in samples], color=c, linestyle="--",
                         label="gateway %d HTTP connections" % i)
    axes[0].set_ylabel("RSS (MiB)")
    axes[1].set_ylabel("open fds")
    axes[2].plot(t, [s["probe_p50_ms"] for s in samples], label="p50")
    axes[2].plot(t, [s["probe_p99_ms"] for s in samples], label="p99")
    axes[2].set_ylabel("probe latency (ms)")
    axes[3].plot(t, [s["redis_used_mib"] for s in samples], label="used_memory")
    if args.redis_settle_sec > warmup:
        axes[3].axvline(args.redis_settle_sec / 60, color="0.5", linestyle=":",
                        label="judged from here")
    axes[3].set_ylabel("Redis (MiB)")
    axes[3].set_xlabel("minutes")
    for ax in axes:
        ax.axvspan(0, warmup / 60, color="0.9", zorder=0)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        ax.set_ylim(bottom=0)
    axes[0].set_title("Soak: circulation at %g users/s on %d gateways and one Redis, %.3g min "
                      "(warm-up shaded)" % (args.rate, args.gateways, args.duration_sec / 60),
                      fontsize="medium")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
