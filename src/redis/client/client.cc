// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// RedisClient: checks the connection options once, connects the router (to the server, or to
// the first cluster seed that answers) and owns the script runner every store on it uses.
#include "admission/redis/client.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/strings.h"
#include "redis/client/client_internal.h"
#include "redis/client/connection.h"
#include "redis/client/function_runner.h"
#include "redis/client/router.h"
#include "redis/client/sentinel.h"

namespace admission {

struct RedisClient::Impl {
  Impl(RedisClientOptions o, std::unique_ptr<redis_internal::Router> router)
      : options(std::move(o)),
        runner(std::shared_ptr<redis_internal::Router>(std::move(router)), options.durable_replicas,
               options.durable_timeout) {}

  const RedisClientOptions options;
  redis_internal::FunctionRunner runner;
};

namespace redis_internal {

FunctionRunner& ClientAccess::Runner(const RedisClient& client) { return client.impl_->runner; }

}  // namespace redis_internal

namespace {

using internal::AbslView;

// "host:port", with an IPv6 host in brackets.
std::string Address(const RedisAddress& a) {
  return a.host.find(':') == std::string::npos ? absl::StrCat(a.host, ":", a.port)
                                               : absl::StrCat("[", a.host, "]:", a.port);
}

absl::Status ValidateAddress(const RedisAddress& a) {
  if (a.host.empty()) return absl::InvalidArgumentError("redis host is empty");
  if (a.port < 1 || a.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("redis port ", a.port, " is out of range"));
  }
  return absl::OkStatus();
}

absl::Status Validate(const RedisClientOptions& options) {
  if (!options.sentinel_master.empty()) {
    if (options.sentinels.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis master '", options.sentinel_master, "' is given without sentinels"));
    }
    if (!options.cluster_seeds.empty()) {
      return absl::InvalidArgumentError("give either sentinels or cluster seeds, not both");
    }
    for (const RedisAddress& sentinel : options.sentinels) {
      if (absl::Status s = ValidateAddress(sentinel); !s.ok()) return s;
    }
    if (!options.sentinel_username.empty() && options.sentinel_password.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("sentinel user '", options.sentinel_username,
                                                     "' is given without a password"));
    }
  } else if (!options.sentinels.empty()) {
    return absl::InvalidArgumentError("sentinels are given without a master name");
  } else if (options.cluster_seeds.empty()) {
    if (absl::Status s = ValidateAddress({options.host, options.port}); !s.ok()) return s;
  }
  for (const RedisAddress& seed : options.cluster_seeds) {
    if (absl::Status s = ValidateAddress(seed); !s.ok()) return s;
  }
  if (options.pool_size < 1) return absl::InvalidArgumentError("pool_size must be at least 1");
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.command_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("redis timeouts must be positive");
  }
  if (options.key_prefix.empty() || options.key_prefix.find_first_of("{}") != std::string::npos) {
    // Braces would change the keys' hash tag and split an event over several slots.
    return absl::InvalidArgumentError("key_prefix must be non-empty and contain no '{' or '}'");
  }
  if (!options.username.empty() && options.password.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis user '", options.username, "' is given without a password"));
  }
  if (options.durable_replicas < -1) {
    return absl::InvalidArgumentError("durable_replicas must be -1 (automatic), 0 or more");
  }
  const bool durable = options.durable_replicas > 0 ||
                       (options.durable_replicas < 0 && !options.sentinel_master.empty());
  if (durable && (options.durable_timeout <= absl::ZeroDuration() ||
                  options.durable_timeout >= options.command_timeout)) {
    // WAIT blocks its connection: a longer one would make the call time out instead.
    return absl::InvalidArgumentError("durable_timeout must be positive and below command_timeout");
  }
  return absl::OkStatus();
}

