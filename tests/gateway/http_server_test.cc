// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The gateway's HTTP server (examples/gateway/http_server.h) in-process, with raw sockets: how a
// Reply behaves (sent from other threads, first answer wins, the deadline's fallback, a dropped
// reply), pipelined answers in order under answers that come back out of order, refusals handed
// to the handler, and many clients at once. Built in every tree, so the sanitizer stages (which
// build no examples) run it too: label unit (ASan/UBSan) and concurrency (TSan). The process
// tests of the limits against the real binary are gateway_crowd_test.cc.
#include "http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace admission::gateway {
namespace {

// A blocking loopback client with a receive timeout.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~RawClient() { ::close(fd_); }

  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Reads until `count` whole responses arrived (Content-Length framed) or the peer closed.
  std::string ReadResponses(int count) {
    std::string out;
    char buf[4096];
    while (Complete(out) < count) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  // True once the server closed the connection (recv sees end of stream).
  bool ClosedByPeer() {
    char buf[256];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  static int Complete(const std::string& s) {
    int done = 0;
    std::size_t at = 0;
    for (;;) {
      const std::size_t end = s.find("\r\n\r\n", at);
      if (end == std::string::npos) return done;
      const std::string head = s.substr(at, end - at);
      std::size_t length = 0;
      const std::size_t field = head.find("Content-Length: ");
      if (field != std::string::npos) length = std::stoul(head.substr(field + 16));
      if (s.size() < end + 4 + length) return done;
      ++done;
      at = end + 4 + length;
    }
  }

  int fd_ = -1;
  bool connected_ = false;
};

std::vector<std::string> Statuses(const std::string& responses) {
  std::vector<std::string> out;
  for (std::size_t at = responses.find("HTTP/1.1 "); at != std::string::npos;
       at = responses.find("HTTP/1.1 ", at + 1)) {
    out.push_back(responses.substr(at + 9, 3));
  }
  return out;
}

// The server counts a timeout after it closed the socket, so the client can see the close
// first: wait for the count, bounded.
bool ReachesAtLeast(const std::atomic<uint64_t>& counter, uint64_t n) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (counter.load() < n) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

Response Text(int status, std::string body) {
  Response res;
  res.status = status;
  res.set_content(std::move(body), "text/plain");
  return res;
}

// A server on a free port, run on its own threads for the test's length.
class ServerUnderTest {
 public:
  ServerUnderTest(HttpServerOptions options, HttpServer::Handler handler)
      : server_(std::move(options), std::move(handler)) {
    absl::StatusOr<int> port = server_.Bind();
    EXPECT_TRUE(port.ok()) << port.status();
    port_ = port.value_or(0);
    thread_ = std::thread([this] { server_.Run(); });
  }
  ~ServerUnderTest() {
    server_.Stop();
    thread_.join();
  }
  int port() const { return port_; }
  const HttpServerStats& stats() const { return server_.stats(); }

 private:
  HttpServer server_;
  int port_ = 0;
  std::thread thread_;
};

HttpServerOptions SmallOptions() {
  HttpServerOptions o;
  o.io_threads = 2;
  return o;
}

TEST(HttpServerTest, AnswersFromOtherThreadsKeepPipelinedOrder) {
  // Each request is answered from a thread of its own after a random delay, so later requests
  // often finish first; the server must still answer them in the order they came.
  std::atomic<int> handled{0};
  ServerUnderTest s(SmallOptions(), [&](Request req, const HttpRefusal&, HttpServer::Reply reply) {
    handled.fetch_add(1);
    std::thread([req = std::move(req), reply] {
      thread_local std::mt19937 rng(std::random_device{}());
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
      reply.Send(Text(200, req.path));
    }).detach();
  });
  RawClient c(s.port());
  ASSERT_TRUE(c.connected());
  std::string pipelined;
  for (int i = 0; i < 10; ++i)
    absl::StrAppend(&pipelined, "GET /r", i, " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c.Send(pipelined));
  const std::string out = c.ReadResponses(10);
  std::size_t at = 0;
  for (int i = 0; i < 10; ++i) {
    const std::size_t found = out.find(absl::StrCat("/r", i), at);
    ASSERT_NE(found, std::string::npos) << "answer " << i << " missing or out of order:\n" << out;
    at = found;
  }
  EXPECT_EQ(handled.load(), 10);
}

TEST(HttpServerTest, FirstAnswerWinsAndTheDeadlineAnswersForAStuckHandler) {
  absl::Notification release;
  std::atomic<int> late_sends_refused{0};
  std::vector<std::thread> stuck;
  std::mutex mu;
  ServerUnderTest s(SmallOptions(), [&](Request req, const HttpRefusal&, HttpServer::Reply reply) {
    if (req.path == "/stuck") {
      reply.SetDeadline(absl::Milliseconds(100), [] { return Text(503, "late"); });
      std::lock_guard<std::mutex> lock(mu);
      stuck.emplace_back([&, reply] {
        release.WaitForNotification();
        if (!reply.Send(Text(200, "too late"))) late_sends_refused.fetch_add(1);
        EXPECT_TRUE(reply.answered());
      });
      return;
    }
    EXPECT_TRUE(reply.Send(Text(200, "first")));
    EXPECT_FALSE(reply.Send(Text(500, "second")));
  });
  RawClient c(s.port());
  ASSERT_TRUE(c.Send("GET /once HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string out = c.ReadResponses(1);
  EXPECT_NE(out.find("first"), std::string::npos) << out;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Send("GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n"));
  out = c.ReadResponses(1);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(Statuses(out), std::vector<std::string>{"503"}) << out;
  EXPECT_LT(waited, std::chrono::seconds(3));
  // The connection goes on serving after a deadline.
  ASSERT_TRUE(c.Send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(c.ReadResponses(1).find("first"), std::string::npos);
  release.Notify();
  std::lock_guard<std::mutex> lock(mu);
  for (std::thread& t : stuck) t.join();
  EXPECT_EQ(late_sends_refused.load(), 1);
}

TEST(HttpServerTest, AReplyDroppedUnansweredIsA500) {
  ServerUnderTest s(SmallOptions(), [](Request, const HttpRefusal&, HttpServer::Reply) {});
  RawClient c(s.port());
  ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(Statuses(c.ReadResponses(1)), std::vector<std::string>{"500"});
}

TEST(HttpServerTest, RefusalsReachTheHandlerAndCloseTheConnection) {
  HttpServerOptions o = SmallOptions();
  o.max_headers = 10;
  o.max_body_bytes = 100;
  std::atomic<int> refusals{0};
  ServerUnderTest s(o, [&](Request req, const HttpRefusal& refusal, HttpServer::Reply reply) {
    if (refusal.status != 0) {
      refusals.fetch_add(1);
      reply.Send(Text(refusal.status, refusal.message));
    } else {
      reply.Send(Text(200, req.body));
    }
  });
  {
    RawClient c(s.port());
    std::string head = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 11; ++i) absl::StrAppend(&head, "X-", i, ": y\r\n");
    ASSERT_TRUE(c.Send(head + "\r\n"));
    EXPECT_EQ(Statuses(c.ReadResponses(1)), std::vector<std::string>{"431"});
    EXPECT_TRUE(c.ClosedByPeer());
  }
  {
    RawClient c(s.port());
    ASSERT_TRUE(c.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n"));
    const std::string out = c.ReadResponses(1);
    EXPECT_EQ(Statuses(out), std::vector<std::string>{"413"});
    EXPECT_NE(out.find("100 bytes"), std::string::npos) << out;
  }
  {
    RawClient c(s.port());
    ASSERT_TRUE(
        c.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab"));
    EXPECT_EQ(Statuses(c.ReadResponses(1)), std::vector<std::string>{"400"});
  }
  {
    RawClient c(s.port());
    ASSERT_TRUE(c.Send(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nab"));
    EXPECT_EQ(Statuses(c.ReadResponses(1)), std::vector<std::string>{"400"});
  }
  {
    // A chunked body is fine, and a bodiless POST is an empty body at once.
    RawClient c(s.port());
    ASSERT_TRUE(
        c.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3\r\nabc\r\n0\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string out = c.ReadResponses(2);
    EXPECT_EQ(Statuses(out), (std::vector<std::string>{"200", "200"})) << out;
    EXPECT_NE(out.find("abc"), std::string::npos);
  }
  EXPECT_EQ(refusals.load(), 4);
  EXPECT_EQ(s.stats().refused_requests.load(), 4u);
}

TEST(HttpServerTest, SlowHeadsAndIdleConnectionsAreClosed) {
  HttpServerOptions o = SmallOptions();
  o.head_timeout = absl::Milliseconds(200);
  o.idle_timeout = absl::Milliseconds(200);
  ServerUnderTest s(
      o, [](Request, const HttpRefusal&, HttpServer::Reply reply) { reply.Send(Text(200, "ok")); });
  RawClient idle(s.port());
  RawClient slow(s.port());
  ASSERT_TRUE(slow.Send("GET / HTTP/1.1\r\n"));  // and never the rest
  EXPECT_TRUE(idle.ClosedByPeer());
  EXPECT_TRUE(slow.ClosedByPeer());
  EXPECT_TRUE(ReachesAtLeast(s.stats().idle_timeouts, 1));
  EXPECT_TRUE(ReachesAtLeast(s.stats().head_timeouts, 1));
}

TEST(HttpServerTest, ConnectionsBeyondTheLimitAreClosedAndThoseInKeepBeingServed) {
  HttpServerOptions o = SmallOptions();
  o.max_connections = 5;
  ServerUnderTest s(
      o, [](Request, const HttpRefusal&, HttpServer::Reply reply) { reply.Send(Text(200, "ok")); });
  std::vector<std::unique_ptr<RawClient>> in;
  for (int i = 0; i < 5; ++i) {
    in.push_back(std::make_unique<RawClient>(s.port()));
    ASSERT_TRUE(in.back()->Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(Statuses(in.back()->ReadResponses(1)), std::vector<std::string>{"200"});
  }
  RawClient extra(s.port());
  EXPECT_TRUE(extra.ClosedByPeer());
  EXPECT_TRUE(ReachesAtLeast(s.stats().refused_connections, 1));
  EXPECT_EQ(s.stats().refused_connections.load(), 1u);
  for (auto& c : in) {
    ASSERT_TRUE(c->Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(Statuses(c->ReadResponses(1)), std::vector<std::string>{"200"});
  }
}

TEST(HttpServerTest, ManyClientsAtOnce) {
  HttpServerOptions o = SmallOptions();
  std::atomic<int> served{0};
  ServerUnderTest s(o, [&](Request req, const HttpRefusal&, HttpServer::Reply reply) {
    served.fetch_add(1);
    if (req.path == "/inline") {
      reply.Send(Text(200, "i"));
    } else {
      std::thread([reply] { reply.Send(Text(200, "t")); }).detach();
    }
  });
  constexpr int kClients = 16;
  constexpr int kRequests = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      RawClient c(s.port());
      for (int r = 0; r < kRequests; ++r) {
        const std::string path = (i + r) % 2 == 0 ? "/inline" : "/thread";
        if (!c.Send(absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\n\r\n"))) return;
        if (Statuses(c.ReadResponses(1)) == std::vector<std::string>{"200"}) ok.fetch_add(1);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  EXPECT_EQ(served.load(), kClients * kRequests);
}

}  // namespace
}  // namespace admission::gateway
