// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// admission-gateway-load: the load generator of the gateway's figures (docs/benchmarks.md,
// "Gateway"). cpp-httplib clients, one keep-alive connection per worker thread; every simulated
// user sends browser-like headers (Accept-Encoding: gzip, deflate, br) and an address of its
// own in X-Real-IP, so that a gateway started with --client_address_header=X-Real-IP keeps its
// per-client limits on, as in production.
//
// Modes (--mode):
//   closed       N worker threads send back to back (closed loop) until --requests are done or
//                --duration_sec is over: --request=join (a new user each time, into --event;
//                --tokens_out keeps the waiting tokens), status (a token drawn at random from
//                --tokens_in each time) or get (--path). The 300,000-join burst is
//                --mode=closed --request=join --requests=300000.
//   circulation  Users arrive at --rate per second (Poisson) for --duration_sec; each joins,
//                polls status every --poll_min_ms..--poll_max_ms (later when the answer's
//                poll_after_ms asks for it, up to --poll_after_cap_ms: 2 s by default, so the
//                scenario's "poll every 1-2 s" holds; 30000 follows the advice as the page
//                does), enters as soon as the answer says ready_for_entry (a
//                denial is retried after its retry_after_sec), stays active --stay_min_sec..
//                --stay_max_sec, then completes with its signed reservation token
//                (--complete_fraction of them) or leaves (DELETE leave). The workers take the
//                due actions from one timer queue (open loop: a slow answer does not slow the
//                arrivals). After --duration_sec no one new arrives and the users in the room
//                finish (at most --drain_sec); latencies count the window only.
//   rate         Open loop at --rate requests per second (Poisson), --post_fraction of them
//                POST join-shaped, the others GET status-shaped: the hello-world server's
//                latency at the circulation's request rate.
//
// Latencies are service times (request written to answer read, on a kept-alive connection);
// how late the generator started requests against their schedule is reported as `lag`, so a
// generator that fell behind shows. Results: a summary on stdout and --json_out=FILE.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"

namespace {

using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------
// Flags: --name=value only; every flag has a default.

struct Flags {
  std::string url = "http://127.0.0.1:8080";
  std::string mode = "closed";
  std::string label;
  std::string json_out;
  int connections = 32;
  // closed
  std::string request = "join";
  int64_t requests = 0;
  double duration_sec = 10;
  std::string event = "load";
  std::string user_prefix = "u";
  std::string tokens_in;
  std::string tokens_out;
  std::string path = "/healthz";
  // circulation and rate
  double rate = 2000;
  double drain_sec = 60;
  double steady_from_sec = 60;
  int poll_min_ms = 1000;
  int poll_max_ms = 2000;
  int poll_after_cap_ms = 2000;
  double stay_min_sec = 5;
  double stay_max_sec = 30;
  double complete_fraction = 0.5;
  double post_fraction = 0.3;
  uint64_t seed = 1;
  bool browser_headers = true;
};

bool ParseFlags(int argc, char** argv, Flags* f) {
  const std::map<std::string, std::function<bool(const std::string&)>> setters = {
      {"url", [f](const std::string& v) { return f->url = v, true; }},
      {"mode", [f](const std::string& v) { return f->mode = v, true; }},
      {"label", [f](const std::string& v) { return f->label = v, true; }},
      {"json_out", [f](const std::string& v) { return f->json_out = v, true; }},
      {"connections", [f](const std::string& v) { return (f->connections = std::stoi(v)) > 0; }},
      {"request", [f](const std::string& v) { return f->request = v, true; }},
      {"requests", [f](const std::string& v) { return (f->requests = std::stoll(v)) >= 0; }},
      {"duration_sec", [f](const std::string& v) { return (f->duration_sec = std::stod(v)) > 0; }},
      {"event", [f](const std::string& v) { return f->event = v, true; }},
      {"user_prefix", [f](const std::string& v) { return f->user_prefix = v, true; }},
      {"tokens_in", [f](const std::string& v) { return f->tokens_in = v, true; }},
      {"tokens_out", [f](const std::string& v) { return f->tokens_out = v, true; }},
      {"path", [f](const std::string& v) { return f->path = v, true; }},
      {"rate", [f](const std::string& v) { return (f->rate = std::stod(v)) > 0; }},
      {"drain_sec", [f](const std::string& v) { return (f->drain_sec = std::stod(v)) >= 0; }},
      {"steady_from_sec",
       [f](const std::string& v) { return (f->steady_from_sec = std::stod(v)) >= 0; }},
      {"poll_min_ms", [f](const std::string& v) { return (f->poll_min_ms = std::stoi(v)) > 0; }},
      {"poll_max_ms", [f](const std::string& v) { return (f->poll_max_ms = std::stoi(v)) > 0; }},
      {"poll_after_cap_ms",
       [f](const std::string& v) { return (f->poll_after_cap_ms = std::stoi(v)) >= 0; }},
      {"stay_min_sec", [f](const std::string& v) { return (f->stay_min_sec = std::stod(v)) >= 0; }},
      {"stay_max_sec", [f](const std::string& v) { return (f->stay_max_sec = std::stod(v)) >= 0; }},
      {"complete_fraction",
       [f](const std::string& v) { return (f->complete_fraction = std::stod(v)) >= 0; }},
      {"post_fraction",
       [f](const std::string& v) { return (f->post_fraction = std::stod(v)) >= 0; }},
      {"seed", [f](const std::string& v) { return f->seed = std::stoull(v), true; }},
      {"browser_headers",
       [f](const std::string& v) { return f->browser_headers = (v == "true" || v == "1"), true; }},
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") {
      std::puts(
          "admission-gateway-load --mode=closed|circulation|rate --url=http://HOST:PORT ...\n"
          "(see the comment at the top of examples/gateway/load/load_generator.cc)");
      std::exit(0);
    }
    const std::size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      std::fprintf(stderr, "admission-gateway-load: expected --name=value, got %s\n", arg.c_str());
      return false;
    }
    const std::string name = arg.substr(2, eq - 2);
    const auto it = setters.find(name);
    bool ok = false;
    try {
      ok = it != setters.end() && it->second(arg.substr(eq + 1));
    } catch (const std::exception&) {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "admission-gateway-load: unknown flag or bad value: %s\n", arg.c_str());
      return false;
    }
  }
  return f->poll_min_ms <= f->poll_max_ms && f->stay_min_sec <= f->stay_max_sec;
}

