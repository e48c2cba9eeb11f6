# Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
"""Real processes on loopback for the fault suite: redis-server (a primary, a replica, three
sentinels) and admission-gateway processes, each on a free port, logs in a temporary
directory, every process killed at the end whatever happens.

    with Cluster() as c:
        redis = c.start_redis()
        a = c.start_gateway(store=redis.url, name="a")
        a.kill9(); a.restart()

The gateway binary comes from $ADMISSION_GATEWAY (tests/faults/CMakeLists.txt sets it);
redis-server from $ADMISSION_REDIS_SERVER or PATH.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

# What every gateway of the suite runs with: a room that admits at once (the suite tests the
# sale under faults, not the room's pace), no per-client rate limits (a few test clients make
# all the traffic), trusted identities (the test names its buyers), one shared token secret
# (any gateway verifies any gateway's tokens) and the admin API (inventory, dead letters).
TOKEN_SECRET = "fault-suite-secret"
ADMIN_TOKEN = "fault-admin"
BASE_FLAGS = [
    "--admit_rate_per_sec=1000",
    "--burst=1000",
    "--wait_tiers=",
    "--rate_limit_ip_per_sec=0",
    "--rate_limit_token_per_sec=0",
    "--create_events_on_join",
    "--pow=off",
    "--identity=trusted",
    "--token_secret=" + TOKEN_SECRET,
    "--admin_token=" + ADMIN_TOKEN,
    "--access_log=false",
    "--io_threads=2",
    "--threads=16",
    "--store_deadline_ms=1000",
    "--hold_expiry_scan_ms=300",
]


def gateway_binary():
    return os.environ.get("ADMISSION_GATEWAY", "")


def redis_server_binary():
    explicit = os.environ.get("ADMISSION_REDIS_SERVER")
    if explicit:
        return explicit
    return shutil.which("redis-server") or ""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Polls `predicate` until it is true (returns its value) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def redis_command(port, *args, timeout=5.0):
    """One command over a fresh connection (RESP by hand: no client library in Debian's
    python3 set is needed for a handful of admin commands). Returns the decoded reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        out = f"*{len(args)}\r\n".encode()
        for a in args:
            b = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(b), b)
        s.sendall(out)
        f = s.makefile("rb")
        return _read_reply(f)


def _read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("redis closed the connection")
    kind, rest = line[:1], line[1:].rstrip(b"\r\n")
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:n]
        return data.decode(errors="replace")
    if kind == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [_read_reply(f) for _ in range(n)]
    raise RuntimeError(f"unexpected reply {line!r}")


