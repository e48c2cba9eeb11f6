// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The Redis IdempotencyStore: one HASH per (scope, key), updated by lua/ticketing/idempotency.lua.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/random.h"
#include "redis/client/reply_reader.h"
#include "redis/ticketing/functions.h"
#include "redis/ticketing/redis_ticketing_internal.h"
#include "ticketing/ticketing_internal.h"

namespace admission::redis_internal {
namespace {

using internal::DurationToMicros;
using internal::TimeToMicros;

// Redis TTLs are garbage collection only: the logical expiry in the entry decides, and the key
// outlives it by this much.
constexpr int64_t kGcSlackMs = 1000;

// Keys may hold any printable character; '{' and '}' would change the hash tag, so they are
// %-escaped, and so is '%' to keep the mapping one-to-one.
std::string EscapeKey(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    switch (c) {
      case '%':
        out += "%25";
        break;
      case '{':
        out += "%7B";
        break;
      case '}':
        out += "%7D";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

class RedisIdempotencyStore final : public IdempotencyStore {
 public:
  explicit RedisIdempotencyStore(std::shared_ptr<TicketingContext> c)
      : IdempotencyStore(c->options.max_idempotent_response_bytes), c_(std::move(c)) {}

 private:
  absl::StatusOr<IdempotencyBegin> DoBegin(std::string_view scope, std::string_view key,
                                           std::string_view fingerprint) override {
    const std::string lease = internal::RandomHex(16);
    absl::StatusOr<ReplyPtr> reply =
        Run(scope, key,
            {"begin", Now(), std::string(fingerprint), lease,
             absl::StrCat(DurationToMicros(c_->options.idempotency_lease)),
             GcMillis(c_->options.idempotency_lease)});
    if (!reply.ok()) return reply.status();
    ReplyReader r(reply->get(), Context());
    const std::string_view outcome = r.String("outcome");
    const std::string_view value = r.String("value");
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    IdempotencyBegin out;
    if (outcome == "started") {
      out.outcome = IdempotencyOutcome::kStarted;
      out.lease = std::string(value);
    } else if (outcome == "replay") {
      out.outcome = IdempotencyOutcome::kReplay;
      out.response = std::string(value);
    } else if (outcome == "mismatch") {
      out.outcome = IdempotencyOutcome::kMismatch;
    } else if (outcome == "in_progress") {
      out.outcome = IdempotencyOutcome::kInProgress;
    } else {
      return absl::InternalError(absl::StrCat("malformed reply from ", Context(), ": outcome"));
    }
    return out;
  }

  absl::Status DoFinish(std::string_view scope, std::string_view key, std::string_view lease,
                        std::string_view response) override {
    return Settle(Run(scope, key,
                      {"finish", Now(), std::string(lease), std::string(response),
                       absl::StrCat(DurationToMicros(c_->options.idempotency_ttl)),
                       GcMillis(c_->options.idempotency_ttl)}));
  }

  absl::Status DoAbandon(std::string_view scope, std::string_view key,
                         std::string_view lease) override {
    return Settle(Run(scope, key, {"abandon", Now(), std::string(lease)}));
  }

  static std::string GcMillis(absl::Duration d) {
    return absl::StrCat(absl::ToInt64Milliseconds(d) + kGcSlackMs);
  }
  std::string Now() const { return absl::StrCat(TimeToMicros(c_->clock->Now())); }
  std::string Context() const {
    return absl::StrCat(c_->runner->router().name(), " (idempotency)");
  }

  absl::StatusOr<ReplyPtr> Run(std::string_view scope, std::string_view key,
                               const std::vector<std::string>& args) {
    const std::string redis_key =
        absl::StrCat(c_->prefix, ":idem:{", AbslView(scope), "|", EscapeKey(key), "}");
    return c_->runner->Run(GetTicketingFunction(TicketingFunction::kIdempotency), {redis_key},
                           args);
  }

  // Finish and Abandon answer {'ok'} or {'lost'}.
  absl::Status Settle(absl::StatusOr<ReplyPtr> reply) {
    if (!reply.ok()) return reply.status();
    ReplyReader r(reply->get(), Context());
    const std::string_view answer = r.String("answer");
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    if (answer == "ok") return absl::OkStatus();
    if (answer == "lost") {
      return absl::FailedPreconditionError(
          "the idempotency key is no longer held by this attempt (its lease passed)");
    }
    return absl::InternalError(absl::StrCat("malformed reply from ", Context(), ": answer"));
  }

  const std::shared_ptr<TicketingContext> c_;
};

}  // namespace

std::unique_ptr<IdempotencyStore> NewRedisIdempotencyStore(std::shared_ptr<TicketingContext> c) {
  return std::make_unique<RedisIdempotencyStore>(std::move(c));
}

}  // namespace admission::redis_internal
