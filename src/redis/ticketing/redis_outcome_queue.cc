// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The Redis OutcomeQueue: a Stream with a consumer group plus a few sorted sets, all under the
// queue's hash tag, each call one run of lua/ticketing/queue.lua.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "redis/client/reply_reader.h"
#include "redis/ticketing/functions.h"
#include "redis/ticketing/redis_ticketing_internal.h"
#include "ticketing/ticketing_internal.h"

namespace admission::redis_internal {
namespace {

using internal::DurationToMicros;
using internal::kMaxExactMicros;
using internal::MicrosToTime;
using internal::TimeToMicros;

absl::Time NotBefore(int64_t us) { return us == 0 ? absl::InfinitePast() : MicrosToTime(us); }

class RedisOutcomeQueue final : public OutcomeQueue {
 public:
  explicit RedisOutcomeQueue(std::shared_ptr<TicketingContext> c) : c_(std::move(c)) {
    const std::string base = absl::StrCat(c_->prefix, ":q:{", c_->options.queue_name, "}:");
    for (const char* suffix : {"s", "e", "d", "l", "x", "c", "n"}) keys_.push_back(base + suffix);
  }

 private:
  absl::StatusOr<bool> DoPublish(const OutcomeMessage& message) override {
    absl::StatusOr<ReplyPtr> reply =
        Run({"publish", Now(), message.id, message.type, message.payload,
             absl::StrCat(TimeToMicros(message.not_before)), DedupeWindow()});
    if (!reply.ok()) return reply.status();
    ReplyReader r(reply->get(), Context());
    const bool queued = r.IntIn("queued", 0, 1) == 1;
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return queued;
  }

  absl::StatusOr<std::vector<Delivery>> DoClaim(std::string_view consumer, int64_t max_messages,
                                                absl::Duration lease) override {
    absl::StatusOr<ReplyPtr> reply =
        Run({"claim", Now(), std::string(consumer), absl::StrCat(max_messages),
             absl::StrCat(DurationToMicros(lease))});
    if (!reply.ok()) return reply.status();
    std::vector<Delivery> out;
    ReplyReader r(reply->get(), Context());
    while (r.ok() && r.remaining() > 0) {
      Delivery d;
      d.message.id = std::string(r.String("id"));
      d.message.type = std::string(r.String("type"));
      d.message.payload = std::string(r.String("payload"));
      d.message.not_before = NotBefore(r.IntIn("not_before", 0, kMaxExactMicros));
      d.published_at = MicrosToTime(r.IntIn("published", 0, kMaxExactMicros));
      d.attempts = r.IntIn("attempts", 1, kMaxExactMicros);
      d.last_error = std::string(r.String("last_error"));
      d.lease_expires_at = MicrosToTime(r.IntIn("lease", 0, kMaxExactMicros));
      out.push_back(std::move(d));
    }
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return out;
  }

  absl::Status DoAck(std::string_view message_id) override {
    return Done(Run({"ack", Now(), std::string(message_id), DedupeWindow()}));
  }

  absl::Status DoRetry(std::string_view message_id, int64_t attempts, absl::Time not_before,
                       std::string_view error) override {
    return Done(Run({"retry", Now(), std::string(message_id), absl::StrCat(attempts),
                     absl::StrCat(TimeToMicros(not_before)), std::string(error)}));
  }

  absl::Status DoPark(std::string_view message_id, int64_t attempts,
                      std::string_view error) override {
    return Done(
        Run({"park", Now(), std::string(message_id), absl::StrCat(attempts), std::string(error)}));
  }

  absl::StatusOr<std::vector<DeadLetter>> DoListDeadLetters(int64_t max) override {
    absl::StatusOr<ReplyPtr> reply = Run({"list_dead", Now(), absl::StrCat(max)});
    if (!reply.ok()) return reply.status();
    std::vector<DeadLetter> out;
    ReplyReader r(reply->get(), Context());
    while (r.ok() && r.remaining() > 0) {
      DeadLetter d;
      d.message.id = std::string(r.String("id"));
      d.message.type = std::string(r.String("type"));
      d.message.payload = std::string(r.String("payload"));
      d.message.not_before = NotBefore(r.IntIn("not_before", 0, kMaxExactMicros));
      d.attempts = r.IntIn("attempts", 0, kMaxExactMicros);
      d.error = std::string(r.String("error"));
      d.published_at = MicrosToTime(r.IntIn("published", 0, kMaxExactMicros));
      d.parked_at = MicrosToTime(r.IntIn("parked", 0, kMaxExactMicros));
      out.push_back(std::move(d));
    }
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return out;
  }

  absl::Status DoReplayDeadLetter(std::string_view message_id) override {
    return Done(Run({"replay", Now(), std::string(message_id)}));
  }

  absl::StatusOr<QueueStats> DoStats() override {
    absl::StatusOr<ReplyPtr> reply = Run({"stats", Now()});
    if (!reply.ok()) return reply.status();
    ReplyReader r(reply->get(), Context());
    QueueStats s;
    for (int64_t* field : {&s.ready, &s.delayed, &s.in_flight, &s.dead, &s.published, &s.duplicates,
                           &s.completed, &s.retried, &s.parked, &s.redelivered}) {
      *field = r.IntIn("count", 0, kMaxExactMicros);
    }
    if (absl::Status st = r.Finish(); !st.ok()) return st;
    return s;
  }

  std::string Now() const { return absl::StrCat(TimeToMicros(c_->clock->Now())); }
  std::string DedupeWindow() const {
    return absl::StrCat(DurationToMicros(c_->options.queue_dedupe_window));
  }
  std::string Context() const { return absl::StrCat(c_->runner->router().name(), " (queue)"); }

  absl::StatusOr<ReplyPtr> Run(const std::vector<std::string>& args) {
    // An outcome published (a payment's) and its application acknowledged must survive a
    // failover: WAIT for the replicas (RedisClientOptions::durable_replicas).
    const bool durable = !args.empty() && (args.front() == "publish" || args.front() == "ack");
    return c_->runner->Run(GetTicketingFunction(TicketingFunction::kQueue), keys_, args,
                           durable ? Durability::kReplicated : Durability::kPrimary);
  }

  // Operations that answer {1}.
  absl::Status Done(absl::StatusOr<ReplyPtr> reply) {
    if (!reply.ok()) return reply.status();
    ReplyReader r(reply->get(), Context());
    r.IntIn("done", 1, 1);
    return r.Finish();
  }

  const std::shared_ptr<TicketingContext> c_;
  std::vector<std::string> keys_;
};

}  // namespace

std::unique_ptr<OutcomeQueue> NewRedisOutcomeQueue(std::shared_ptr<TicketingContext> c) {
  return std::make_unique<RedisOutcomeQueue>(std::move(c));
}

}  // namespace admission::redis_internal
