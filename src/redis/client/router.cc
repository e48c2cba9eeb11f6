// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/client/router.h"

#include <hiredis.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace admission::redis_internal {
namespace {

uint16_t Crc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char c : data) {
    crc ^= static_cast<uint16_t>(c << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

struct Redirect {
  bool ask = false;
  int slot = 0;
  std::string address;  // "host:port"
};

// A "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>" error reply.
std::optional<Redirect> ParseRedirect(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ERROR) return std::nullopt;
  const absl::string_view text(reply.str, reply.len);
  Redirect r;
  if (absl::StartsWith(text, "MOVED ")) {
    r.ask = false;
  } else if (absl::StartsWith(text, "ASK ")) {
    r.ask = true;
  } else {
    return std::nullopt;
  }
  std::vector<absl::string_view> parts = absl::StrSplit(text, ' ');
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &r.slot) || r.slot < 0 ||
      r.slot >= kClusterSlots || parts[2].rfind(':') == absl::string_view::npos) {
    return std::nullopt;
  }
  r.address = std::string(parts[2]);
  return r;
}

bool SplitAddress(const std::string& address, std::string* host, int* port) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = address.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return absl::SimpleAtoi(absl::string_view(address).substr(colon + 1), port) && *port > 0 &&
         *port < 65536;
}

// "host:port", with an IPv6 host in brackets (as pools are keyed).
std::string HostPort(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", port);
}

}  // namespace

int KeySlot(std::string_view key) {
  const std::size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) % kClusterSlots;
}

Router::Router(const Endpoint& seed, int pool_size, bool cluster, std::string name)
    : seed_endpoint_(seed),
      pool_size_(pool_size),
      cluster_(cluster),
      name_(!name.empty() ? std::move(name)
            : cluster     ? absl::StrCat("redis cluster at ", seed.host, ":", seed.port)
                          : seed.Name()) {
  seed_ = PoolFor(HostPort(seed.host, seed.port));
}

Router::~Router() { watch_.reset(); }

absl::StatusOr<std::unique_ptr<Router>> Router::ConnectSentinel(SentinelSettings settings,
                                                                const Endpoint& data,
                                                                int pool_size) {
  absl::StatusOr<Endpoint> primary = DiscoverPrimary(settings, data);
  if (!primary.ok()) return primary.status();
  const std::string name = absl::StrCat("redis master '", settings.master, "'");
  std::unique_ptr<Router> router(new Router(*primary, pool_size, /*cluster=*/false, name));
  Router* r = router.get();
  router->watch_ = std::make_unique<SentinelWatch>(
      std::move(settings), data, *primary, [r](const Endpoint& found) { r->SwitchPrimary(found); });
  return router;
}

void Router::SwitchPrimary(const Endpoint& primary) {
  ConnectionPool* next = PoolFor(HostPort(primary.host, primary.port));
  if (next == nullptr) return;
  ConnectionPool* old = seed_.exchange(next);
  // The old primary's connections go (it is down or a replica now), and so do any the new
  // pool kept from an earlier turn as primary.
  if (old != nullptr) old->DropConnections();
  next->DropConnections();
}

std::string Router::Primary() const {
  const ConnectionPool* pool = seed_.load();
  return HostPort(pool->endpoint().host, pool->endpoint().port);
}

absl::StatusOr<std::vector<ReplyPtr>> Router::ExecuteOnPrimary(
    const std::vector<Command>& commands) {
  ConnectionPool* pool = seed_.load();
  absl::StatusOr<std::vector<ReplyPtr>> replies = pool->Execute(commands);
  if (!replies.ok()) {
    if (absl::IsUnavailable(replies.status()) || absl::IsDeadlineExceeded(replies.status())) {
      watch_->Suspect();
    }
    return replies;
  }
  for (const ReplyPtr& reply : *replies) {
    // A demoted primary refuses every write (nothing ran): find the new one. The reply goes
    // back as it is, an Unavailable for the caller (ErrorReplyStatus).
    if (reply->type == REDIS_REPLY_ERROR &&
        absl::StartsWith(absl::string_view(reply->str, reply->len), "READONLY")) {
      watch_->Suspect();
      break;
    }
  }
  return replies;
}

absl::StatusOr<std::unique_ptr<Router>> Router::Connect(const Endpoint& seed, int pool_size) {
  // One connection to find out what the seed is; it is dropped again (the pools open their own).
  absl::StatusOr<std::unique_ptr<Connection>> probe = Connection::Open(seed);
  if (!probe.ok()) return probe.status();
  absl::StatusOr<ReplyPtr> info = (*probe)->Execute(Command{"INFO", "cluster"});
  if (!info.ok()) return info.status();
  if ((*info)->type == REDIS_REPLY_ERROR) {
    return ErrorReplyStatus(seed.Name(), "INFO cluster",
                            std::string_view((*info)->str, (*info)->len));
  }
  if ((*info)->type != REDIS_REPLY_STRING) {
    return absl::InternalError(absl::StrCat("malformed reply from ", seed.Name(), " to INFO"));
  }
  const bool cluster =
      absl::StrContains(absl::string_view((*info)->str, (*info)->len), "cluster_enabled:1");
  std::unique_ptr<Router> router(new Router(seed, pool_size, cluster));
  if (cluster) {
    if (absl::Status s = router->RefreshSlots(router->seed_.load()); !s.ok()) return s;
  }
  return router;
}