// ---------------------------------------------------------------------------------------------
// Latency histogram: logarithmic buckets 2% wide from 1 us, so a percentile is exact to 2%.

class Histogram {
 public:
  void Add(int64_t us) {
    ++count_;
    max_ = std::max(max_, us);
    const int b =
        us <= 1 ? 0
                : std::min(kBuckets - 1,
                           static_cast<int>(std::log(static_cast<double>(us)) / kLogRatio) + 1);
    ++buckets_[static_cast<std::size_t>(b)];
  }
  void Merge(const Histogram& o) {
    count_ += o.count_;
    max_ = std::max(max_, o.max_);
    for (int b = 0; b < kBuckets; ++b) buckets_[b] += o.buckets_[b];
  }
  int64_t count() const { return count_; }
  // The upper bound (microseconds) of the bucket holding the p-th percentile.
  double Percentile(double p) const {
    if (count_ == 0) return 0;
    const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(p / 100 * count_)));
    int64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += buckets_[static_cast<std::size_t>(b)];
      if (seen >= rank) return std::min(static_cast<double>(max_), std::exp(b * kLogRatio));
    }
    return static_cast<double>(max_);
  }
  Json ToJsonMs() const {
    return Json{{"count", count_},
                {"p50_ms", Percentile(50) / 1000},
                {"p95_ms", Percentile(95) / 1000},
                {"p99_ms", Percentile(99) / 1000},
                {"max_ms", static_cast<double>(max_) / 1000}};
  }

 private:
  static constexpr int kBuckets = 1400;  // 1.02^1400 us: far beyond any run
  static inline const double kLogRatio = std::log(1.02);
  std::vector<int64_t> buckets_ = std::vector<int64_t>(kBuckets, 0);
  int64_t count_ = 0;
  int64_t max_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Per-route results; each worker keeps its own and they are merged at the end.

enum Route : int { kJoin, kStatus, kEnter, kComplete, kLeave, kGet, kRouteCount };
constexpr const char* kRouteNames[kRouteCount] = {"join",     "status", "enter",
                                                  "complete", "leave",  "get"};

struct RouteStats {
  Histogram latency;
  std::map<int, int64_t> codes;  // HTTP status -> count; 0: transport error
};

struct WorkerStats {
  RouteStats routes[kRouteCount];
  Histogram activation_wait;  // join sent -> grant read, in us
  Histogram lag;              // request started after its due time, in us
  void Merge(const WorkerStats& o) {
    for (int r = 0; r < kRouteCount; ++r) {
      routes[r].latency.Merge(o.routes[r].latency);
      for (const auto& [code, n] : o.routes[r].codes) routes[r].codes[code] += n;
    }
    activation_wait.Merge(o.activation_wait);
    lag.Merge(o.lag);
  }
};

