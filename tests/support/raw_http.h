// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// HTTP/1.1 over raw loopback sockets, for tests and load tools that must do what an HTTP
// library will not: hold a connection idle, send a request head one byte at a time, send two
// Content-Length headers, pipeline three requests in one write, or keep thousands of
// connections open from one thread. Header-only, no test framework, so that the crowd load tool
// (examples/gateway/load/crowd.cc) and the gateway's crowd test drive the gateway with the same
// code.
//
//   - RawConnection: one blocking-with-deadline client socket (every wait is a bounded poll):
//     send bytes, read the next response, or wait for the server to close.
//   - ResponseParser: splits a byte stream into responses (Content-Length, chunked, or up to
//     the close).
//   - Crowd: one epoll thread holding keep-alive pollers, slowloris and idle sockets, plus a
//     probe that opens a fresh connection every few milliseconds and times /healthz and a join;
//     latencies, failures, what the server closed and when, the server's RSS and CPU, and the
//     machine's TCP counters that tell a SYN retry (a 1 s tail) from a slow server.
#ifndef ADMISSION_TESTS_SUPPORT_RAW_HTTP_H_
#define ADMISSION_TESTS_SUPPORT_RAW_HTTP_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace admission::gateway::rawhttp {

inline int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A process's resident set in bytes, from /proc/PID/status (VmRSS); -1 if it cannot be read.
inline int64_t RssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return -1;
}

// CPU time (user + system) a process has used, in seconds; -1 if it cannot be read.
inline double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  // Fields after the command (in parentheses, which may hold spaces): utime is the 12th and
  // stime the 13th of them.
  const std::size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 > stat.size()) return -1;
  std::istringstream fields(stat.substr(close_paren + 2));
  std::string field;
  double ticks = 0;
  for (int i = 1; i <= 13 && fields >> field; ++i) {
    if (i >= 12) ticks += std::atof(field.c_str());
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The machine's TCP counters (TcpExt of /proc/net/netstat) that explain a fresh client's 1 s
// tail: each names a SYN that went unanswered, and a SYN is retried after 1 s on Linux.
//   ListenOverflows, ListenDrops: the listen queue was full (a backlog too small for a burst);
//   PAWSTimewait, TCPSYNChallenge: the SYN met the server's TIME_WAIT socket of an earlier
//     connection with the same addresses and ports (a load generator reusing its few ports;
//     real clients, each from an address of its own, rarely do);
//   TCPSynRetrans: SYNs sent again, for whatever reason.
// Machine-wide: another program's connections count too. Empty if they cannot be read.
inline std::map<std::string, int64_t> SynCounters() {
  static constexpr const char* kNames[] = {"ListenOverflows", "ListenDrops", "PAWSTimewait",
                                           "TCPSYNChallenge", "TCPSynRetrans"};
  std::map<std::string, int64_t> out;
  std::ifstream in("/proc/net/netstat");
  std::string names;
  std::string values;
  while (std::getline(in, names) && std::getline(in, values)) {
    if (names.rfind("TcpExt:", 0) != 0) continue;
    std::istringstream n(names);
    std::istringstream v(values);
    std::string name;
    std::string value;
    while (n >> name && v >> value) {
      for (const char* wanted : kNames) {
        if (name == wanted) out[name] = std::atoll(value.c_str());
      }
    }
  }
  return out;
}

// Opens a TCP connection to 127.0.0.1:`port`, from `source_ip` when it is not empty (another
// loopback address gives another 28k ephemeral ports). Non-blocking: the connect is usually
// still under way (EINPROGRESS) when this returns. -1 on an immediate failure, errno set.
// `receive_buffer` > 0 sets SO_RCVBUF (before the connect, so the window is small from the
// start): a client that reads slowly, or not at all.
inline int StartConnect(int port, const std::string& source_ip = "", int receive_buffer = 0) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (receive_buffer > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  if (!source_ip.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
      const int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno != EINPROGRESS) {
    const int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

struct RawResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header `name` (any case); "" if absent.
  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() && strncasecmp(k.data(), name.data(), name.size()) == 0) {
        return v;
      }
    }
    return "";
  }
  bool HasHeader(std::string_view name) const {
    for (const auto& h : headers) {
      if (h.first.size() == name.size() &&
          strncasecmp(h.first.data(), name.data(), name.size()) == 0) {
        return true;
      }
    }
    return false;
  }
};

// Splits the bytes a server sends into responses. Feed() what was read; Next() pops each
// complete response in order; Eof() completes a response delimited by the close. Error() is set
// on bytes that are not HTTP/1.1 responses.
class ResponseParser {
 public:
  void Feed(const char* data, std::size_t n) { buffer_.append(data, n); }
  void Feed(std::string_view data) { buffer_.append(data.data(), data.size()); }

