// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// admission-gateway-crowd: the crowd figure of the gateway (docs/benchmarks.md, "Crowd"). One
// process, one epoll thread, holding at once what a waiting room faces on a sale's opening:
//   --pollers=N    keep-alive clients, each joining once and then polling its status every
//                  --poll_interval_ms (the page's rhythm near the front: 1 s); or GET --path
//   --slowloris=M  sockets sending a request head one byte per --slowloris_interval_ms
//   --idle=K       sockets that connect and send nothing
// The slowloris and idle sockets are reopened whenever the server closes them, so the crowd
// stays at full size. Meanwhile a probe opens a fresh connection every --probe_interval_ms and
// times GET /healthz, and another a POST join (a new user each time): what a new visitor sees
// while the crowd is in. The crowd opens at --connect_rate per second (the ramp, not measured),
// then is measured for --duration_sec.
//
// Reported: the probes' and the pollers' p50/p99/max, every failure by kind (a refused or
// timed-out connect, a status other than the expected one, a request not answered within
// --request_timeout_ms, a connection closed before its answer), what the server did to the
// slowloris and idle sockets (how many it closed, how long after their first byte), and with
// --pid=PID the server's RSS before the crowd, once it is all open, and at its peak, and the
// bytes per open connection ((RSS once open - RSS before) / open connections; on the memory
// store this includes the pollers' joined users), and the CPU the crowd and the server used:
// the crowd runs on the same cores, and a crowd near one full core, or polls going out late,
// means the figure measured the crowd as much as the server. --json_out=FILE writes the same
// as JSON; --probes_out=FILE every probe as a CSV line (when it was sent, in ms from the
// start, what it asked, the status, how long it took), to see when a tail happened.
// The exit status is 1 when anything failed.
//
// One loopback source address gives about 28k client ports; --source_addresses=N binds the
// sockets to 127.0.0.1 .. 127.0.0.N in turn for more. Each socket is a file descriptor here and
// on the server: `ulimit -n` bounds both.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "support/raw_http.h"

namespace {

using ::admission::gateway::rawhttp::Crowd;
using ::admission::gateway::rawhttp::CrowdAnswer;
using ::admission::gateway::rawhttp::CrowdOptions;
using ::admission::gateway::rawhttp::CrowdResults;
using ::admission::gateway::rawhttp::Latencies;
using Json = nlohmann::json;

constexpr char kUsage[] =
    "usage: admission-gateway-crowd --url=http://127.0.0.1:PORT [--pollers=N] [--slowloris=M]\n"
    "  [--idle=K] [--duration_sec=S] [--poll_interval_ms=1000] [--slowloris_interval_ms=1000]\n"
    "  [--path=/healthz (pollers GET it instead of join + status)] [--event=crowd]\n"
    "  [--probe_interval_ms=100] [--connect_rate=3000] [--ramp_timeout_sec=60]\n"
    "  [--request_timeout_ms=10000] [--source_addresses=1] [--pid=GATEWAY_PID]\n"
    "  [--label=TEXT] [--json_out=FILE] [--probes_out=FILE]\n";

struct Flags {
  CrowdOptions crowd;
  std::string label;
  std::string json_out;
  std::string probes_out;
};

// --name=value flags; false (with a message) on an unknown flag or a bad value.
bool ParseFlags(int argc, char** argv, Flags* flags) {
  CrowdOptions& c = flags->crowd;
  c.duration_ms = 60000;
  c.ramp_timeout_ms = 60000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const std::size_t eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) {
      std::cerr << "bad argument '" << arg << "'\n" << kUsage;
      return false;
    }
    const std::string name(arg.substr(2, eq - 2));
    const std::string value(arg.substr(eq + 1));
    char* end = nullptr;
    const double number = std::strtod(value.c_str(), &end);
    const bool numeric = !value.empty() && end != nullptr && *end == '\0' && number >= 0;
    auto as_int = [&](int* out) {
      if (!numeric) return false;
      *out = static_cast<int>(number);
      return true;
    };
    bool ok = true;
    if (name == "url") {
      constexpr std::string_view kPrefix = "http://127.0.0.1:";
      ok = value.rfind(kPrefix, 0) == 0;
      if (ok) c.port = std::atoi(value.c_str() + kPrefix.size());
      ok = ok && c.port > 0;
    } else if (name == "pollers") {
      ok = as_int(&c.pollers);
    } else if (name == "slowloris") {
      ok = as_int(&c.slowloris);
    } else if (name == "idle") {
      ok = as_int(&c.idle);
    } else if (name == "duration_sec") {
      ok = numeric;
      c.duration_ms = static_cast<int>(number * 1000);
    } else if (name == "poll_interval_ms") {
      ok = as_int(&c.poll_interval_ms) && c.poll_interval_ms > 0;
    } else if (name == "slowloris_interval_ms") {
      ok = as_int(&c.slowloris_interval_ms) && c.slowloris_interval_ms > 0;
    } else if (name == "path") {
      c.path = value;
      ok = value.empty() || value[0] == '/';
    } else if (name == "event") {
      c.event = value;
    } else if (name == "probe_interval_ms") {
      ok = as_int(&c.probe_interval_ms);
    } else if (name == "connect_rate") {
      ok = as_int(&c.connect_rate_per_sec) && c.connect_rate_per_sec > 0;
    } else if (name == "ramp_timeout_sec") {
      ok = numeric;
      c.ramp_timeout_ms = static_cast<int>(number * 1000);
    } else if (name == "request_timeout_ms") {
      ok = as_int(&c.request_timeout_ms) && c.request_timeout_ms > 0;
    } else if (name == "source_addresses") {
      ok = as_int(&c.source_addresses) && c.source_addresses >= 1 && c.source_addresses < 250;
    } else if (name == "pid") {
      int pid = 0;
      ok = as_int(&pid);
      c.server_pid = pid;
    } else if (name == "label") {
      flags->label = value;
    } else if (name == "json_out") {
      flags->json_out = value;
    } else if (name == "probes_out") {
      flags->probes_out = value;
    } else {
      std::cerr << "unknown flag --" << name << "\n" << kUsage;
      return false;
    }
    if (!ok) {
      std::cerr << "bad value for --" << name << ": '" << value << "'\n" << kUsage;
      return false;
    }
  }
  if (c.port == 0) {
    std::cerr << "--url is required\n" << kUsage;
    return false;
  }
  return true;
}