Json RoutesJson(const WorkerStats& s, double seconds) {
  Json routes = Json::object();
  for (int r = 0; r < kRouteCount; ++r) {
    const RouteStats& rs = s.routes[r];
    int64_t total = 0;
    for (const auto& [code, n] : rs.codes) total += n;
    if (total == 0) continue;
    Json j = rs.latency.ToJsonMs();
    j["requests"] = total;
    j["per_sec"] = static_cast<double>(total) / seconds;
    Json codes = Json::object();
    for (const auto& [code, n] : rs.codes) codes[code == 0 ? "error" : std::to_string(code)] = n;
    j["codes"] = codes;
    routes[kRouteNames[r]] = j;
  }
  return routes;
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing.

struct Target {
  std::string host;
  int port = 80;
};

bool ParseUrl(const std::string& url, Target* t) {
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  if (const std::size_t slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return false;
  t->host = rest.substr(0, colon);
  t->port = std::atoi(rest.c_str() + colon + 1);
  return !t->host.empty() && t->port > 0;
}

std::unique_ptr<httplib::Client> NewClient(const Target& t) {
  auto c = std::make_unique<httplib::Client>(t.host, t.port);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(5);
  c->set_read_timeout(10);
  c->set_write_timeout(5);
  return c;
}

// A made-up client address per user (10.x.y.z), for --client_address_header=X-Real-IP.
std::string AddressOf(uint64_t n) {
  return "10." + std::to_string((n >> 16) & 0xff) + "." + std::to_string((n >> 8) & 0xff) + "." +
         std::to_string(n & 0xff);
}

httplib::Headers UserHeaders(const Flags& f, uint64_t user) {
  httplib::Headers h = {{"X-Real-IP", AddressOf(user)}};
  if (f.browser_headers) h.emplace("Accept-Encoding", "gzip, deflate, br");
  return h;
}

// The raw text of "key":value in a compact JSON object (the gateway's answers), or "".
std::string_view RawField(std::string_view body, std::string_view key) {
  std::string needle = "\"";
  needle.append(key.data(), key.size());
  needle += "\":";
  const std::size_t at = body.find(needle);
  if (at == std::string_view::npos) return {};
  std::string_view v = body.substr(at + needle.size());
  if (!v.empty() && v[0] == '"') {
    const std::size_t end = v.find('"', 1);
    return end == std::string_view::npos ? std::string_view() : v.substr(0, end + 1);
  }
  const std::size_t end = v.find_first_of(",}");
  return v.substr(0, end);
}
std::string StringField(std::string_view body, std::string_view key) {
  std::string_view v = RawField(body, key);
  if (v.size() < 2 || v[0] != '"') return "";
  return std::string(v.substr(1, v.size() - 2));
}
int64_t IntField(std::string_view body, std::string_view key, int64_t otherwise) {
  const std::string v(RawField(body, key));
  if (v.empty() || v == "null") return otherwise;
  return std::atoll(v.c_str());
}
bool TrueField(std::string_view body, std::string_view key) {
  return RawField(body, key) == "true";
}

struct Answer {
  int status = 0;  // 0: no answer (transport error)
  std::string body;
  int64_t latency_us = 0;
};

// Runs one request and records it (if `record`) under `route`.
template <typename Call>
Answer Timed(WorkerStats& stats, Route route, bool record, Call&& call) {
  const int64_t start = NowNs();
  httplib::Result r = call();
  Answer a;
  a.latency_us = (NowNs() - start) / 1000;
  if (r) {
    a.status = r->status;
    a.body = std::move(r->body);
  }
  if (record) {
    stats.routes[route].codes[a.status] += 1;
    if (a.status != 0) stats.routes[route].latency.Add(a.latency_us);
  }
  return a;
}

std::string JoinBody(const std::string& event, const std::string& user) {
  return "{\"event_id\":\"" + event + "\",\"user_id\":\"" + user + "\"}";
}

void WriteJson(const Flags& f, Json result) {
  result["label"] = f.label;
  result["mode"] = f.mode;
  result["connections"] = f.connections;
  if (f.json_out.empty()) return;
  std::ofstream out(f.json_out);
  out << result.dump(2) << "\n";
}

void PrintRoutes(const Json& routes) {
  std::printf("%-9s %9s %10s %9s %9s %9s %9s  %s\n", "route", "requests", "per_sec", "p50_ms",
              "p95_ms", "p99_ms", "max_ms", "codes");
  for (const auto& [name, r] : routes.items()) {
    std::printf("%-9s %9lld %10.1f %9.3f %9.3f %9.3f %9.1f  %s\n", name.c_str(),
                static_cast<long long>(r["requests"].get<int64_t>()), r["per_sec"].get<double>(),
                r["p50_ms"].get<double>(), r["p95_ms"].get<double>(), r["p99_ms"].get<double>(),
                r["max_ms"].get<double>(), r["codes"].dump().c_str());
  }
}

// ---------------------------------------------------------------------------------------------
// closed: back-to-back requests.

int RunClosed(const Flags& f, const Target& target) {
  Route route = kGet;
  if (f.request == "join") route = kJoin;
  if (f.request == "status") route = kStatus;
  std::vector<std::string> tokens;
  if (route == kStatus) {
    std::ifstream in(f.tokens_in);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) tokens.push_back(line);
    }
    if (tokens.empty()) {
      std::fprintf(stderr, "admission-gateway-load: no tokens in --tokens_in=%s\n",
                   f.tokens_in.c_str());
      return 2;
    }
  }
  const int64_t limit = f.requests;
  const int64_t end_ns =
      limit > 0 ? INT64_MAX : NowNs() + static_cast<int64_t>(f.duration_sec * 1e9);
  std::atomic<int64_t> next{0};
  std::vector<WorkerStats> stats(static_cast<std::size_t>(f.connections));
  std::vector<std::vector<std::string>> kept(static_cast<std::size_t>(f.connections));
  const int64_t start = NowNs();
  std::vector<std::thread> workers;
  for (int w = 0; w < f.connections; ++w) {
    workers.emplace_back([&, w] {
      auto client = NewClient(target);
      std::mt19937_64 rng(f.seed * 7919 + static_cast<uint64_t>(w));
      WorkerStats& s = stats[static_cast<std::size_t>(w)];
      for (;;) {
        const int64_t i = next.fetch_add(1);
        if ((limit > 0 && i >= limit) || NowNs() >= end_ns) break;
        const httplib::Headers headers = UserHeaders(f, static_cast<uint64_t>(i));
        if (route == kJoin) {
          const std::string body = JoinBody(f.event, f.user_prefix + std::to_string(i));
          Answer a = Timed(s, kJoin, true, [&] {
            return client->Post("/api/v1/queue/join", headers, body, "application/json");
          });
          if (!f.tokens_out.empty() && a.status == 202) {
            kept[static_cast<std::size_t>(w)].push_back(StringField(a.body, "waiting_token"));
          }
        } else if (route == kStatus) {
          const std::string path = "/api/v1/queue/status?token=" + tokens[rng() % tokens.size()];
          Timed(s, kStatus, true, [&] { return client->Get(path.c_str(), headers); });
        } else {
          Timed(s, kGet, true, [&] { return client->Get(f.path.c_str(), headers); });
        }
      }
    });
  }
  for (std::thread& t : workers) t.join();
  const double seconds = static_cast<double>(NowNs() - start) / 1e9;
  WorkerStats total;
  for (const WorkerStats& s : stats) total.Merge(s);
  if (!f.tokens_out.empty()) {
    std::ofstream out(f.tokens_out);
    for (const auto& list : kept) {
      for (const std::string& t : list) out << t << "\n";
    }
  }
  const Json routes = RoutesJson(total, seconds);
  std::printf("%s: closed loop, %d connections, %.2f s\n", f.label.c_str(), f.connections, seconds);
  PrintRoutes(routes);
  WriteJson(f, Json{{"seconds", seconds}, {"routes", routes}});
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rate: open loop at a fixed request rate (the hello-world server's latency at a given load).

int RunRate(const Flags& f, const Target& target) {
  const int64_t start = NowNs() + 50'000'000;  // let every thread be ready
  const int64_t end = start + static_cast<int64_t>(f.duration_sec * 1e9);
  const double per_thread = f.rate / f.connections;
  std::vector<WorkerStats> stats(static_cast<std::size_t>(f.connections));
  std::vector<std::thread> workers;
  for (int w = 0; w < f.connections; ++w) {
    workers.emplace_back([&, w] {
      auto client = NewClient(target);
      std::mt19937_64 rng(f.seed * 104729 + static_cast<uint64_t>(w));
      std::exponential_distribution<double> gap(per_thread);
      std::uniform_real_distribution<double> unit(0, 1);
      WorkerStats& s = stats[static_cast<std::size_t>(w)];
      int64_t due = start + static_cast<int64_t>(gap(rng) * 1e9);
      for (uint64_t n = 0; due < end; ++n) {
        const int64_t now = NowNs();
        if (due > now) std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
        s.lag.Add(std::max<int64_t>(0, NowNs() - due) / 1000);
        const uint64_t user = static_cast<uint64_t>(w) << 24 | n;
        const httplib::Headers headers = UserHeaders(f, user);
        if (unit(rng) < f.post_fraction) {
          const std::string body = JoinBody(f.event, f.user_prefix + std::to_string(user));
          Timed(s, kJoin, true, [&] {
            return client->Post("/api/v1/queue/join", headers, body, "application/json");
          });
        } else {
          const std::string path =
              "/api/v1/queue/status?token=" + f.event + ".0123456789abcdef0123456789abcdef";
          Timed(s, kStatus, true, [&] { return client->Get(path.c_str(), headers); });
        }
        due += static_cast<int64_t>(gap(rng) * 1e9);
      }
    });
  }
  for (std::thread& t : workers) t.join();
  WorkerStats total;
  for (const WorkerStats& s : stats) total.Merge(s);
  const Json routes = RoutesJson(total, f.duration_sec);
  std::printf("%s: open loop at %.0f requests/s, %d connections, %.0f s\n", f.label.c_str(), f.rate,
              f.connections, f.duration_sec);
  PrintRoutes(routes);
  std::printf("lag p50 %.3f ms, p99 %.3f ms, max %.1f ms\n", total.lag.Percentile(50) / 1000,
              total.lag.Percentile(99) / 1000, total.lag.Percentile(100) / 1000);
  WriteJson(f, Json{{"seconds", f.duration_sec},
                    {"rate", f.rate},
                    {"routes", routes},
                    {"lag", total.lag.ToJsonMs()}});
  return 0;
}

// ---------------------------------------------------------------------------------------------
// circulation: simulated buyers.

enum class Action { kJoin, kStatus, kEnter, kFinish };

struct User {
  uint64_t id = 0;
  std::string token;
  std::string reservation;
  int64_t joined_ns = 0;  // when the join was sent
};

struct Task {
  int64_t due_ns;
  User* user;
  Action action;
  bool operator>(const Task& o) const { return due_ns > o.due_ns; }
};

// Hands out due tasks to the workers: the earliest of the timer queue and the next arrival.
class Scheduler {
 public:
  Scheduler(const Flags& f, int64_t start_ns)
      : rng_(f.seed),
        gap_(f.rate),
        arrivals_end_ns_(start_ns + static_cast<int64_t>(f.duration_sec * 1e9)),
        hard_end_ns_(arrivals_end_ns_ + static_cast<int64_t>(f.drain_sec * 1e9)),
        next_arrival_ns_(start_ns) {}

  // The next due task (waiting for it); false when the run is over.
  bool Next(Task* task) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      const int64_t now = NowNs();
      const bool arriving = next_arrival_ns_ < arrivals_end_ns_;
      if (now >= hard_end_ns_ || (!arriving && heap_.empty() && in_flight_ == 0)) {
        cv_.notify_all();
        return false;
      }
      const int64_t due_heap = heap_.empty() ? INT64_MAX : heap_.top().due_ns;
      const int64_t due_arrival = arriving ? next_arrival_ns_ : INT64_MAX;
      const int64_t due = std::min(due_heap, due_arrival);
      if (due <= now) {
        if (due_arrival <= due_heap) {
          users_.emplace_back();
          users_.back().id = users_.size();
          *task = Task{due_arrival, &users_.back(), Action::kJoin};
          next_arrival_ns_ += static_cast<int64_t>(gap_(rng_) * 1e9);
        } else {
          *task = heap_.top();
          heap_.pop();
        }
        ++in_flight_;
        return true;
      }
      const int64_t until = std::min(due, hard_end_ns_);
      if (until == INT64_MAX) {
        cv_.wait(lock);
      } else {
        cv_.wait_until(lock, SteadyClock::time_point(std::chrono::nanoseconds(until)));
      }
    }
  }
  // Ends the task handed out by Next, scheduling the user's next action (if any).
  void Done(const Task* follow_up) {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    if (follow_up != nullptr) {
      const bool earliest = heap_.empty() || follow_up->due_ns < heap_.top().due_ns;
      heap_.push(*follow_up);
      if (earliest) cv_.notify_one();
    } else if (in_flight_ == 0 && heap_.empty()) {
      cv_.notify_all();
    }
  }
  int64_t arrivals_end_ns() const { return arrivals_end_ns_; }
  int64_t users() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(users_.size());
  }
  int64_t pending() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(heap_.size()) + in_flight_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Task, std::vector<Task>, std::greater<Task>> heap_;
  std::deque<User> users_;  // push_back keeps references to the others valid
  std::mt19937_64 rng_;
  std::exponential_distribution<double> gap_;
  const int64_t arrivals_end_ns_;
  const int64_t hard_end_ns_;
  int64_t next_arrival_ns_;
  int64_t in_flight_ = 0;
};

