// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/client/sentinel.h"

#include <hiredis.h>
#include <poll.h>

#include <cerrno>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace admission::redis_internal {
namespace {

std::string_view Text(const redisReply* reply) { return std::string_view(reply->str, reply->len); }

// Refusals that asking another sentinel will not cure: every sentinel (and the primary) takes
// the same credentials.
bool Fatal(const absl::Status& status) {
  return absl::IsUnauthenticated(status) || absl::IsPermissionDenied(status) ||
         absl::IsFailedPrecondition(status);
}

// What `primary` says it is (ROLE's first element): "master", "slave", ...
absl::StatusOr<std::string> RoleOf(const Endpoint& primary) {
  absl::StatusOr<std::unique_ptr<Connection>> connection = Connection::Open(primary);
  if (!connection.ok()) return connection.status();
  absl::StatusOr<ReplyPtr> role = (*connection)->Execute(Command{"ROLE"});
  if (!role.ok()) return role.status();
  const redisReply* r = role->get();
  if (r->type == REDIS_REPLY_ERROR) return ErrorReplyStatus(primary.Name(), "ROLE", Text(r));
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
      (r->element[0]->type != REDIS_REPLY_STRING && r->element[0]->type != REDIS_REPLY_STATUS)) {
    return absl::InternalError(absl::StrCat("malformed ROLE reply from ", primary.Name()));
  }
  return std::string(Text(r->element[0]));
}

// A connection to `sentinel` subscribed to +switch-master, or nullptr. (Through Connection,
// so that its writes are SIGPIPE-safe; afterwards it is only read.)
std::unique_ptr<Connection> SubscribeToSwitches(const Endpoint& sentinel) {
  absl::StatusOr<std::unique_ptr<Connection>> c = Connection::Open(sentinel);
  if (!c.ok()) return nullptr;  // unreachable, or refused the credentials
  absl::StatusOr<ReplyPtr> subscribed = (*c)->Execute(Command{"SUBSCRIBE", "+switch-master"});
  if (!subscribed.ok() || (*subscribed)->type != REDIS_REPLY_ARRAY) return nullptr;
  return std::move(c).value();
}

}  // namespace

absl::StatusOr<Endpoint> DiscoverPrimary(const SentinelSettings& settings, const Endpoint& data) {
  std::vector<std::string> failures;
  int answered = 0;
  int unknown = 0;
  for (const Endpoint& sentinel : settings.sentinels) {
    const std::string name = absl::StrCat("sentinel ", sentinel.host, ":", sentinel.port);
    absl::StatusOr<std::unique_ptr<Connection>> connection = Connection::Open(sentinel);
    if (!connection.ok()) {
      if (Fatal(connection.status())) return connection.status();
      failures.push_back(std::string(connection.status().message()));
      continue;
    }
    absl::StatusOr<ReplyPtr> reply =
        (*connection)->Execute(Command{"SENTINEL", "get-master-addr-by-name", settings.master});
    if (!reply.ok()) {
      failures.push_back(std::string(reply.status().message()));
      continue;
    }
    const redisReply* r = reply->get();
    if (r->type == REDIS_REPLY_ERROR) {
      const absl::Status s = ErrorReplyStatus(name, "SENTINEL get-master-addr-by-name", Text(r));
      if (Fatal(s)) return s;
      failures.push_back(std::string(s.message()));
      continue;
    }
    ++answered;
    if (r->type == REDIS_REPLY_NIL) {
      ++unknown;
      failures.push_back(absl::StrCat(name, " does not know master '", settings.master, "'"));
      continue;
    }
    int port = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING ||
        !absl::SimpleAtoi(absl::string_view(r->element[1]->str, r->element[1]->len), &port) ||
        port < 1 || port > 65535) {
      failures.push_back(absl::StrCat("malformed reply from ", name));
      continue;
    }
    Endpoint primary = data;
    primary.host = std::string(Text(r->element[0]));
    primary.port = port;
    absl::StatusOr<std::string> role = RoleOf(primary);
    if (!role.ok()) {
      if (Fatal(role.status())) return role.status();
      failures.push_back(absl::StrCat(name, " named ", primary.host, ":", primary.port, ": ",
                                      role.status().message()));
      continue;
    }
    if (*role != "master") {
      // A stale answer in the middle of a failover: the old primary, demoted.
      failures.push_back(absl::StrCat(name, " named ", primary.host, ":", primary.port,
                                      ", which says ROLE ", *role));
      continue;
    }
    return primary;
  }
  const std::string why = absl::StrCat("no sentinel named a primary for master '", settings.master,
                                       "' (", absl::StrJoin(failures, "; "), ")");
  if (answered > 0 && unknown == answered) return absl::NotFoundError(why);
  return absl::UnavailableError(why);
}