ConnectionPool* Router::PoolFor(const std::string& address) {
  std::lock_guard<std::mutex> lock(pools_mu_);
  std::unique_ptr<ConnectionPool>& pool = pools_[address];
  if (pool == nullptr) {
    Endpoint endpoint = seed_endpoint_;
    if (!SplitAddress(address, &endpoint.host, &endpoint.port)) return nullptr;
    pool = std::make_unique<ConnectionPool>(std::move(endpoint), pool_size_);
  }
  return pool.get();
}

absl::Status Router::RefreshSlots(ConnectionPool* via) {
  std::vector<ConnectionPool*> candidates = {via, seed_.load()};
  {
    std::lock_guard<std::mutex> lock(pools_mu_);
    for (auto& [address, pool] : pools_) candidates.push_back(pool.get());
  }
  absl::Status last = absl::UnavailableError(absl::StrCat(name_, ": no node to ask for slots"));
  for (ConnectionPool* pool : candidates) {
    if (pool == nullptr) continue;
    absl::StatusOr<ReplyPtr> reply = pool->Execute(Command{"CLUSTER", "SLOTS"});
    if (!reply.ok()) {
      last = reply.status();
      continue;
    }
    const redisReply& r = **reply;
    const std::string node = pool->endpoint().Name();
    if (r.type == REDIS_REPLY_ERROR) {
      last = ErrorReplyStatus(node, "CLUSTER SLOTS", std::string_view(r.str, r.len));
      continue;
    }
    if (r.type != REDIS_REPLY_ARRAY) {
      last = absl::InternalError(absl::StrCat("malformed CLUSTER SLOTS from ", node));
      continue;
    }
    std::array<ConnectionPool*, kClusterSlots> map = {};
    bool malformed = false;
    for (std::size_t i = 0; i < r.elements && !malformed; ++i) {
      const redisReply* range = r.element[i];
      // [start, end, [host, port, id, ...], replicas...]
      if (range == nullptr || range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
          range->element[0]->type != REDIS_REPLY_INTEGER ||
          range->element[1]->type != REDIS_REPLY_INTEGER ||
          range->element[2]->type != REDIS_REPLY_ARRAY || range->element[2]->elements < 2 ||
          range->element[2]->element[0]->type != REDIS_REPLY_STRING ||
          range->element[2]->element[1]->type != REDIS_REPLY_INTEGER) {
        malformed = true;
        break;
      }
      const long long start = range->element[0]->integer;
      const long long end = range->element[1]->integer;
      const redisReply* master = range->element[2];
      std::string host(master->element[0]->str, master->element[0]->len);
      // Redis leaves the host empty (or "?") when the node does not know its own address:
      // it is the node we asked.
      if (host.empty() || host == "?") host = pool->endpoint().host;
      const long long port = master->element[1]->integer;
      if (start < 0 || end >= kClusterSlots || start > end || port <= 0 || port > 65535) {
        malformed = true;
        break;
      }
      const bool v6 = host.find(':') != std::string::npos;
      ConnectionPool* owner = PoolFor(absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", port));
      if (owner == nullptr) {
        malformed = true;
        break;
      }
      for (long long slot = start; slot <= end; ++slot) map[static_cast<std::size_t>(slot)] = owner;
    }
    if (malformed) {
      last = absl::InternalError(absl::StrCat("malformed CLUSTER SLOTS from ", node));
      continue;
    }
    std::unique_lock<std::shared_mutex> lock(slots_mu_);
    slots_ = map;
    return absl::OkStatus();
  }
  return last;
}

std::string Router::OwnerOf(int slot) {
  if (!cluster_) return Primary();
  std::shared_lock<std::shared_mutex> lock(slots_mu_);
  const ConnectionPool* pool = slots_[static_cast<std::size_t>(slot)];
  if (pool == nullptr) return "";
  return absl::StrCat(pool->endpoint().host, ":", pool->endpoint().port);
}

std::vector<ConnectionPool*> Router::Masters() {
  if (!cluster_) return {seed_.load()};
  std::shared_lock<std::shared_mutex> lock(slots_mu_);
  std::vector<ConnectionPool*> masters;
  for (ConnectionPool* pool : slots_) {
    if (pool != nullptr && std::find(masters.begin(), masters.end(), pool) == masters.end()) {
      masters.push_back(pool);
    }
  }
  return masters;
}

absl::StatusOr<std::vector<ReplyPtr>> Router::Execute(std::string_view key,
                                                      const std::vector<Command>& commands) {
  if (watch_ != nullptr) return ExecuteOnPrimary(commands);
  if (!cluster_) return seed_.load()->Execute(commands);

  const int slot = KeySlot(key);
  ConnectionPool* pool = nullptr;
  {
    std::shared_lock<std::shared_mutex> lock(slots_mu_);
    pool = slots_[static_cast<std::size_t>(slot)];
  }
  if (pool == nullptr) {  // a slot nobody owned at the last refresh: look again
    if (absl::Status s = RefreshSlots(seed_.load()); !s.ok()) return s;
    std::shared_lock<std::shared_mutex> lock(slots_mu_);
    pool = slots_[static_cast<std::size_t>(slot)];
  }
  if (pool == nullptr) {
    return absl::UnavailableError(absl::StrCat(name_, ": no master serves slot ", slot));
  }

  bool asking = false;
  std::vector<Command> with_asking;
  const absl::Time give_up = absl::Now() + seed_endpoint_.command_timeout;
  absl::Duration backoff = absl::Milliseconds(5);
  for (int redirects = 0; redirects <= kMaxRedirects;) {
    const std::vector<Command>* request = &commands;
    if (asking) {
      with_asking.clear();
      with_asking.push_back(Command{"ASKING"});
      with_asking.insert(with_asking.end(), commands.begin(), commands.end());
      request = &with_asking;
    }
    absl::StatusOr<std::vector<ReplyPtr>> replies = pool->Execute(*request);
    if (!replies.ok()) return replies.status();
    if (asking) {
      const redisReply& ok = *replies->front();
      if (ok.type == REDIS_REPLY_ERROR) {
        return ErrorReplyStatus(pool->endpoint().Name(), "ASKING",
                                std::string_view(ok.str, ok.len));
      }
      replies->erase(replies->begin());
    }
    // A redirected command did not run. Retrying is safe only if none of the request ran, so
    // all replies must be redirections (they are, for the single-slot requests the store
    // sends, unless the slot moved between two of its commands).
    std::optional<Redirect> redirect;
    std::size_t redirected = 0;
    for (const ReplyPtr& reply : *replies) {
      if (std::optional<Redirect> r = ParseRedirect(*reply); r.has_value()) {
        if (!redirect.has_value()) redirect = std::move(r);
        ++redirected;
      }
    }
    if (!redirect.has_value()) {
      // TRYAGAIN: a multi-key request on a slot in the middle of a migration, with its keys
      // split between the two nodes. It did not run; the migration will end shortly, so wait
      // a little (up to the command timeout) and ask again.
      const bool all_try_again =
          std::all_of(replies->begin(), replies->end(), [](const ReplyPtr& reply) {
            return reply->type == REDIS_REPLY_ERROR &&
                   absl::StartsWith(absl::string_view(reply->str, reply->len), "TRYAGAIN");
          });
      if (!all_try_again || absl::Now() + backoff > give_up) return replies;
      absl::SleepFor(backoff);
      backoff = std::min(2 * backoff, absl::Milliseconds(100));
      continue;
    }
    ++redirects;
    if (redirected != replies->size()) {
      return absl::UnavailableError(absl::StrCat(
          name_, ": slot ", slot, " moved in the middle of a request; part of it ran"));
    }
    ConnectionPool* target = PoolFor(redirect->address);
    if (target == nullptr) {
      return absl::InternalError(
          absl::StrCat(name_, ": bad redirection to '", redirect->address, "'"));
    }
    if (redirect->ask) {
      asking = true;  // only this request goes to the importing node; the map stays
    } else {
      asking = false;
      // The slot has a new owner: use it at once, and re-read the whole map (a resharding
      // rarely moves just one slot).
      {
        std::unique_lock<std::shared_mutex> lock(slots_mu_);
        slots_[static_cast<std::size_t>(redirect->slot)] = target;
      }
      RefreshSlots(target).IgnoreError();  // the redirection alone is enough to go on
      std::shared_lock<std::shared_mutex> lock(slots_mu_);
      if (slots_[static_cast<std::size_t>(slot)] != nullptr) {
        target = slots_[static_cast<std::size_t>(slot)];
      }
    }
    pool = target;
  }
  return absl::UnavailableError(
      absl::StrCat(name_, ": slot ", slot, " redirected more than ", kMaxRedirects, " times"));
}

absl::StatusOr<ReplyPtr> Router::Execute(std::string_view key, const Command& command) {
  absl::StatusOr<std::vector<ReplyPtr>> replies = Execute(key, std::vector<Command>{command});
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

ConnectionPool::Counters Router::counters() {
  ConnectionPool::Counters total;
  std::lock_guard<std::mutex> lock(pools_mu_);
  for (auto& [address, pool] : pools_) {
    const ConnectionPool::Counters c = pool->counters();
    total.requests += c.requests;
    total.round_trips += c.round_trips;
  }
  return total;
}

}  // namespace admission::redis_internal