class Process:
    """A child process with its output in files; killed at cleanup."""

    def __init__(self, name, argv, logdir):
        self.name = name
        self.argv = argv
        self.logdir = logdir
        self.proc = None
        self.launches = 0

    def launch(self):
        for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if f is not None:
                f.close()  # the previous run's
        self.launches += 1
        suffix = "" if self.launches == 1 else f".{self.launches}"
        self.out_path = os.path.join(self.logdir, f"{self.name}{suffix}.out")
        self.err_path = os.path.join(self.logdir, f"{self.name}{suffix}.err")
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdout=self._out, stderr=self._err,
                                     stdin=subprocess.DEVNULL)
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def kill9(self):
        self.signal(signal.SIGKILL)
        self.wait(10)

    def wait(self, timeout):
        """The exit code, or None if still running after `timeout` seconds."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=10):
        if not self.alive():
            return
        self.signal(signal.SIGCONT)  # a stopped process cannot take SIGTERM
        self.signal(signal.SIGTERM)
        if self.wait(timeout) is None:
            self.signal(signal.SIGKILL)
            self.wait(5)

    def stderr_text(self):
        try:
            with open(self.err_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Redis(Process):
    def __init__(self, name, logdir, replica_of=None):
        self.port = free_port()
        self.dir = os.path.join(logdir, name + ".data")
        os.makedirs(self.dir, exist_ok=True)
        argv = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--enable-debug-command", "yes", "--protected-mode", "no"]
        if replica_of is not None:
            argv += ["--replicaof", "127.0.0.1", str(replica_of)]
        super().__init__(name, argv, logdir)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def command(self, *args, timeout=5.0):
        return redis_command(self.port, *args, timeout=timeout)

    def start(self):
        self.launch()
        wait_until(self._pings, 10, what=f"{self.name} to answer PING")
        return self

    def _pings(self):
        if not self.alive():
            raise RuntimeError(f"{self.name} exited: {self.stderr_text()[-2000:]}")
        try:
            return self.command("PING", timeout=0.5) == "PONG"
        except OSError:
            return False


class Sentinel(Process):
    def __init__(self, name, logdir, master_name, primary_port):
        self.port = free_port()
        conf = os.path.join(logdir, name + ".conf")
        with open(conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\nprotected-mode no\n"
                    f"dir {logdir}\n"
                    f"sentinel monitor {master_name} 127.0.0.1 {primary_port} 2\n"
                    f"sentinel down-after-milliseconds {master_name} 1000\n"
                    f"sentinel failover-timeout {master_name} 5000\n"
                    f"sentinel parallel-syncs {master_name} 1\n")
        super().__init__(name, [redis_server_binary(), conf, "--sentinel"], logdir)

    def start(self):
        self.launch()
        wait_until(lambda: self._answers(), 10, what=f"{self.name} to answer")
        return self

    def _answers(self):
        try:
            return redis_command(self.port, "PING", timeout=0.5) == "PONG"
        except OSError:
            return False

    def command(self, *args, timeout=5.0):
        return redis_command(self.port, *args, timeout=timeout)


class Gateway(Process):
    """An admission-gateway on a fixed loopback port (kept across restarts, so that clients
    and the proxy keep one address list)."""

    def __init__(self, name, logdir, store, extra_flags=()):
        self.port = free_port()
        self.store = store
        argv = [gateway_binary(), f"--listen=127.0.0.1:{self.port}", f"--store={store}"]
        argv += BASE_FLAGS + list(extra_flags)
        super().__init__(name, argv, logdir)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=20):
        self.launch()
        wait_until(self._healthy, timeout, what=f"gateway {self.name} /healthz")
        return self

    restart = start

    def _healthy(self):
        if not self.alive():
            raise RuntimeError(f"gateway {self.name} exited ({self.proc.returncode}): "
                               f"{self.stderr_text()[-2000:]}")
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=0.5) as r:
                return r.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def readyz(self):
        """The /readyz status code, or None when nothing answers."""
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except (OSError, urllib.error.URLError):
            return None


def gateway_refuses_store(store_url):
    """The gateway's own error when it refuses `store_url` at start-up (bad flag value), or
    None when it accepts the URL form (it then tries to serve: stopped at once here)."""
    argv = [gateway_binary(), "--listen=127.0.0.1:0", f"--store={store_url}"] + BASE_FLAGS
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = p.communicate(timeout=3)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return None  # still running after 3 s: it took the URL
    if p.returncode == 2 and b"--store" in err:
        return err.decode(errors="replace").strip()
    return None


class Cluster:
    """Owns every process of one scenario and its log directory."""

    def __init__(self, name="faults"):
        self.logdir = tempfile.mkdtemp(prefix=f"admission-{name}-")
        self.processes = []
        self.proxies = []
        self.failed = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(keep_logs=exc_type is not None or self.failed)
        return False

    def start_redis(self, name="redis", replica_of=None):
        r = Redis(name, self.logdir, replica_of=replica_of)
        self.processes.append(r)
        return r.start()

    def start_sentinels(self, master_name, primary_port, count=3):
        out = []
        for i in range(count):
            s = Sentinel(f"sentinel{i + 1}", self.logdir, master_name, primary_port)
            self.processes.append(s)
            out.append(s.start())
        return out

    def start_gateway(self, store, name, extra_flags=()):
        g = Gateway(name, self.logdir, store, extra_flags)
        self.processes.append(g)
        return g.start()

    def add_proxy(self, proxy):
        self.proxies.append(proxy)
        return proxy

    def close(self, keep_logs=False):
        for p in self.proxies:
            p.close()
        # Gateways first (they hold connections to Redis), then the rest.
        ordered = [p for p in self.processes if isinstance(p, Gateway)]
        ordered += [p for p in self.processes if not isinstance(p, Gateway)]
        for p in ordered:
            try:
                p.signal(signal.SIGCONT)
                p.signal(signal.SIGKILL)
                p.wait(5)
            except Exception:  # noqa: BLE001 - cleanup must go on
                pass
        for p in self.processes:
            for f in (getattr(p, "_out", None), getattr(p, "_err", None)):
                if f is not None:
                    f.close()
        if keep_logs or os.environ.get("ADMISSION_FAULTS_KEEP_LOGS"):
            print(f"fault suite logs kept in {self.logdir}")
        else:
            shutil.rmtree(self.logdir, ignore_errors=True)


def json_or_none(text):
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None