SentinelWatch::SentinelWatch(SentinelSettings settings, Endpoint data, Endpoint current,
                             OnPrimary on_primary)
    : settings_(std::move(settings)),
      data_(std::move(data)),
      on_primary_(std::move(on_primary)),
      current_(std::move(current)),
      thread_([this] { Loop(); }),
      listener_([this] { Listen(); }) {}

SentinelWatch::~SentinelWatch() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  listener_.join();
}

int SentinelWatch::switches_heard() const {
  std::lock_guard<std::mutex> lock(mu_);
  return switches_heard_;
}

bool SentinelWatch::PauseUnlessStopping(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  return wake_.wait_for(lock, absl::ToChronoMilliseconds(d), [this] { return stop_; });
}

void SentinelWatch::Listen() {
  constexpr int kPollMs = 200;  // how often the thread looks at stop_
  bool subscribed_before = false;
  std::size_t next = 0;
  while (!PauseUnlessStopping(absl::ZeroDuration())) {
    const Endpoint& sentinel = settings_.sentinels[next++ % settings_.sentinels.size()];
    std::unique_ptr<Connection> subscription = SubscribeToSwitches(sentinel);
    if (subscription == nullptr) {
      // Unreachable: try the next one, a little later once all were tried.
      if (next % settings_.sentinels.size() == 0 && PauseUnlessStopping(absl::Milliseconds(500))) {
        return;
      }
      continue;
    }
    // While unsubscribed a switch may have gone unheard: check once.
    if (subscribed_before) Suspect();
    subscribed_before = true;
    redisContext* c = subscription->context();
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
      }
      void* raw = nullptr;
      if (redisGetReplyFromReader(c, &raw) != REDIS_OK) break;
      if (raw == nullptr) {  // nothing buffered: wait for the socket
        pollfd p = {c->fd, POLLIN, 0};
        const int ready = poll(&p, 1, kPollMs);
        if (ready < 0 && errno != EINTR) break;
        if (ready > 0 && redisBufferRead(c) != REDIS_OK) break;  // closed: the next one
        continue;
      }
      ReplyPtr message(static_cast<redisReply*>(raw));
      // ["message", "+switch-master", "<master> <old ip> <old port> <new ip> <new port>"]
      const redisReply* m = message.get();
      if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
          m->element[2]->type == REDIS_REPLY_STRING) {
        const std::string_view text = Text(m->element[2]);
        if (text.substr(0, text.find(' ')) == settings_.master) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            ++switches_heard_;
          }
          Suspect();
        }
      }
    }
  }
}

void SentinelWatch::Suspect() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (suspect_) return;
    suspect_ = true;
  }
  wake_.notify_all();
}

int SentinelWatch::discoveries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return discoveries_;
}

void SentinelWatch::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return suspect_ || stop_; });
    if (stop_) return;
    ++discoveries_;
    lock.unlock();
    absl::StatusOr<Endpoint> found = DiscoverPrimary(settings_, data_);
    if (found.ok() && (found->host != current_.host || found->port != current_.port)) {
      current_ = *found;
      on_primary_(current_);
    }
    lock.lock();
    if (found.ok()) {
      // Confirmed (the same primary after a passing failure, or a new one). A call that failed
      // on the old one while this ran may have set suspect_ again: cleared with it.
      suspect_ = false;
      continue;
    }
    // Nobody named a working primary yet (a failover under way): ask again shortly.
    wake_.wait_for(lock, absl::ToChronoMilliseconds(kRetryInterval), [this] { return stop_; });
  }
}

}  // namespace admission::redis_internal
