// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// admission-gateway: the waiting room over HTTP. Parses the flags, opens the store, starts the
// room (with its background sweeper) and the ticket sale behind it (with its worker), and
// serves until SIGINT or SIGTERM, which drain first: /readyz answers 503 for --drain_sec, then
// the server stops accepting, answers what it read, stops the worker and exits 0.
//
//   admission-gateway --listen=127.0.0.1:8080 --store=memory --admin_token=SECRET
//
// The first line on stdout is "admission-gateway listening on http://HOST:PORT/" (tests and
// scripts read the port from it when started with port 0).
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "admission/room/waiting_room.h"
#include "admission/version.h"
#include "flags.h"
#include "identity.h"
#include "server.h"
#include "signer.h"
#include "store_backend.h"
#include "ticketing_routes.h"

namespace {

using admission::gateway::GatewayFlags;

std::string UrlHost(const std::string& host) {
  if (host == "0.0.0.0" || host.empty()) return "127.0.0.1";
  if (host == "::") return "[::1]";
  if (host.find(':') != std::string::npos) return "[" + host + "]";
  return host;
}

}  // namespace

int main(int argc, char** argv) {
  GatewayFlags flags;
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<admission::gateway::FlagsOutcome> parsed =
      admission::gateway::ParseFlags(args, &flags);
  if (!parsed.ok()) {
    std::fprintf(stderr, "admission-gateway: %s\n", std::string(parsed.status().message()).c_str());
    return 2;
  }
  if (*parsed == admission::gateway::FlagsOutcome::kHelp) {
    std::fputs(admission::gateway::FlagsHelp().c_str(), stdout);
    return 0;
  }

  // A crowd holds thousands of connections: each is a file.
  const int64_t open_files = admission::gateway::RaiseOpenFileLimit();
  const int64_t max_connections = admission::gateway::EffectiveMaxConnections(flags);
  if (max_connections + admission::gateway::kFilesKeptBack > open_files) {
    std::fprintf(stderr,
                 "admission-gateway: warning: --max_connections=%lld but only %lld files may be "
                 "open (ulimit -n): connections past that wait in the listen queue\n",
                 static_cast<long long>(max_connections), static_cast<long long>(open_files));
  }

  // Signals are taken by one thread with sigwait: blocked here, before any thread starts, so
  // every thread inherits the mask and no handler runs in the middle of a request.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A client that hangs up mid-response must not kill the process.
  signal(SIGPIPE, SIG_IGN);

  // The room's store and the sale (seats, holds, the outcome queue and the Idempotency-Keys),
  // on the same store.
  absl::StatusOr<admission::gateway::Stores> stores = admission::gateway::OpenStores(flags);
  if (!stores.ok()) {
    std::fprintf(stderr, "admission-gateway: %s\n", std::string(stores.status().message()).c_str());
    return 1;
  }
  admission::Options options;
  options.default_policy = flags.default_policy;
  options.create_events_on_join = flags.create_events_on_join;
  options.sweep_interval = absl::Milliseconds(flags.sweep_interval_ms);
  absl::StatusOr<std::unique_ptr<admission::WaitingRoom>> room =
      admission::WaitingRoom::Create(std::move(stores->room), options);
  if (!room.ok()) {
    std::fprintf(stderr, "admission-gateway: %s\n", std::string(room.status().message()).c_str());
    return 1;
  }

  // The page's event exists from the start (joins no longer create events): made with the
  // default policy unless it exists already, so that a restart never resets an operator's
  // policy.
  if (!flags.default_event.empty()) {
    absl::StatusOr<admission::Policy> existing = (*room)->GetPolicy(flags.default_event);
    absl::Status made = existing.status();
    if (absl::IsNotFound(made))
      made = (*room)->SetPolicy(flags.default_event, flags.default_policy);
    if (!made.ok()) {
      std::fprintf(stderr, "admission-gateway: cannot open the default event '%s': %s\n",
                   flags.default_event.c_str(), std::string(made.message()).c_str());
      return 1;
    }
  }

  std::string secret = flags.token_secret;
  if (secret.empty()) {
    secret = admission::gateway::RandomSecret();
    std::fprintf(stderr,
                 "admission-gateway: no --token_secret given: using a random secret, so "
                 "reservation tokens will not survive a restart and other gateways cannot "
                 "verify them\n");
  }
  if (flags.admin_token.empty()) {
    std::fprintf(stderr, "admission-gateway: no --admin_token given: the admin API is disabled\n");
  }

  // Who the user is (--identity): a JWKS file that cannot be read is a start-up error.
  absl::StatusOr<std::unique_ptr<admission::gateway::Identity>> identity =
      admission::gateway::Identity::Create(flags, secret, admission::SystemClock());
  if (!identity.ok()) {
    std::fprintf(stderr, "admission-gateway: %s\n",
                 std::string(identity.status().message()).c_str());
    return 1;
  }
  if (flags.identity == "trusted" && !admission::gateway::IsLoopbackHost(flags.listen_host)) {
    std::fprintf(stderr,
                 "admission-gateway: warning: --identity=trusted on %s: anyone who can reach "
                 "this address can join as any user; keep it behind the back end that "
                 "authenticates users, or use --identity=jwt or anonymous\n",
                 flags.listen.c_str());
  }

  admission::gateway::Gateway gateway(flags, *std::move(room), std::move(stores->sale),
                                      std::move(secret), nullptr, *std::move(identity));
  absl::StatusOr<int> port = gateway.Bind();
  if (!port.ok()) {
    std::fprintf(stderr, "admission-gateway: %s\n", std::string(port.status().message()).c_str());
    return 1;
  }

  // The first SIGTERM or SIGINT drains (Gateway::BeginDrain: /readyz turns 503 for
  // --drain_sec, then in-flight requests are answered); a second one stops at once.
  std::thread signal_thread([&gateway, stop_signals, drain_sec = flags.drain_sec] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr,
                 "admission-gateway: %s: draining (/readyz answers 503 for %gs, then in-flight "
                 "requests finish); send it again to stop at once\n",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT", drain_sec);
    gateway.BeginDrain();
    sigwait(&stop_signals, &sig);
    gateway.Stop();
  });
  signal_thread.detach();  // the process exits once Run returns; the thread may still wait

  const std::string base = absl::StrCat("http://", UrlHost(flags.listen_host), ":", *port, "/");
  std::printf("admission-gateway listening on %s\n", base.c_str());
  std::printf("  waiting room: %s?event=%s\n", base.c_str(), flags.default_event.c_str());
  std::printf("  operator:     %sadmin%s\n", base.c_str(),
              flags.admin_token.empty() ? " (disabled: no --admin_token)" : "");
  std::printf("  store: %s, store-call threads: %d, max connections: %lld, version %s\n",
              stores->name.c_str(), flags.threads, static_cast<long long>(max_connections),
              ADMISSION_VERSION_STRING);
  std::printf("  identity: %s\n", flags.identity.c_str());
  std::fflush(stdout);

  if (!gateway.Run()) {
    std::fprintf(stderr, "admission-gateway: the HTTP server stopped with an error\n");
    return 1;
  }
  std::fprintf(stderr, "admission-gateway: stopped\n");
  return 0;
}