  // The server closed: a response without Content-Length ends here.
  void Eof() { eof_ = true; }

  bool Error() const { return error_; }
  // Bytes received but not yet part of a complete response.
  std::size_t Pending() const { return buffer_.size(); }

  bool Next(RawResponse* out) {
    if (error_) return false;
    const std::size_t head_end = buffer_.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    RawResponse r;
    std::size_t line_end = buffer_.find("\r\n");
    const std::string_view status_line(buffer_.data(), line_end);
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
      error_ = true;
      return false;
    }
    r.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    std::size_t at = line_end + 2;
    while (at < head_end) {
      line_end = buffer_.find("\r\n", at);
      const std::string_view line(buffer_.data() + at, line_end - at);
      const std::size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
          value.remove_prefix(1);
        }
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
          value.remove_suffix(1);
        }
        r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
      }
      at = line_end + 2;
    }
    const std::size_t body_begin = head_end + 4;
    const bool no_body = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
    std::size_t consumed = 0;
    if (no_body) {
      consumed = body_begin;
    } else if (r.HasHeader("Content-Length")) {
      const std::size_t length = std::strtoull(r.Header("Content-Length").c_str(), nullptr, 10);
      if (buffer_.size() - body_begin < length) return false;
      r.body = buffer_.substr(body_begin, length);
      consumed = body_begin + length;
    } else if (r.Header("Transfer-Encoding").find("chunked") != std::string::npos) {
      std::size_t p = body_begin;
      for (;;) {
        const std::size_t size_end = buffer_.find("\r\n", p);
        if (size_end == std::string::npos) return false;
        const std::size_t size = std::strtoull(buffer_.c_str() + p, nullptr, 16);
        p = size_end + 2;
        if (size == 0) {
          const std::size_t trailer_end = buffer_.find("\r\n", p);
          if (trailer_end == std::string::npos) return false;
          p = trailer_end + 2;
          break;
        }
        if (buffer_.size() < p + size + 2) return false;
        r.body.append(buffer_, p, size);
        p += size + 2;
      }
      consumed = p;
    } else {
      if (!eof_) return false;
      r.body = buffer_.substr(body_begin);
      consumed = buffer_.size();
    }
    buffer_.erase(0, consumed);
    *out = std::move(r);
    return true;
  }

 private:
  std::string buffer_;
  bool eof_ = false;
  bool error_ = false;
};

// One client connection with bounded waits, for tests that script a conversation byte by byte.
class RawConnection {
 public:
  // Connects (bounded by `timeout_ms`); nullptr if the connection could not be made.
  // `receive_buffer`: see StartConnect.
  static std::unique_ptr<RawConnection> Open(int port, int timeout_ms = 2000,
                                             int receive_buffer = 0) {
    const int fd = StartConnect(port, "", receive_buffer);
    if (fd < 0) return nullptr;
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof(err);
    if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
        err != 0) {
      close(fd);
      return nullptr;
    }
    return std::unique_ptr<RawConnection>(new RawConnection(fd));
  }

  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }

  int fd() const { return fd_; }

  // Writes all of `data` within `timeout_ms`; false if the server closed or the time ran out.
  bool Send(std::string_view data, int timeout_ms = 2000) {
    const int64_t deadline = NowUs() + int64_t{timeout_ms} * 1000;
    while (!data.empty()) {
      const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
      const int64_t left = deadline - NowUs();
      if (left <= 0) return false;
      pollfd p{fd_, POLLOUT, 0};
      poll(&p, 1, static_cast<int>(left / 1000) + 1);
    }
    return true;
  }

  // The next response, if a whole one arrives within `timeout_ms`.
  std::optional<RawResponse> Read(int timeout_ms = 5000) {
    const int64_t deadline = NowUs() + int64_t{timeout_ms} * 1000;
    RawResponse r;
    for (;;) {
      if (parser_.Next(&r)) return r;
      if (closed_ || parser_.Error()) return std::nullopt;
      const int64_t left = deadline - NowUs();
      if (left <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left / 1000) + 1) <= 0) continue;
      ReadSome();
    }
  }

  // Waits up to `timeout_ms` for the server to close the connection (a read of 0 bytes or a
  // reset), keeping any response that comes first for Read(). True if it closed.
  bool WaitClosed(int timeout_ms) {
    const int64_t deadline = NowUs() + int64_t{timeout_ms} * 1000;
    while (!closed_) {
      const int64_t left = deadline - NowUs();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left / 1000) + 1) <= 0) continue;
      ReadSome();
    }
    return true;
  }

  // True once the server closed (seen by a read).
  bool closed() const { return closed_; }
  // Bytes received so far (whole responses and the start of the next).
  int64_t received() const { return received_; }

 private:
  explicit RawConnection(int fd) : fd_(fd) {}

  void ReadSome() {
    char buf[16384];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      parser_.Feed(buf, static_cast<std::size_t>(n));
      received_ += n;
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      closed_ = true;
      parser_.Eof();
    }
  }

  int fd_;
  bool closed_ = false;
  int64_t received_ = 0;
  ResponseParser parser_;
};