redis_internal::Endpoint EndpointOf(const RedisClientOptions& options, const RedisAddress& a) {
  redis_internal::Endpoint endpoint{a.host, a.port, options.connect_timeout,
                                    options.command_timeout};
  endpoint.username = options.username;
  endpoint.password = options.password;
  return endpoint;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "%XX" escapes decoded ('+' stays '+': this is a URL's userinfo, not a form).
bool PercentDecode(absl::string_view in, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

}  // namespace

RedisClient::RedisClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisClient::~RedisClient() = default;

const RedisClientOptions& RedisClient::options() const { return impl_->options; }

bool RedisClient::cluster() const { return impl_->runner.router().cluster(); }

std::string RedisClient::primary() const { return impl_->runner.router().Primary(); }

absl::StatusOr<std::shared_ptr<RedisClient>> RedisClient::Connect(
    const RedisClientOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  auto made = [&](const RedisAddress& reached, std::unique_ptr<redis_internal::Router> router) {
    RedisClientOptions o = options;
    o.host = reached.host;
    o.port = reached.port;
    if (o.durable_replicas < 0) o.durable_replicas = o.sentinel_master.empty() ? 0 : 1;
    return std::shared_ptr<RedisClient>(
        new RedisClient(std::make_unique<Impl>(std::move(o), std::move(router))));
  };
  if (!options.sentinel_master.empty()) {
    redis_internal::SentinelSettings settings;
    settings.master = options.sentinel_master;
    for (const RedisAddress& a : options.sentinels) {
      redis_internal::Endpoint sentinel{a.host, a.port, options.connect_timeout,
                                        options.command_timeout};
      sentinel.username = options.sentinel_username;
      sentinel.password = options.sentinel_password;
      settings.sentinels.push_back(std::move(sentinel));
    }
    absl::StatusOr<std::unique_ptr<redis_internal::Router>> router =
        redis_internal::Router::ConnectSentinel(std::move(settings), EndpointOf(options, {}),
                                                options.pool_size);
    if (!router.ok()) return router.status();
    const redis_internal::Endpoint& primary = (*router)->seed().endpoint();
    return made({primary.host, primary.port}, std::move(router).value());
  }
  if (options.cluster_seeds.empty()) {
    const RedisAddress server{options.host, options.port};
    absl::StatusOr<std::unique_ptr<redis_internal::Router>> router =
        redis_internal::Router::Connect(EndpointOf(options, server), options.pool_size);
    if (!router.ok()) return router.status();
    return made(server, std::move(router).value());
  }
  // The router reads the whole slot map (every master) from the seed it starts from, so the
  // later seeds only matter when the earlier ones are down.
  std::vector<std::string> failures;
  for (const RedisAddress& seed : options.cluster_seeds) {
    absl::StatusOr<std::unique_ptr<redis_internal::Router>> router =
        redis_internal::Router::Connect(EndpointOf(options, seed), options.pool_size);
    if (!router.ok()) {
      // Credentials are the same for every seed: one refusal is the answer.
      if (absl::IsUnauthenticated(router.status()) || absl::IsPermissionDenied(router.status()) ||
          absl::IsFailedPrecondition(router.status())) {
        return router.status();
      }
      failures.push_back(std::string(router.status().message()));
      continue;
    }
    if (!(*router)->cluster()) {
      return absl::FailedPreconditionError(absl::StrCat(
          Address(seed), " is not a Redis Cluster node (cluster_enabled:0); use redis://",
          Address(seed), " for a single server"));
    }
    return made(seed, std::move(router).value());
  }
  return absl::UnavailableError(
      absl::StrCat("no seed answered (", absl::StrJoin(failures, "; "), ")"));
}

absl::Status ParseRedisUrl(std::string_view url, RedisClientOptions* options) {
  absl::string_view rest = AbslView(url);
  // Credentials end at the last '@' (hosts, ports and paths have none), so that a password
  // with a raw '@', '/' or ':' is still cut out whole, and never shows in a message.
  absl::string_view scheme;
  absl::string_view credentials;
  bool has_credentials = false;
  if (absl::StartsWith(rest, "rediss://")) scheme = "rediss://";
  if (absl::StartsWith(rest, "redis://")) scheme = "redis://";
  rest.remove_prefix(scheme.size());
  if (const std::size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    has_credentials = true;
    credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  const std::string shown = absl::StrCat(scheme, has_credentials ? "<credentials>@" : "", rest);
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("redis url '", shown, "': ", why));
  };
  if (scheme == "rediss://") return bad("TLS (rediss://) is not supported");
  std::string username;
  std::string password;
  if (has_credentials) {
    const std::size_t colon = credentials.find(':');
    if (!PercentDecode(credentials.substr(0, colon), &username) ||
        (colon != absl::string_view::npos &&
         !PercentDecode(credentials.substr(colon + 1), &password))) {
      return bad("bad percent-encoding in the credentials");
    }
  }
  // An optional path: "/" or "/0" (the only database a cluster has).
  if (const std::size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    const absl::string_view path = rest.substr(slash);
    if (path != "/" && path != "/0") return bad("only database 0 is supported");
    rest = rest.substr(0, slash);
  }
  std::string host;
  absl::string_view port_text;
  if (absl::ConsumePrefix(&rest, "[")) {  // [IPv6]
    const std::size_t close = rest.find(']');
    if (close == absl::string_view::npos) return bad("unterminated '['");
    host = std::string(rest.substr(0, close));
    rest = rest.substr(close + 1);
    if (!rest.empty() && !absl::ConsumePrefix(&rest, ":")) return bad("junk after ']'");
    port_text = rest;
  } else {
    const std::size_t colon = rest.rfind(':');
    host = std::string(rest.substr(0, colon));
    if (colon != absl::string_view::npos) port_text = rest.substr(colon + 1);
    if (host.find(':') != std::string::npos) return bad("put an IPv6 address in brackets");
  }
  if (host.empty()) return bad("no host");
  int port = 6379;
  if (!port_text.empty() && (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535)) {
    return bad("bad port");
  }
  options->host = std::move(host);
  options->port = port;
  if (!username.empty()) options->username = std::move(username);
  if (!password.empty()) options->password = std::move(password);
  return absl::OkStatus();
}

absl::Status ParseRedisSentinelUrl(std::string_view url, RedisClientOptions* options) {
  absl::string_view rest = AbslView(url);
  if (!absl::ConsumePrefix(&rest, "redis-sentinel://")) {
    return absl::InvalidArgumentError("a sentinel url starts with redis-sentinel://");
  }
  // "[CREDENTIALS@]MASTER@SENTINELS[?QUERY]": the last '@' ends the master's name (a
  // percent-encoded query has none), the one before it the data nodes' credentials.
  const std::size_t at = rest.rfind('@');
  const absl::string_view head = at == absl::string_view::npos ? "" : rest.substr(0, at);
  absl::string_view tail = at == absl::string_view::npos ? rest : rest.substr(at + 1);
  const std::size_t cred_at = head.rfind('@');
  const absl::string_view credentials =
      cred_at == absl::string_view::npos ? "" : head.substr(0, cred_at + 1);
  const std::string master(cred_at == absl::string_view::npos ? head : head.substr(cred_at + 1));
  absl::string_view query;
  if (const std::size_t q = tail.find('?'); q != absl::string_view::npos) {
    query = tail.substr(q + 1);
    tail = tail.substr(0, q);
  }
  const std::string shown =
      absl::StrCat("redis-sentinel://", credentials.empty() ? "" : "<credentials>@", master, "@",
                   tail, query.empty() ? "" : "?<sentinel credentials>");
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("redis url '", shown, "': ", why));
  };
  if (master.empty()) return bad("no master name (redis-sentinel://MASTER@HOST:PORT[,...])");
  RedisClientOptions parsed;
  std::vector<RedisAddress> sentinels;
  for (absl::string_view sentinel : absl::StrSplit(tail, ',')) {
    RedisClientOptions one;
    one.port = 26379;
    if (sentinel.empty()) return bad("an empty sentinel address");
    if (sentinel.find('/') != absl::string_view::npos)
      return bad("sentinel addresses take no path");
    // The default port is the sentinels' (26379), not the servers'.
    std::string with_port(sentinel);
    if (sentinel.back() == ']' ||
        (sentinel.front() != '[' && sentinel.find(':') == absl::string_view::npos)) {
      with_port = absl::StrCat(sentinel, ":26379");
    }
    if (absl::Status s = ParseRedisUrl(absl::StrCat("redis://", with_port), &one); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("sentinel '", sentinel, "': ", s.message()));
    }
    sentinels.push_back({one.host, one.port});
  }
  if (!credentials.empty()) {
    // The data nodes' credentials, read as a redis:// URL's.
    if (absl::Status s = ParseRedisUrl(absl::StrCat("redis://", credentials, "localhost"), &parsed);
        !s.ok()) {
      return bad("bad percent-encoding in the credentials");
    }
  }
  std::string sentinel_username;
  std::string sentinel_password;
  if (!query.empty()) {
    for (absl::string_view pair : absl::StrSplit(query, '&')) {
      const std::size_t eq = pair.find('=');
      const absl::string_view key = pair.substr(0, eq);
      const absl::string_view value =
          eq == absl::string_view::npos ? absl::string_view() : pair.substr(eq + 1);
      std::string* into = nullptr;
      if (key == "sentinel_username") into = &sentinel_username;
      if (key == "sentinel_password") into = &sentinel_password;
      if (into == nullptr) {
        return bad(absl::StrCat("unknown parameter '", key,
                                "' (sentinel_username and sentinel_password are known)"));
      }
      if (!PercentDecode(value, into)) return bad("bad percent-encoding in a parameter");
    }
  }
  options->sentinel_master = master;
  options->sentinels = std::move(sentinels);
  options->cluster_seeds.clear();
  if (!parsed.username.empty()) options->username = std::move(parsed.username);
  if (!parsed.password.empty()) options->password = std::move(parsed.password);
  if (!sentinel_username.empty()) options->sentinel_username = std::move(sentinel_username);
  if (!sentinel_password.empty()) options->sentinel_password = std::move(sentinel_password);
  return absl::OkStatus();
}

}  // namespace admission
