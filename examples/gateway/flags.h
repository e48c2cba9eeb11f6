// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The gateway's command line. A small parser of its own (rather than absl flags) so that
// `--help` can print every flag with its *effective* default, including the policy defaults
// that come from admission::Policy, and so that tests can parse argument lists in-process.
#ifndef ADMISSION_EXAMPLES_GATEWAY_FLAGS_H_
#define ADMISSION_EXAMPLES_GATEWAY_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "admission/room/policy.h"

namespace admission::gateway {

struct GatewayFlags {
  // --listen=HOST:PORT; port 0 picks a free port (the startup line says which).
  std::string listen = "127.0.0.1:8080";
  std::string listen_host = "127.0.0.1";  // parsed from `listen`
  int listen_port = 8080;                 // parsed from `listen`

  // "memory", "redis://HOST:PORT" or "redis-cluster://HOST:PORT[,HOST:PORT...]".
  std::string store = "memory";
  // Connections to Redis (shared by all worker threads).
  int redis_pool_size = 16;
  // Prefix of every Redis key, so that several rooms (or test runs) can share one Redis.
  std::string redis_key_prefix = "adm";
  // Redis credentials (docs/gateway.md, "Redis credentials"): an ACL user, and a file whose
  // first line is the password, so that it never shows in `ps`. Empty: $ADMISSION_REDIS_USERNAME
  // and $ADMISSION_REDIS_PASSWORD, else the --store URL's.
  std::string redis_username;
  std::string redis_password_file;
  // With --store=redis-sentinel://...: a file whose first line is the sentinels' own password
  // (requirepass on the sentinels). Empty: $ADMISSION_REDIS_SENTINEL_PASSWORD, else the URL's.
  std::string redis_sentinel_password_file;
  // Empty disables the admin API (it answers 403).
  std::string admin_token;
  // Empty: a random secret is made at startup (tokens then die with the process).
  std::string token_secret;

  // HTTP server (http_server.h): a few I/O threads serve every connection; store calls run on
  // `threads` other threads, each under `store_deadline_ms`.
  int io_threads = 0;  // 0: one per core
  int threads = 32;
  int64_t store_deadline_ms = 1000;
  int64_t store_queue_limit = 10000;
  // On SIGTERM (or SIGINT), /readyz answers 503 for this long while everything else is still
  // served, so that load balancers stop sending requests; then the server stops accepting,
  // answers what it read and exits. 0: no wait.
  double drain_sec = 5;
  // 0: as many as the open-file limit allows, less kFilesKeptBack (EffectiveMaxConnections).
  int64_t max_connections = 0;
  int keep_alive_max_count = 1000;
  int keep_alive_timeout_sec = 5;
  int64_t header_timeout_ms = 10000;
  int64_t body_timeout_ms = 10000;
  int64_t write_timeout_ms = 10000;
  int listen_backlog = 1024;
  int64_t max_header_count = 100;
  int64_t max_header_bytes = 16 * 1024;
  int64_t max_body_bytes = 16 * 1024;

  // Per-client token buckets (0 disables one). The address bucket covers every /api/ call
  // from one address; the token bucket every call naming one waiting token (or user id).
  // Behind a reverse proxy every peer address is the proxy's; this header (which the proxy
  // must overwrite, never pass through) names the real client instead.
  std::string client_address_header;
  double rate_limit_ip_per_sec = 50;
  double rate_limit_ip_burst = 100;
  double rate_limit_token_per_sec = 5;
  double rate_limit_token_burst = 10;
  int64_t rate_limit_max_clients = 100000;

  // Idempotency-Key answers are kept in the store (memory or Redis) this long.
  int64_t idempotency_ttl_sec = 300;

  // Ticketing (ticketing_routes.h). How long a seat hold lasts; how long after a "delay"
  // payment intent its approval is applied.
  int64_t hold_ttl_sec = 60;
  double payment_delay_sec = 5;
  // Run the ticketing worker (and the scan that publishes expired holds) in this process.
  // Every gateway on a shared store may run one; each takes its share of the queue.
  bool worker = true;
  // Events the worker applies per second; 0 = as fast as it can.
  double worker_pace_per_sec = 0;
  // How often holds past their expiry are looked for; 0 disables the scan.
  int64_t hold_expiry_scan_ms = 1000;