// Latencies in microseconds and their order statistics.
struct Latencies {
  std::vector<int64_t> us;

  // The nearest-rank percentile `p` (0..100) in milliseconds; 0 when empty.
  double PercentileMs(double p) const {
    if (us.empty()) return 0;
    std::vector<int64_t> sorted = us;
    std::sort(sorted.begin(), sorted.end());
    std::size_t rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()));
    if (rank >= sorted.size()) rank = sorted.size() - 1;
    return static_cast<double>(sorted[rank]) / 1000.0;
  }
  double MaxMs() const {
    return us.empty() ? 0 : static_cast<double>(*std::max_element(us.begin(), us.end())) / 1000.0;
  }
};

// One request of a poller or probe and what came of it, for tests that judge answers by when
// they were sent (before, during or after a store stall).
struct CrowdAnswer {
  const char* what = "";  // "poller status", "poller join", "probe healthz", "probe join"
  int64_t sent_us = 0;    // NowUs() when it was started (a probe: its connect)
  int64_t answered_us = 0;
  int status = 0;            // 0: no answer (timed out, or the connection closed first)
  bool retry_after = false;  // the answer carries Retry-After
};

struct CrowdOptions {
  int port = 0;
  int pollers = 0;    // keep-alive clients polling once per poll_interval_ms
  int slowloris = 0;  // sockets sending a request head one byte per slowloris_interval_ms
  int idle = 0;       // sockets that connect and send nothing
  int poll_interval_ms = 1000;
  int slowloris_interval_ms = 1000;
  // Pollers GET this path; empty: each joins `event` first, then polls its status.
  std::string path;
  std::string event = "crowd";
  // Every probe_interval_ms, a fresh connection times GET /healthz and another a join; 0: none.
  int probe_interval_ms = 100;
  // How long the crowd is measured once it is all open (the ramp is not measured).
  int duration_ms = 10000;
  // New connections per second while the crowd opens (the listen backlog is finite).
  int connect_rate_per_sec = 3000;
  // The ramp fails (a failure, then the measurement starts anyway) after this long.
  int ramp_timeout_ms = 30000;
  // A request not answered within this is a failure (and its connection is reopened).
  int request_timeout_ms = 10000;
  // Client sockets are bound to 127.0.0.1, .2, ... in turn when this is above 1.
  int source_addresses = 1;
  // The server's process: its RSS is sampled every 100 ms when > 0.
  pid_t server_pid = 0;
  // Called on the crowd's thread for every poller and probe request that ended (answered or
  // not); must be quick.
  std::function<void(const CrowdAnswer&)> on_answer;
};

struct CrowdResults {
  Latencies probe_healthz;
  Latencies probe_join;
  Latencies poller_status;  // the pollers' requests (GET status or --path)
  Latencies poller_join;    // the pollers' first requests (during the ramp)
  // Failures by kind ("probe healthz: status 503", "poller: timeout", ...), measured or not.
  std::map<std::string, int64_t> failures;
  int64_t total_failures = 0;
  double ramp_ms = 0;
  double measured_ms = 0;
  bool ramp_complete = false;
  // The fewest answers any poller got during the measurement.
  int64_t min_answers_per_poller = 0;
  int64_t poller_reconnects = 0;  // the server closed an idle poller between polls
  // Slowloris sockets the server closed, and how long after their first byte.
  int64_t slowloris_closed = 0;
  int64_t slowloris_answered = 0;  // a response came before the close (408, 431, ...)
  Latencies slowloris_lifetime;
  // The oldest slowloris socket still open when the measurement ended (its first byte's age).
  double slowloris_oldest_open_ms = 0;
  int64_t idle_closed = 0;
  int64_t idle_answered = 0;  // a response came before the close (408)
  Latencies idle_lifetime;
  int64_t rss_before = -1;       // the server's RSS before the first crowd connection
  int64_t rss_peak = -1;         // during the crowd
  int64_t rss_crowd_open = -1;   // when the whole crowd was first open
  int64_t connections_open = 0;  // the crowd's connections when it was first all open
  // CPU used during the measurement, in cores (1.0: one core all the time): this process
  // (the crowd) and the server. A crowd near 1.0 is the bottleneck itself.
  double crowd_cpu_cores = 0;
  double server_cpu_cores = -1;
  // How late the pollers' polls went out against their schedule: a busy crowd thread shows here.
  Latencies poll_lag;
  // How much each of SynCounters() grew during the measurement.
  std::map<std::string, int64_t> syn_counters;
  // A fresh client's connect alone (the probes'): a 1 s tail here is a SYN retry.
  Latencies probe_connect;
};

