#!/usr/bin/python3
"""The monitoring that ships (deploy/) names only metrics a gateway really exports.

    check_monitoring.py --gateway BUILD/examples/gateway/admission-gateway [--redis-server PATH]
                        [--promtool PATH]

Starts the gateway on the memory store (and, with --redis-server, again on a redis-server of
its own on a free loopback port), makes a little traffic through its HTTP API (an event, a
join, an inventory, a hold and a payment), scrapes /metrics with the metrics token, and checks
that every admission_* metric named in deploy/prometheus/alerts.yml and in the Grafana
dashboard deploy/grafana/admission.json has samples there. Also checks the files' shape: the
rules (alert, expr, labels.severity), the scrape configuration, the dashboard's panels and the
systemd unit's hardening. With --promtool (Debian's prometheus package), also the rules' syntax
(promtool check rules) and their unit tests, deploy/prometheus/alerts_test.yml (promtool test
rules: each alert fires when it should and not when the room is paused, full or moving); with
systemd-analyze, the unit's syntax (systemd-analyze verify). Exit
status 0 when all holds; the problems on stderr otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, "deploy")
ADMIN = "check-admin"
METRICS = "check-metrics"
METRIC = re.compile(r"\badmission_[A-Za-z0-9_]+")

problems: list[str] = []


def problem(text: str) -> None:
    problems.append(text)
    print("FAIL: " + text, file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port: int, method: str, path: str, body=None, token: str = ADMIN, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Gateway:
    """admission-gateway on a free port; stopped with SIGTERM."""

    def __init__(self, binary: str, flags: list[str]) -> None:
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [binary, "--listen=127.0.0.1:0", f"--admin_token={ADMIN}",
             f"--metrics_token={METRICS}", "--access_log=false", "--pow=off",
             "--wait_tiers=", "--rate_limit_ip_per_sec=0", "--rate_limit_token_per_sec=0"]
            + flags, stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            self.stop()
            self.err.seek(0)
            raise RuntimeError("the gateway did not start: " + line + self.err.read().decode())
        self.port = int(m.group(1))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if call(self.port, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("/healthz did not answer")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class RedisServer:
    def __init__(self, binary: str) -> None:
        self.port = free_port()
        self.dir = tempfile.TemporaryDirectory()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir.name],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()
        self.dir.cleanup()


def traffic(port: int) -> None:
    """An event with a line, an inventory, a hold and a payment: every series gets samples."""
    ok = lambda r, want: r[0] == want or problem(f"traffic: {r}")  # noqa: E731
    ok(call(port, "PUT", "/admin/v1/events/mon/policy", {"admit_rate_per_sec": 1000}), 200)
    ok(call(port, "PUT", "/admin/v1/events/mon/inventory",
            {"general_admission": 5, "currency": "EUR", "price": 100}), 200)
    status, body = call(port, "POST", "/api/v1/queue/join", {"event_id": "mon", "user_id": "u1"})
    ok((status, body), 202)
    waiting = json.loads(body).get("waiting_token", "")
    status, body = call(port, "POST", "/api/v1/queue/enter", {"waiting_token": waiting})
    ok((status, body), 200)
    admission = json.loads(body).get("reservation_token", "")
    status, body = call(port, "POST", "/api/v1/reservations", {"event_id": "mon", "quantity": 1},
                        token=admission, headers={"Idempotency-Key": "mon-hold-1"})
    ok((status, body), 201)
    r = json.loads(body)
    ok(call(port, "POST", "/api/v1/payment/intent",
            {"reservation_id": r.get("reservation_id"), "amount": 100, "currency": "EUR",
             "scenario": "approve"}, token=r.get("reservation_token", "")), 202)
    call(port, "GET", "/no-such-route")  # a 404 in the request counters


def exported(port: int) -> set[str]:
    status, text = call(port, "GET", "/metrics", token=METRICS)
    if status != 200:
        problem(f"/metrics answered {status}")
        return set()
    if call(port, "GET", "/metrics", token="wrong")[0] != 401:
        problem("/metrics answers without its token")
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def wanted() -> dict[str, set[str]]:
    """Every admission_* metric the deploy files name, by file; checks their shape meanwhile."""
    out: dict[str, set[str]] = {}
    with open(os.path.join(DEPLOY, "prometheus", "alerts.yml")) as f:
        rules = yaml.safe_load(f)
    names: set[str] = set()
    alerts = []
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            if "alert" not in rule or "expr" not in rule:
                problem(f"alerts.yml: a rule without alert/expr: {rule}")
                continue
            alerts.append(rule["alert"])
            if "severity" not in rule.get("labels", {}):
                problem(f"alerts.yml: {rule['alert']} has no severity label")
            names |= set(METRIC.findall(rule["expr"]))
    for must in ("AdmissionRoomStalled", "AdmissionStoreUnavailable", "AdmissionHighErrorRatio",
                 "AdmissionDeadLettersGrowing"):
        if must not in alerts:
            problem(f"alerts.yml: no {must} rule")
    out["alerts.yml"] = names

    with open(os.path.join(DEPLOY, "prometheus", "prometheus.yml")) as f:
        prom = yaml.safe_load(f)
    if "alerts.yml" not in prom.get("rule_files", []):
        problem("prometheus.yml does not load alerts.yml")
    jobs = [j for j in prom.get("scrape_configs", []) if j.get("metrics_path") == "/metrics"]
    if not jobs or jobs[0].get("authorization", {}).get("type") != "Bearer":
        problem("prometheus.yml: no /metrics job with a bearer token")

    with open(os.path.join(DEPLOY, "grafana", "admission.json")) as f:
        dash = json.load(f)
    names = set()
    panels = [p for p in dash.get("panels", []) if p.get("type") != "row"]
    if len(panels) < 6:
        problem("admission.json: fewer than 6 panels")
    for p in panels:
        for t in p.get("targets", []):
            names |= set(METRIC.findall(t.get("expr", "")))
    for v in dash.get("templating", {}).get("list", []):
        names |= set(METRIC.findall(json.dumps(v.get("query", ""))))
    out["admission.json"] = names

    with open(os.path.join(DEPLOY, "systemd", "admission-gateway.service")) as f:
        unit = f.read()
    for line in ("DynamicUser=yes", "ProtectSystem=strict", "Restart=on-failure",
                 "EnvironmentFile=", "LoadCredential=", "NoNewPrivileges=yes",
                 "KillSignal=SIGTERM", "ExecStart=/usr/local/bin/admission-gateway"):
        if not re.search("^" + re.escape(line), unit, re.M):
            problem(f"admission-gateway.service lacks {line}")
    return out


def check(binary: str, label: str, flags: list[str]) -> None:
    gateway = Gateway(binary, flags)
    try:
        traffic(gateway.port)
        # The payment's outcome is applied by the worker thread: wait for it (bounded).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status, text = call(gateway.port, "GET", "/api/v1/events/mon/seats")
            if status == 200 and json.loads(text).get("sold") == 1:
                break
            time.sleep(0.05)
        names = exported(gateway.port)
        for where, used in wanted().items():
            for name in sorted(used):
                if name not in names:
                    problem(f"{label}: {where} names {name}, which /metrics does not export")
        print(f"{label}: {len(names)} metric names exported; deploy/ names "
              f"{len(set().union(*wanted().values()))} (checked above)")
    finally:
        gateway.stop()


def systemd_verify(gateway: str) -> None:
    """systemd-analyze verify of the unit, with ExecStart pointed at the built gateway (verify
    wants the executable to exist); skipped without systemd-analyze."""
    analyze = "/usr/bin/systemd-analyze"
    if not os.access(analyze, os.X_OK):
        print("systemd-analyze not installed: the unit's syntax is not checked")
        return
    with open(os.path.join(DEPLOY, "systemd", "admission-gateway.service")) as f:
        unit = f.read().replace("/usr/local/bin/admission-gateway", os.path.abspath(gateway))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "admission-gateway.service")
        with open(path, "w") as f:
            f.write(unit)
        proc = subprocess.run([analyze, "verify", path], capture_output=True, text=True,
                              timeout=60)
        if proc.returncode != 0 or proc.stderr.strip():
            problem(f"systemd-analyze verify:\n{proc.stdout}{proc.stderr}")
        else:
            print("systemd-analyze verify admission-gateway.service: ok")


def promtool_checks(promtool: str) -> None:
    rules_dir = os.path.join(DEPLOY, "prometheus")
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]):
        proc = subprocess.run([promtool] + args, cwd=rules_dir, capture_output=True, text=True,
                              timeout=120)
        if proc.returncode != 0:
            problem(f"promtool {' '.join(args)}:\n{proc.stdout}{proc.stderr}")
        else:
            print(f"promtool {' '.join(args)}: ok")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gateway", required=True)
    p.add_argument("--redis-server", default="")
    p.add_argument("--promtool", default="")
    args = p.parse_args()
    systemd_verify(args.gateway)
    if args.promtool:
        promtool_checks(args.promtool)
    else:
        print("promtool not given: the rules' syntax and unit tests are not checked")
    check(args.gateway, "memory", ["--store=memory"])
    if args.redis_server:
        redis = RedisServer(args.redis_server)
        try:
            check(args.gateway, "redis", [f"--store=redis://127.0.0.1:{redis.port}"])
        finally:
            redis.stop()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