Json LatencyJson(const Latencies& l) {
  return Json{{"count", l.us.size()},
              {"p50_ms", l.PercentileMs(50)},
              {"p99_ms", l.PercentileMs(99)},
              {"max_ms", l.MaxMs()}};
}

void PrintLatency(const char* name, const Latencies& l) {
  std::printf("  %-28s %9zu %9.2f %9.2f %9.2f\n", name, l.us.size(), l.PercentileMs(50),
              l.PercentileMs(99), l.MaxMs());
}

double Mib(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;
  const CrowdOptions& o = flags.crowd;
  std::printf(
      "crowd: %d pollers, %d slowloris, %d idle against port %d; probe every %d ms; "
      "measured for %.0f s once open\n",
      o.pollers, o.slowloris, o.idle, o.port, o.probe_interval_ms, o.duration_ms / 1000.0);
  std::fflush(stdout);
  std::ofstream probes;
  if (!flags.probes_out.empty()) {
    probes.open(flags.probes_out);
    if (!probes) {
      std::cerr << "could not write " << flags.probes_out << "\n";
      return 2;
    }
    probes << "sent_ms,what,status,took_ms\n";
    const int64_t start = ::admission::gateway::rawhttp::NowUs();
    // So that a script can place its own events (say, a store stopped) on the probes' time line.
    std::printf("probes: sent_ms counts from CLOCK_MONOTONIC %.3f s\n",
                static_cast<double>(start) / 1e6);
    std::fflush(stdout);
    flags.crowd.on_answer = [&probes, start](const CrowdAnswer& a) {
      if (std::string_view(a.what).rfind("probe", 0) != 0) return;
      probes << (a.sent_us - start) / 1000 << "," << a.what << "," << a.status << ","
             << static_cast<double>(a.answered_us - a.sent_us) / 1e3 << "\n";
    };
  }
  Crowd crowd(flags.crowd);
  const CrowdResults r = crowd.Run();

  const int64_t grown = r.rss_crowd_open - r.rss_before;
  const double per_connection =
      r.connections_open > 0 && r.rss_before > 0
          ? static_cast<double>(grown) / static_cast<double>(r.connections_open)
          : 0;
  std::printf("ramp: %.1f s%s; %lld connections open, measured %.1f s\n", r.ramp_ms / 1000,
              r.ramp_complete ? "" : " (INCOMPLETE)", static_cast<long long>(r.connections_open),
              r.measured_ms / 1000);
  std::printf("  %-28s %9s %9s %9s %9s\n", "latency (ms)", "count", "p50", "p99", "max");
  PrintLatency("probe: fresh GET /healthz", r.probe_healthz);
  PrintLatency("probe: fresh POST join", r.probe_join);
  PrintLatency("probe: its connect alone", r.probe_connect);
  PrintLatency(o.path.empty() ? "pollers: GET status" : "pollers: GET path", r.poller_status);
  PrintLatency("pollers: first join (ramp)", r.poller_join);
  std::printf("pollers: fewest answers per poller %lld, reconnects %lld\n",
              static_cast<long long>(r.min_answers_per_poller),
              static_cast<long long>(r.poller_reconnects));
  std::printf(
      "slowloris: %lld closed by the server (%lld answered first), after p50 %.0f ms, "
      "max %.0f ms of their first byte; oldest still open %.0f ms\n",
      static_cast<long long>(r.slowloris_closed), static_cast<long long>(r.slowloris_answered),
      r.slowloris_lifetime.PercentileMs(50), r.slowloris_lifetime.MaxMs(),
      r.slowloris_oldest_open_ms);
  std::printf("idle: %lld closed by the server, after p50 %.0f ms\n",
              static_cast<long long>(r.idle_closed), r.idle_lifetime.PercentileMs(50));
  if (r.rss_before > 0) {
    std::printf(
        "server RSS: %.1f MiB before, %.1f MiB with the crowd open, %.1f MiB peak; "
        "%.0f bytes per open connection\n",
        Mib(r.rss_before), Mib(r.rss_crowd_open), Mib(r.rss_peak), per_connection);
  }
  std::printf("CPU during the measurement: the crowd %.2f cores", r.crowd_cpu_cores);
  if (r.server_cpu_cores >= 0) std::printf(", the server %.2f cores", r.server_cpu_cores);
  std::printf("; polls went out late by p99 %.1f ms, max %.1f ms (the crowd's own lag)\n",
              r.poll_lag.PercentileMs(99), r.poll_lag.MaxMs());
  std::printf("SYNs gone unanswered on this machine during the measurement (each a 1 s retry):");
  for (const auto& [name, count] : r.syn_counters) {
    std::printf(" %s %lld", name.c_str(), static_cast<long long>(count));
  }
  std::printf("\n");
  std::printf("failures: %lld\n", static_cast<long long>(r.total_failures));
  for (const auto& [kind, count] : r.failures) {
    std::printf("  %8lld  %s\n", static_cast<long long>(count), kind.c_str());
  }

  if (!flags.json_out.empty()) {
    Json j = {{"label", flags.label},
              {"pollers", o.pollers},
              {"slowloris", o.slowloris},
              {"idle", o.idle},
              {"poll_interval_ms", o.poll_interval_ms},
              {"path", o.path},
              {"ramp_ms", r.ramp_ms},
              {"ramp_complete", r.ramp_complete},
              {"measured_ms", r.measured_ms},
              {"connections_open", r.connections_open},
              {"probe_healthz", LatencyJson(r.probe_healthz)},
              {"probe_join", LatencyJson(r.probe_join)},
              {"probe_connect", LatencyJson(r.probe_connect)},
              {"poller_status", LatencyJson(r.poller_status)},
              {"poller_join", LatencyJson(r.poller_join)},
              {"min_answers_per_poller", r.min_answers_per_poller},
              {"poller_reconnects", r.poller_reconnects},
              {"slowloris_closed", r.slowloris_closed},
              {"slowloris_answered", r.slowloris_answered},
              {"slowloris_lifetime", LatencyJson(r.slowloris_lifetime)},
              {"slowloris_oldest_open_ms", r.slowloris_oldest_open_ms},
              {"idle_closed", r.idle_closed},
              {"idle_lifetime", LatencyJson(r.idle_lifetime)},
              {"crowd_cpu_cores", r.crowd_cpu_cores},
              {"poll_lag", LatencyJson(r.poll_lag)},
              {"syn_counters", r.syn_counters},
              {"failures", r.failures},
              {"total_failures", r.total_failures}};
    if (r.rss_before > 0) {
      j["rss_bytes"] = {
          {"before", r.rss_before}, {"crowd_open", r.rss_crowd_open}, {"peak", r.rss_peak}};
      j["bytes_per_connection"] = per_connection;
      j["server_cpu_cores"] = r.server_cpu_cores;
    }
    std::ofstream out(flags.json_out);
    out << j.dump(2) << "\n";
    if (!out) {
      std::cerr << "could not write " << flags.json_out << "\n";
      return 2;
    }
  }
  return r.total_failures == 0 ? 0 : 1;
}