// Holds the crowd of CrowdOptions on one epoll thread until Run() returns (after the ramp and
// duration_ms, or when Stop() is called).
class Crowd {
 public:
  explicit Crowd(CrowdOptions options) : options_(std::move(options)) {}
  Crowd(const Crowd&) = delete;
  Crowd& operator=(const Crowd&) = delete;
  ~Crowd() {
    for (auto& c : conns_) {
      if (c.fd >= 0) close(c.fd);
    }
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }

  // From any thread: Run() returns within ~10 ms.
  void Stop() { stop_.store(true); }
  // From any thread: true once the whole crowd is open (pollers joined) and measured.
  bool measuring() const { return measuring_.load(); }

  CrowdResults Run() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    const int fixed = options_.pollers + options_.slowloris + options_.idle;
    conns_.resize(static_cast<std::size_t>(fixed));
    for (int i = 0; i < fixed; ++i) {
      Conn& c = conns_[static_cast<std::size_t>(i)];
      c.kind = i < options_.pollers                        ? Kind::kPoller
               : i < options_.pollers + options_.slowloris ? Kind::kSlowloris
                                                           : Kind::kIdle;
      c.index = i;
    }
    if (options_.server_pid > 0) results_.rss_before = RssBytes(options_.server_pid);
    results_.rss_peak = results_.rss_before;
    start_us_ = NowUs();
    int next_open = 0;
    int64_t next_probe = start_us_;
    int64_t next_rss = start_us_;
    int64_t end_us = 0;
    int64_t next_ready_check = start_us_;
    // The kinds opened in a shuffled order, so that each spreads over the whole ramp: sockets
    // opened together would time out together, and come back as one burst of reconnects.
    std::vector<int> open_order(static_cast<std::size_t>(fixed));
    for (int i = 0; i < fixed; ++i) open_order[static_cast<std::size_t>(i)] = i;
    std::shuffle(open_order.begin(), open_order.end(), rng_);
    std::vector<epoll_event> events(1024);
    while (!stop_.load()) {
      const int64_t now = NowUs();
      // The ramp: open the fixed crowd at the connect rate.
      const int64_t allowed =
          std::min<int64_t>(fixed, (now - start_us_) * options_.connect_rate_per_sec / 1000000 + 1);
      while (next_open < allowed) {
        Open(&conns_[static_cast<std::size_t>(open_order[static_cast<std::size_t>(next_open++)])],
             now);
      }
      if (!measuring_.load()) {
        // Every 20 ms at most: the check walks the whole crowd.
        bool ready = false;
        if (next_open == fixed && now >= next_ready_check) {
          next_ready_check = now + 20000;
          ready = CrowdReady();
        }
        const bool late = now - start_us_ > int64_t{options_.ramp_timeout_ms} * 1000;
        if (late && !ready) Fail("ramp: the crowd was not all open and joined in time");
        if (ready || late) {
          StartMeasuring(now);
          end_us = now + int64_t{options_.duration_ms} * 1000;
        }
      } else if (now >= end_us) {
        break;
      }
      if (options_.probe_interval_ms > 0 && now >= next_probe) {
        // A late turn (a busy loop) is not made up with a burst of probes.
        next_probe = std::max(next_probe + int64_t{options_.probe_interval_ms} * 1000, now);
        StartProbe(Kind::kProbeHealthz, now);
        StartProbe(Kind::kProbeJoin, now);
      }
      if (options_.server_pid > 0 && now >= next_rss) {
        next_rss = now + 100000;
        results_.rss_peak = std::max(results_.rss_peak, RssBytes(options_.server_pid));
      }
      RunTimers(now);
      const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 5);
      const int64_t after = NowUs();
      for (int i = 0; i < n; ++i) {
        const uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
        Conn* c = Lookup(tag);
        if (c == nullptr) continue;
        OnEvent(c, events[static_cast<std::size_t>(i)].events, after);
      }
    }
    const int64_t now = NowUs();
    results_.measured_ms =
        measure_start_us_ > 0 ? static_cast<double>(now - measure_start_us_) / 1e3 : 0;
    if (results_.measured_ms > 0) {
      const double seconds = results_.measured_ms / 1e3;
      for (const auto& [name, value] : SynCounters()) {
        if (syn_at_start_.count(name)) results_.syn_counters[name] = value - syn_at_start_[name];
      }
      results_.crowd_cpu_cores = (CpuSeconds(getpid()) - cpu_at_start_) / seconds;
      if (options_.server_pid > 0) {
        results_.server_cpu_cores =
            (CpuSeconds(options_.server_pid) - server_cpu_at_start_) / seconds;
      }
    }
    int64_t min_answers = -1;
    for (const Conn& c : conns_) {
      if (c.kind == Kind::kPoller) {
        min_answers = min_answers < 0 ? c.answers : std::min(min_answers, c.answers);
      }
      if (c.kind == Kind::kSlowloris && c.fd >= 0 && c.first_byte_us > 0) {
        results_.slowloris_oldest_open_ms = std::max(
            results_.slowloris_oldest_open_ms, static_cast<double>(now - c.first_byte_us) / 1e3);
      }
    }
    results_.min_answers_per_poller = std::max<int64_t>(0, min_answers);
    for (const auto& [kind, count] : results_.failures) results_.total_failures += count;
    return std::move(results_);
  }

 private:
  enum class Kind { kPoller, kSlowloris, kIdle, kProbeHealthz, kProbeJoin };
  enum class State { kClosed, kConnecting, kWaitingToSend, kAwaiting, kHolding };

  struct Conn {
    Kind kind = Kind::kIdle;
    State state = State::kClosed;
    int index = 0;
    uint32_t generation = 0;  // bumped on every close: stale epoll events are dropped
    int fd = -1;
    int64_t opened_us = 0;
    int64_t first_byte_us = 0;     // slowloris: when its head began
    int64_t request_start_us = 0;  // when the request in flight was started (0: none)
    bool request_measured = false;
    bool is_join = false;
    std::string out;
    std::size_t out_at = 0;
    ResponseParser parser;
    std::string token;
    int64_t answers = 0;  // during the measurement
    int user_seq = 0;
    int64_t slow_sent = 0;  // slowloris: head bytes sent on this connection
    uint64_t timer_seq = 0;
  };

  // A connection has at most one live timer: a new one, or a close, makes the older stale.
  struct Timer {
    int64_t at;
    int index;
    uint64_t seq;
    bool operator>(const Timer& o) const { return at > o.at; }
  };

  static const char* KindName(Kind k) {
    switch (k) {
      case Kind::kPoller:
        return "poller";
      case Kind::kSlowloris:
        return "slowloris";
      case Kind::kIdle:
        return "idle";
      case Kind::kProbeHealthz:
        return "probe healthz";
      case Kind::kProbeJoin:
        return "probe join";
    }
    return "?";
  }

  void Fail(const std::string& what) { ++results_.failures[what]; }

  static const char* RequestName(const Conn& c) {
    switch (c.kind) {
      case Kind::kProbeHealthz:
        return "probe healthz";
      case Kind::kProbeJoin:
        return "probe join";
      default:
        return c.is_join ? "poller join" : "poller status";
    }
  }

  // Tells on_answer how the request in flight on `c` ended (`r` null: with no answer).
  void Report(const Conn& c, const RawResponse* r, int64_t now) {
    if (!options_.on_answer || c.request_start_us == 0) return;
    CrowdAnswer a;
    a.what = RequestName(c);
    a.sent_us = c.request_start_us;
    a.answered_us = now;
    if (r != nullptr) {
      a.status = r->status;
      a.retry_after = r->HasHeader("Retry-After");
    }
    options_.on_answer(a);
  }

  bool CrowdReady() const {
    for (const Conn& c : conns_) {
      if (c.kind == Kind::kProbeHealthz || c.kind == Kind::kProbeJoin) break;
      if (c.fd < 0 || c.state == State::kConnecting) return false;
      if (c.kind == Kind::kPoller && options_.path.empty() && c.token.empty()) return false;
    }
    return true;
  }

  void StartMeasuring(int64_t now) {
    measure_start_us_ = now;
    results_.ramp_ms = static_cast<double>(now - start_us_) / 1e3;
    results_.ramp_complete =
        results_.failures.count("ramp: the crowd was not all open and joined in time") == 0;
    int64_t open = 0;
    for (const Conn& c : conns_) open += c.fd >= 0 ? 1 : 0;
    results_.connections_open = open;
    if (options_.server_pid > 0) results_.rss_crowd_open = RssBytes(options_.server_pid);
    cpu_at_start_ = CpuSeconds(getpid());
    syn_at_start_ = SynCounters();
    if (options_.server_pid > 0) server_cpu_at_start_ = CpuSeconds(options_.server_pid);
    measuring_.store(true);
  }

  static uint64_t Tag(const Conn& c) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(c.index)) << 32) | c.generation;
  }
  Conn* Lookup(uint64_t tag) {
    const std::size_t index = static_cast<std::size_t>(tag >> 32);
    if (index >= conns_.size()) return nullptr;
    Conn* c = &conns_[index];
    if (c->fd < 0 || c->generation != static_cast<uint32_t>(tag)) return nullptr;
    return c;
  }

  void AddTimer(Conn* c, int64_t at) { timers_.push({at, c->index, ++c->timer_seq}); }

  std::string SourceAddress() {
    if (options_.source_addresses <= 1) return "";
    const int n = 1 + static_cast<int>(source_turn_++ % options_.source_addresses);
    return "127.0.0." + std::to_string(n);
  }

  static bool IsProbe(Kind k) { return k == Kind::kProbeHealthz || k == Kind::kProbeJoin; }

  // Starts connecting `c`; false (counted) if the socket could not even be started. A held
  // connection (not a probe) is then tried again a second later.
  bool Open(Conn* c, int64_t now) {
    c->fd = StartConnect(options_.port, SourceAddress());
    if (c->fd < 0) {
      Fail(std::string(KindName(c->kind)) + ": connect: " + std::strerror(errno));
      c->state = State::kClosed;
      if (!IsProbe(c->kind)) AddTimer(c, now + 1000000);
      return false;
    }
    c->state = State::kConnecting;
    c->opened_us = now;
    c->first_byte_us = 0;
    c->out.clear();
    c->out_at = 0;
    c->parser = ResponseParser();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u64 = Tag(*c);
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &ev);
    // A connect that never completes is a failure like a request never answered.
    AddTimer(c, now + int64_t{options_.request_timeout_ms} * 1000);
    if (IsProbe(c->kind)) {
      c->request_start_us = now;  // a fresh client's wait includes its connect
      c->request_measured = measuring_.load();
    }
    return true;
  }

  void CloseConn(Conn* c) {
    if (c->fd >= 0) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
      close(c->fd);
    }
    c->fd = -1;
    c->state = State::kClosed;
    c->request_start_us = 0;
    ++c->generation;
    ++c->timer_seq;
    if (IsProbe(c->kind)) free_probes_.push_back(c->index);
  }

  // Closes and opens `c` again at once (pollers, slowloris and idle sockets are held).
  void Reopen(Conn* c, int64_t now) {
    CloseConn(c);
    if (!stop_.load()) Open(c, now);
  }

  void StartProbe(Kind kind, int64_t now) {
    int index;
    if (!free_probes_.empty()) {
      index = free_probes_.back();
      free_probes_.pop_back();
    } else {
      index = static_cast<int>(conns_.size());
      conns_.emplace_back();
    }
    Conn* c = &conns_[static_cast<std::size_t>(index)];
    c->kind = kind;
    c->index = index;
    if (!Open(c, now)) free_probes_.push_back(index);  // failed (counted), not retried
  }

  std::string JoinRequest(const std::string& user) {
    const std::string body =
        "{\"event_id\":\"" + options_.event + "\",\"user_id\":\"" + user + "\"}";
    return "POST /api/v1/queue/join HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Content-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  // Starts the next request of a poller or probe.
  void SendRequest(Conn* c, int64_t now) {
    std::string request;
    c->is_join = false;
    switch (c->kind) {
      case Kind::kProbeHealthz:
        request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        break;
      case Kind::kProbeJoin:
        request = JoinRequest("probe-" + run_id_ + "-" + std::to_string(++probe_users_));
        c->is_join = true;
        break;
      case Kind::kPoller:
        if (!options_.path.empty()) {
          request = "GET " + options_.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        } else if (c->token.empty()) {
          request = JoinRequest("poller-" + run_id_ + "-" + std::to_string(c->index) + "-" +
                                std::to_string(c->user_seq++));
          c->is_join = true;
        } else {
          request =
              "GET /api/v1/queue/status?token=" + c->token + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        }
        break;
      default:
        return;
    }
    if (c->kind == Kind::kPoller) {
      c->request_start_us = now;
      c->request_measured = measuring_.load();
    }
    c->state = State::kAwaiting;
    c->out = std::move(request);
    c->out_at = 0;
    Flush(c, now);
    if (c->fd >= 0 && c->kind == Kind::kPoller) {
      AddTimer(c, now + int64_t{options_.request_timeout_ms} * 1000);
    }
  }

  // Writes what is pending; on a write error the connection is closed (and counted).
  void Flush(Conn* c, int64_t now) {
    while (c->out_at < c->out.size()) {
      const ssize_t n =
          send(c->fd, c->out.data() + c->out_at, c->out.size() - c->out_at, MSG_NOSIGNAL);
      if (n > 0) {
        c->out_at += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      OnClosed(c, now, std::string("write: ") + std::strerror(errno));
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (c->out_at < c->out.size() ? uint32_t{EPOLLOUT} : 0u);
    ev.data.u64 = Tag(*c);
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
  }

  void OnConnected(Conn* c, int64_t now) {
    if (IsProbe(c->kind) && c->request_measured) {
      results_.probe_connect.us.push_back(now - c->opened_us);
    }
    switch (c->kind) {
      case Kind::kPoller:
      case Kind::kProbeHealthz:
      case Kind::kProbeJoin:
        // A poller with its token (a reconnect) waits for its next poll; one without joins at
        // once. A probe asks at once (its clock started with the connect).
        if (c->kind == Kind::kPoller && !c->token.empty() && options_.path.empty()) {
          c->state = State::kWaitingToSend;
          AddTimer(c, now + int64_t{options_.poll_interval_ms} * 1000);
        } else {
          SendRequest(c, now);
        }
        break;
      case Kind::kSlowloris:
        c->state = State::kHolding;
        c->first_byte_us = now;
        c->slow_sent = 1;
        c->out.assign(1, SlowByte(0));
        c->out_at = 0;
        Flush(c, now);
        if (c->fd >= 0) AddTimer(c, now + int64_t{options_.slowloris_interval_ms} * 1000);
        break;
      case Kind::kIdle: {
        c->state = State::kHolding;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = Tag(*c);
        epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
        break;
      }
    }
  }

  // The next byte of a slowloris head: the request line and Host, then an endless header value.
  static char SlowByte(int64_t i) {
    static constexpr std::string_view kHead =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    return i < static_cast<int64_t>(kHead.size()) ? kHead[static_cast<std::size_t>(i)] : 'x';
  }

  void RunTimers(int64_t now) {
    while (!timers_.empty() && timers_.top().at <= now) {
      const Timer t = timers_.top();
      timers_.pop();
      Conn* c = &conns_[static_cast<std::size_t>(t.index)];
      if (c->timer_seq != t.seq) continue;
      if (c->state == State::kClosed) {
        if (c->kind == Kind::kPoller || c->kind == Kind::kSlowloris || c->kind == Kind::kIdle) {
          Open(c, now);
        }
        continue;
      }
      if (c->state == State::kConnecting) {
        if (now - c->opened_us >= int64_t{options_.request_timeout_ms} * 1000) {
          Fail(std::string(KindName(c->kind)) + ": connect timed out");
          if (IsProbe(c->kind)) {
            Report(*c, nullptr, now);
            CloseConn(c);
          } else {
            Reopen(c, now);
          }
        }
        continue;
      }
      switch (c->kind) {
        case Kind::kPoller:
          if (c->state == State::kWaitingToSend) {
            if (measuring_.load()) results_.poll_lag.us.push_back(now - t.at);
            SendRequest(c, now);
          } else if (c->state == State::kAwaiting && c->request_start_us > 0 &&
                     now - c->request_start_us >= int64_t{options_.request_timeout_ms} * 1000) {
            Fail("poller: no answer within the request timeout");
            Report(*c, nullptr, now);
            Reopen(c, now);
          }
          break;
        case Kind::kSlowloris: {
          c->out.assign(1, SlowByte(c->slow_sent++));
          c->out_at = 0;
          Flush(c, now);
          if (c->fd >= 0) AddTimer(c, now + int64_t{options_.slowloris_interval_ms} * 1000);
          break;
        }
        case Kind::kProbeHealthz:
        case Kind::kProbeJoin:
          if (now - c->request_start_us >= int64_t{options_.request_timeout_ms} * 1000) {
            Fail(std::string(KindName(c->kind)) + ": no answer within the request timeout");
            Report(*c, nullptr, now);
            CloseConn(c);
          }
          break;
        default:
          break;
      }
    }
  }

  void OnEvent(Conn* c, uint32_t events, int64_t now) {
    if (c->state == State::kConnecting) {
      if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        Fail(std::string(KindName(c->kind)) + ": connect: " + std::strerror(err));
        if (IsProbe(c->kind)) Report(*c, nullptr, now);
        CloseConn(c);
        if (!IsProbe(c->kind)) AddTimer(c, now + 1000000);
        return;
      }
      OnConnected(c, now);
      return;
    }
    if (events & EPOLLOUT) {
      Flush(c, now);
      if (c->fd < 0) return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      char buf[16384];
      for (;;) {
        const ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n > 0) {
          c->parser.Feed(buf, static_cast<std::size_t>(n));
          if (static_cast<std::size_t>(n) < sizeof(buf)) break;
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        c->parser.Eof();
        TakeResponses(c, now);
        if (c->fd >= 0) {
          OnClosed(c, now, n == 0 ? "closed by the server" : std::strerror(errno));
        }
        return;
      }
      TakeResponses(c, now);
    }
  }

  void TakeResponses(Conn* c, int64_t now) {
    RawResponse r;
    while (c->fd >= 0 && c->parser.Next(&r)) OnResponse(c, r, now);
    if (c->fd >= 0 && c->parser.Error()) {
      Fail(std::string(KindName(c->kind)) + ": not an HTTP response");
      if (IsProbe(c->kind)) {
        CloseConn(c);
      } else {
        Reopen(c, now);
      }
    }
  }

  void OnResponse(Conn* c, const RawResponse& r, int64_t now) {
    const int64_t took = c->request_start_us > 0 ? now - c->request_start_us : 0;
    if (c->kind != Kind::kSlowloris && c->kind != Kind::kIdle) Report(*c, &r, now);
    switch (c->kind) {
      case Kind::kSlowloris:
        ++results_.slowloris_answered;
        return;
      case Kind::kIdle:
        ++results_.idle_answered;
        return;
      case Kind::kProbeHealthz:
      case Kind::kProbeJoin: {
        const int want = c->kind == Kind::kProbeHealthz ? 200 : 202;
        if (r.status != want) {
          Fail(std::string(KindName(c->kind)) + ": status " + std::to_string(r.status));
        } else if (c->request_measured) {
          (c->kind == Kind::kProbeHealthz ? results_.probe_healthz : results_.probe_join)
              .us.push_back(took);
        }
        CloseConn(c);
        return;
      }
      case Kind::kPoller: {
        if (c->state != State::kAwaiting) {
          Fail("poller: an answer nobody asked for");
          return;
        }
        c->request_start_us = 0;
        const int want = c->is_join ? 202 : 200;
        if (r.status != want) {
          Fail(std::string("poller ") + (c->is_join ? "join" : "status") + ": status " +
               std::to_string(r.status));
          // A status the room no longer knows: join again on the next turn.
          if (r.status == 404 || r.status == 410) c->token.clear();
        } else {
          if (c->is_join) {
            results_.poller_join.us.push_back(took);  // the ramp's joins, all of them
          } else if (c->request_measured) {
            results_.poller_status.us.push_back(took);
          }
          if (measuring_.load()) ++c->answers;
          if (c->is_join) {
            const std::size_t at = r.body.find("\"waiting_token\":\"");
            if (at != std::string::npos) {
              const std::size_t begin = at + 17;
              c->token = r.body.substr(begin, r.body.find('"', begin) - begin);
            } else {
              Fail("poller join: no waiting_token in the answer");
            }
          }
        }
        c->state = State::kWaitingToSend;
        // The first poll after a join lands anywhere in the interval, so that the ramp's
        // joins do not become one synchronized wave of polls.
        int64_t wait = int64_t{options_.poll_interval_ms} * 1000;
        if (c->is_join) wait = std::uniform_int_distribution<int64_t>(1, wait)(rng_);
        AddTimer(c, now + wait);
        return;
      }
    }
  }

  void OnClosed(Conn* c, int64_t now, const std::string& why) {
    switch (c->kind) {
      case Kind::kSlowloris:
        ++results_.slowloris_closed;
        if (c->first_byte_us > 0) results_.slowloris_lifetime.us.push_back(now - c->first_byte_us);
        Reopen(c, now);
        return;
      case Kind::kIdle:
        ++results_.idle_closed;
        results_.idle_lifetime.us.push_back(now - c->opened_us);
        Reopen(c, now);
        return;
      case Kind::kProbeHealthz:
      case Kind::kProbeJoin:
        Fail(std::string(KindName(c->kind)) + ": " + why + " before the answer");
        Report(*c, nullptr, now);
        CloseConn(c);
        return;
      case Kind::kPoller:
        if (c->state == State::kAwaiting) {
          Fail("poller: " + why + " before the answer");
          Report(*c, nullptr, now);
        } else {
          ++results_.poller_reconnects;
        }
        Reopen(c, now);
        return;
    }
  }

  const CrowdOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> measuring_{false};
  int epoll_fd_ = -1;
  std::vector<Conn> conns_;
  std::vector<int> free_probes_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::mt19937_64 rng_{42};
  int64_t start_us_ = 0;
  int64_t measure_start_us_ = 0;
  double cpu_at_start_ = 0;
  double server_cpu_at_start_ = 0;
  std::map<std::string, int64_t> syn_at_start_;
  int64_t probe_users_ = 0;
  // In user ids, so that crowds run one after another against one gateway never collide.
  const std::string run_id_ = std::to_string(NowUs() % 100000000);
  uint64_t source_turn_ = 0;
  CrowdResults results_;
};

}  // namespace admission::gateway::rawhttp

#endif  // ADMISSION_TESTS_SUPPORT_RAW_HTTP_H_