// What happened to the users, counted per second of the run.
struct Timeline {
  explicit Timeline(std::size_t seconds) : entries(seconds), exits(seconds) {}
  std::vector<std::atomic<int64_t>> entries;
  std::vector<std::atomic<int64_t>> exits;
  std::atomic<int64_t> joined{0};
  std::atomic<int64_t> lost{0};  // expired, gone or unknown: never made it out normally
  std::atomic<int64_t> denied{0};
  std::atomic<int64_t> errors{0};
};

int RunCirculation(const Flags& f, const Target& target) {
  const int64_t start = NowNs() + 100'000'000;
  Scheduler scheduler(f, start);
  const std::size_t seconds = static_cast<std::size_t>(f.duration_sec + f.drain_sec) + 2;
  Timeline timeline(seconds);
  const int64_t window_end = scheduler.arrivals_end_ns();
  std::vector<WorkerStats> stats(static_cast<std::size_t>(f.connections));
  std::atomic<bool> finished{false};

  auto second_of = [&](int64_t ns) {
    return std::min(seconds - 1,
                    static_cast<std::size_t>(std::max<int64_t>(0, ns - start) / 1'000'000'000));
  };

  std::vector<std::thread> workers;
  for (int w = 0; w < f.connections; ++w) {
    workers.emplace_back([&, w] {
      auto client = NewClient(target);
      std::mt19937_64 rng(f.seed * 15485863 + static_cast<uint64_t>(w));
      std::uniform_int_distribution<int> poll_ms(f.poll_min_ms, f.poll_max_ms);
      std::uniform_real_distribution<double> stay_sec(f.stay_min_sec, f.stay_max_sec);
      std::uniform_real_distribution<double> unit(0, 1);
      WorkerStats& s = stats[static_cast<std::size_t>(w)];
      // The next poll: every 1-2 s, or later when the server asks for it (up to the cap).
      auto poll_delay_ns = [&](int64_t poll_after_ms) {
        const int64_t asked = std::min<int64_t>(poll_after_ms, f.poll_after_cap_ms);
        return std::max<int64_t>(poll_ms(rng), asked) * 1'000'000;
      };
      Task task{};
      while (scheduler.Next(&task)) {
        const int64_t begin = NowNs();
        const bool in_window = begin < window_end;
        if (in_window) s.lag.Add(std::max<int64_t>(0, begin - task.due_ns) / 1000);
        User& u = *task.user;
        const httplib::Headers headers = UserHeaders(f, u.id);
        Task next{0, &u, Action::kStatus};
        bool has_next = false;
        switch (task.action) {
          case Action::kJoin: {
            u.joined_ns = begin;
            const std::string body = JoinBody(f.event, "c" + std::to_string(u.id));
            Answer a = Timed(s, kJoin, in_window, [&] {
              return client->Post("/api/v1/queue/join", headers, body, "application/json");
            });
            if (a.status != 202) {
              ++(a.status == 0 || a.status >= 500 ? timeline.errors : timeline.lost);
              break;
            }
            ++timeline.joined;
            u.token = StringField(a.body, "waiting_token");
            has_next = true;
            if (TrueField(a.body, "ready_for_entry")) {
              next = Task{NowNs(), &u, Action::kEnter};
            } else {
              next = Task{NowNs() + poll_delay_ns(IntField(a.body, "poll_after_ms", 1000)), &u,
                          Action::kStatus};
            }
            break;
          }
          case Action::kStatus: {
            const std::string path = "/api/v1/queue/status?token=" + u.token;
            Answer a =
                Timed(s, kStatus, in_window, [&] { return client->Get(path.c_str(), headers); });
            if (a.status != 200) {
              if (a.status == 0 || a.status >= 500 || a.status == 429) {
                ++timeline.errors;  // try again in a while, as the page does
                has_next = true;
                next = Task{NowNs() + 3'000'000'000, &u, Action::kStatus};
              } else {
                ++timeline.lost;
              }
              break;
            }
            const std::string state = StringField(a.body, "status");
            if (state != "waiting" && state != "ready") {
              ++timeline.lost;  // expired or left: no longer in the room
              break;
            }
            has_next = true;
            if (TrueField(a.body, "ready_for_entry")) {
              next = Task{NowNs(), &u, Action::kEnter};
            } else {
              next = Task{NowNs() + poll_delay_ns(IntField(a.body, "poll_after_ms", 1000)), &u,
                          Action::kStatus};
            }
            break;
          }
          case Action::kEnter: {
            const std::string body = "{\"waiting_token\":\"" + u.token + "\"}";
            Answer a = Timed(s, kEnter, in_window, [&] {
              return client->Post("/api/v1/queue/enter", headers, body, "application/json");
            });
            const int64_t now = NowNs();
            if (a.status == 200) {
              ++timeline.entries[second_of(now)];
              if (in_window) s.activation_wait.Add((now - u.joined_ns) / 1000);
              if (unit(rng) < f.complete_fraction) {
                u.reservation = StringField(a.body, "reservation_token");
              }
              u.token.shrink_to_fit();
              has_next = true;
              next = Task{now + static_cast<int64_t>(stay_sec(rng) * 1e9), &u, Action::kFinish};
            } else if (a.status == 429 && RawField(a.body, "admission") == "\"denied\"") {
              ++timeline.denied;
              has_next = true;
              next = Task{now + std::max<int64_t>(1, IntField(a.body, "retry_after_sec", 1)) *
                                    1'000'000'000,
                          &u, Action::kStatus};
            } else if (a.status == 0 || a.status >= 500 || a.status == 429) {
              ++timeline.errors;
              has_next = true;
              next = Task{now + 3'000'000'000, &u, Action::kStatus};
            } else {
              ++timeline.lost;
            }
            break;
          }
          case Action::kFinish: {
            Answer a;
            if (!u.reservation.empty()) {
              httplib::Headers h = headers;
              h.emplace("Authorization", "Bearer " + u.reservation);
              a = Timed(s, kComplete, in_window, [&] {
                return client->Post("/api/v1/queue/complete", h, "", "application/json");
              });
            } else {
              const std::string path = "/api/v1/queue/leave?token=" + u.token;
              a = Timed(s, kLeave, in_window,
                        [&] { return client->Delete(path.c_str(), headers); });
            }
            if (a.status == 200) {
              ++timeline.exits[second_of(NowNs())];
              u.reservation = std::string();
              u.token = std::string();
            } else if (a.status == 0 || a.status >= 500 || a.status == 429) {
              ++timeline.errors;
              has_next = true;
              next = Task{NowNs() + 1'000'000'000, &u, Action::kFinish};
            } else {
              ++timeline.lost;
            }
            break;
          }
        }
        scheduler.Done(has_next ? &next : nullptr);
      }
    });
  }
  // Progress every 10 s on stderr.
  std::thread progress([&] {
    int64_t last_entries = 0;
    int64_t last_exits = 0;
    std::size_t reported = 0;
    while (!finished.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const std::size_t now_s = second_of(NowNs());
      if (now_s < reported + 10) continue;
      int64_t entries = 0;
      int64_t exits = 0;
      for (std::size_t i = 0; i < seconds; ++i) {
        entries += timeline.entries[i].load();
        exits += timeline.exits[i].load();
      }
      std::fprintf(stderr,
                   "[%3zu s] users %lld, joined %lld, entries %lld (+%lld), exits %lld (+%lld), "
                   "pending %lld, lost %lld, errors %lld\n",
                   now_s, static_cast<long long>(scheduler.users()),
                   static_cast<long long>(timeline.joined.load()), static_cast<long long>(entries),
                   static_cast<long long>(entries - last_entries), static_cast<long long>(exits),
                   static_cast<long long>(exits - last_exits),
                   static_cast<long long>(scheduler.pending()),
                   static_cast<long long>(timeline.lost.load()),
                   static_cast<long long>(timeline.errors.load()));
      last_entries = entries;
      last_exits = exits;
      reported = now_s;
    }
  });
  for (std::thread& t : workers) t.join();
  const double ran_sec = static_cast<double>(NowNs() - start) / 1e9;
  finished = true;
  progress.join();

  WorkerStats total;
  for (const WorkerStats& s : stats) total.Merge(s);
  auto sum = [&](const std::vector<std::atomic<int64_t>>& v, std::size_t from, std::size_t to) {
    int64_t n = 0;
    for (std::size_t i = from; i < std::min(to, v.size()); ++i) n += v[i].load();
    return n;
  };
  const std::size_t window = static_cast<std::size_t>(f.duration_sec);
  // Short runs (tries of the script) have no 60 s of warm-up: use the last two thirds.
  const double steady_from =
      f.steady_from_sec < f.duration_sec ? f.steady_from_sec : f.duration_sec / 3;
  const std::size_t steady = static_cast<std::size_t>(steady_from);
  const int64_t entries_window = sum(timeline.entries, 0, window);
  const int64_t exits_window = sum(timeline.exits, 0, window);
  const int64_t entries_steady = sum(timeline.entries, steady, window);
  const int64_t exits_steady = sum(timeline.exits, steady, window);
  const int64_t entries_all = sum(timeline.entries, 0, seconds);
  const int64_t exits_all = sum(timeline.exits, 0, seconds);
  auto ratio = [](int64_t a, int64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / b; };
  int64_t window_requests = 0;
  for (const RouteStats& r : total.routes) {
    for (const auto& [code, n] : r.codes) window_requests += n;
  }
  const Json routes = RoutesJson(total, f.duration_sec);
  const Json result = {
      {"seconds", f.duration_sec},
      {"ran_sec", ran_sec},
      {"arrival_rate", f.rate},
      {"users", scheduler.users()},
      {"joined", timeline.joined.load()},
      {"requests_per_sec", static_cast<double>(window_requests) / f.duration_sec},
      {"routes", routes},
      {"activation_wait", total.activation_wait.ToJsonMs()},
      {"lag", total.lag.ToJsonMs()},
      {"entries_window", entries_window},
      {"exits_window", exits_window},
      {"entries_to_exits_window", ratio(entries_window, exits_window)},
      {"steady_from_sec", steady_from},
      {"entries_steady", entries_steady},
      {"exits_steady", exits_steady},
      {"entries_to_exits_steady", ratio(entries_steady, exits_steady)},
      {"entries_total", entries_all},
      {"exits_total", exits_all},
      {"still_in_room", scheduler.pending()},
      {"denied", timeline.denied.load()},
      {"lost", timeline.lost.load()},
      {"errors", timeline.errors.load()},
  };
  std::printf("%s: circulation, %.0f users/s for %.0f s (+ drain), %d connections\n",
              f.label.c_str(), f.rate, f.duration_sec, f.connections);
  PrintRoutes(routes);
  std::printf(
      "requests/s %.0f; activation wait p50 %.2f s, p95 %.2f s, p99 %.2f s; lag p99 %.3f ms\n"
      "entries/exits: window %lld/%lld = %.3f, steady (from %.0f s) %lld/%lld = %.3f, after "
      "drain %lld/%lld; still in room %lld; denied %lld, lost %lld, errors %lld\n",
      result["requests_per_sec"].get<double>(), total.activation_wait.Percentile(50) / 1e6,
      total.activation_wait.Percentile(95) / 1e6, total.activation_wait.Percentile(99) / 1e6,
      total.lag.Percentile(99) / 1000, static_cast<long long>(entries_window),
      static_cast<long long>(exits_window), ratio(entries_window, exits_window), steady_from,
      static_cast<long long>(entries_steady), static_cast<long long>(exits_steady),
      ratio(entries_steady, exits_steady), static_cast<long long>(entries_all),
      static_cast<long long>(exits_all), static_cast<long long>(scheduler.pending()),
      static_cast<long long>(timeline.denied.load()), static_cast<long long>(timeline.lost.load()),
      static_cast<long long>(timeline.errors.load()));
  WriteJson(f, result);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;
  Target target;
  if (!ParseUrl(flags.url, &target)) {
    std::fprintf(stderr, "admission-gateway-load: bad --url=%s\n", flags.url.c_str());
    return 2;
  }
  if (flags.label.empty()) flags.label = flags.mode;
  if (flags.mode == "closed") return RunClosed(flags, target);
  if (flags.mode == "rate") return RunRate(flags, target);
  if (flags.mode == "circulation") return RunCirculation(flags, target);
  std::fprintf(stderr, "admission-gateway-load: unknown --mode=%s\n", flags.mode.c_str());
  return 2;
}