  bool access_log = true;
  // The event the waiting-room page joins when its URL names none (?event=...).
  std::string default_event = "demo";
  // Events are the operator's to create (admin API, or default_event at start-up): a join of
  // an unknown event is 404 unless this is set, so that anonymous clients cannot make events.
  bool create_events_on_join = false;
  int64_t sweep_interval_ms = 1000;
  // /metrics reports per-event series for at most this many events: the busiest (most users
  // waiting and active; ties by id), so that idle or junk events never push a sale out.
  int64_t metrics_max_events = 100;
  // Empty: /metrics is public. Otherwise scrapers send Authorization: Bearer <metrics_token>.
  std::string metrics_token;
  // The operator page's charts (event_series.h): one sample of each busy event every
  // series_interval_ms (0: none kept), series_samples of them (360 x 10 s: the last hour), for
  // at most series_max_events events (the busiest).
  int64_t series_interval_ms = 10000;
  int64_t series_samples = 360;
  int64_t series_max_events = 20;

  // Who the user is (identity.h): "anonymous" (the gateway issues a signed session),
  // "trusted" (the join's user_id as sent, for a back end that authenticated its users) or
  // "jwt" (the sub of the identity provider's JWT, checked against jwks_file's keys, with
  // jwt_issuer and jwt_audience). session_cookie_secure: "auto" (Secure when the request came
  // through an HTTPS proxy: X-Forwarded-Proto or Forwarded), "true" or "false".
  std::string identity = "anonymous";
  std::string jwks_file;
  std::string jwt_issuer;
  std::string jwt_audience;
  std::string session_cookie_secure = "auto";

  // Given to every event the first time somebody joins it (--admit_rate_per_sec, ...).
  Policy default_policy;

  // Proof of work on join (pow_gate.h): "off", "on" (always pow_difficulty bits) or "auto"
  // (none under pow_auto_threshold accepted joins per second of the event, then
  // pow_auto_min_difficulty bits, plus one per doubling of the rate, at most
  // pow_auto_max_difficulty). A challenge may be answered for pow_challenge_ttl_sec (at most
  // idempotency_ttl_sec: spent challenges are kept that long); auto samples an event's rate
  // every pow_rate_interval_ms.
  std::string pow = "auto";
  int pow_difficulty = 16;
  double pow_auto_threshold = 50;
  int pow_auto_min_difficulty = 12;
  int pow_auto_max_difficulty = 20;
  int64_t pow_challenge_ttl_sec = 120;
  int64_t pow_rate_interval_ms = 1000;
};

// Open files the gateway keeps for other uses than client connections (store connections,
// logs, the listening socket) when it sizes --max_connections=0 from the open-file limit.
inline constexpr int64_t kFilesKeptBack = 1000;

// --max_connections, or with 0 the open-file limit (RLIMIT_NOFILE's soft limit) less
// kFilesKeptBack, at least 64.
int64_t EffectiveMaxConnections(const GatewayFlags& flags);

// Raises the process's soft open-file limit to its hard limit, so that a crowd's connections
// fit; returns the soft limit in effect afterwards.
int64_t RaiseOpenFileLimit();

enum class FlagsOutcome { kRun, kHelp };

// Parses argv[1..]: `--name=value`, `--name value`, and `--name` alone for booleans.
// InvalidArgument (naming the flag) for unknown flags, bad values or an invalid policy.
absl::StatusOr<FlagsOutcome> ParseFlags(const std::vector<std::string>& args, GatewayFlags* flags);

// Every flag with its default and a line of help, for --help.
std::string FlagsHelp();

// "10:0,50:2,inf:5" <-> wait tiers (max position : minimum wait in seconds).
std::string FormatWaitTiers(const std::vector<WaitTier>& tiers);
absl::StatusOr<std::vector<WaitTier>> ParseWaitTiers(const std::string& text);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_FLAGS_H_
