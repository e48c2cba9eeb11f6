// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A durable queue of outcome messages (a hold expired, a payment was approved or failed, ...)
// for workers (worker.h) to apply at their own pace, with at-least-once delivery, retries and a
// dead-letter list. ("Event" in the ticket sale means a sale event, a concert; what this queue
// carries is a message.)
//
// A message has an id chosen by its publisher: publishing an id that is already queued, in
// flight, parked or recently completed (within TicketingOptions::queue_dedupe_window) changes
// nothing, so a publisher that retries after a timeout, or two processes that notice the same
// thing (an expired hold), publish it once. A message may carry a not-before time; it is not
// delivered earlier (a payment outcome that arrives later, a retry's backoff).
//
// Life of a message:
//
//   Publish --> ready --Claim--> in flight --Ack--> completed (id remembered for dedupe)
//     |  (not_before)  ^  ^          |  |
//     v                |  |          |  \--Park--> dead letter --ReplayDeadLetter--> ready
//   delayed -----------/  |          |
//                         \--Retry---/ (delayed until the given time)
//
// Claim leases each message to one consumer for a while. A consumer that crashes (never Acks)
// loses the lease, and the message is delivered again to whoever claims next, with `attempts`
// counting every delivery. So a message may be delivered more than once: handlers must be
// idempotent (the inventory's transitions are). Retry and Park take the delivery's attempt
// number and do nothing (FailedPrecondition) if the message was delivered again since; Ack
// completes the message whichever delivery it names, because a handler that succeeded has done
// the work.
//
// One OutcomeQueue object is one named queue (TicketingOptions::queue_name); all processes that
// use the same name on the same store share it. Redis (NewRedisTicketing): a Stream with a
// consumer group (XADD, XREADGROUP, XCLAIM of expired leases, XACK) plus a sorted set of
// delayed messages and a dead-letter stream, all in one hash slot, each call one Lua script.
// Memory (NewMemoryTicketing): the same state machine under one lock, lost with the process.
// Time comes from the store's Clock (leases, not-before times, dedupe window). The public
// calls check their input and pass only valid input on to the implementation (the private
// Do... calls), so both stores refuse the same things with the same messages.
#ifndef ADMISSION_TICKETING_OUTCOME_QUEUE_H_
#define ADMISSION_TICKETING_OUTCOME_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace admission {

// Queue names: 1..64 characters of [A-Za-z0-9_-].
inline constexpr std::size_t kMaxQueueNameLength = 64;
// Message ids: 1..200 characters of [A-Za-z0-9_.:@-] (room for "payment_approved:" and a
// reservation id).
inline constexpr std::size_t kMaxMessageIdLength = 200;
// Message types: 1..64 characters of [a-z0-9_].
inline constexpr std::size_t kMaxMessageTypeLength = 64;
// Payloads: up to 64 KiB, any bytes.
inline constexpr std::size_t kMaxMessagePayloadBytes = 64 * 1024;
// Consumer names: 1..64 characters of [A-Za-z0-9_.:@-].
inline constexpr std::size_t kMaxConsumerNameLength = 64;
// Error texts kept with a retried or parked message are cut to this many bytes.
inline constexpr std::size_t kMaxMessageErrorBytes = 1024;

absl::Status ValidateQueueName(std::string_view name);
absl::Status ValidateMessageId(std::string_view id);
absl::Status ValidateMessageType(std::string_view type);
absl::Status ValidateConsumerName(std::string_view consumer);

// What a publisher sends.
struct OutcomeMessage {
  std::string id;       // unique per logical message; a duplicate id is dropped
  std::string type;     // "hold_expired", "payment_approved", ... (the handler dispatches on it)
  std::string payload;  // opaque bytes
  // Not delivered before this instant (InfinitePast: at once).
  absl::Time not_before = absl::InfinitePast();
};

// What a consumer receives.
struct Delivery {
  OutcomeMessage message;
  // Deliveries of this message so far, this one included (1 on the first); a replayed dead
  // letter starts again at 1.
  int64_t attempts = 0;
  absl::Time published_at;
  // The previous attempt's error: "" on a first delivery, "lease expired" when the previous
  // delivery was never settled.
  std::string last_error;
  // The lease: another Claim may take the message again after this instant.
  absl::Time lease_expires_at;
};

// A parked message.
struct DeadLetter {
  OutcomeMessage message;
  int64_t attempts = 0;
  std::string error;  // why the last attempt failed
  absl::Time published_at;
  absl::Time parked_at;
};

struct QueueStats {
  int64_t ready = 0;      // due, waiting for a consumer
  int64_t delayed = 0;    // waiting for their not-before time (new messages and retries)
  int64_t in_flight = 0;  // claimed, not yet acked, retried or parked
  int64_t dead = 0;       // parked in the dead-letter list
  // Totals since the queue was created.
  int64_t published = 0;
  int64_t duplicates = 0;  // publishes dropped as duplicates
  int64_t completed = 0;
  int64_t retried = 0;
  int64_t parked = 0;
  int64_t redelivered = 0;  // deliveries after a lost lease
};

class OutcomeQueue {
 public:
  virtual ~OutcomeQueue() = default;
  OutcomeQueue(const OutcomeQueue&) = delete;
  OutcomeQueue& operator=(const OutcomeQueue&) = delete;

  // Queues the message. True when queued; false when it is a duplicate (see above) and nothing
  // changed. InvalidArgument for a malformed id or type, or an oversized payload.
  absl::StatusOr<bool> Publish(const OutcomeMessage& message);

  // Leases to `consumer`, for `lease`, up to `max_messages` messages that are due now:
  // messages whose not-before time has come (delayed ones move to ready first) and messages
  // whose previous lease ran out, oldest first. Empty when nothing is due. Each delivery's
  // attempts is one more than before. InvalidArgument for a malformed consumer name or a
  // lease that is not positive.
  absl::StatusOr<std::vector<Delivery>> Claim(std::string_view consumer, int64_t max_messages,
                                              absl::Duration lease);

  // Completes the message (whichever delivery). OK, and nothing changes, if it was completed
  // already; NotFound if the queue does not know the id (never published, or completed
  // longer ago than the dedupe window); FailedPrecondition if it is not in flight (it is
  // parked, or waiting for a retry).
  absl::Status Ack(std::string_view message_id);

  // Puts an in-flight message back, to be delivered again at `not_before` (a retry with
  // backoff), recording `error` (cut to kMaxMessageErrorBytes). FailedPrecondition if
  // `attempts` is not the message's current delivery (it was delivered again since) or it is
  // not in flight.
  absl::Status Retry(std::string_view message_id, int64_t attempts, absl::Time not_before,
                     std::string_view error);

  // Moves an in-flight message to the dead-letter list with `error` (cut to
  // kMaxMessageErrorBytes). FailedPrecondition as for Retry.
  absl::Status Park(std::string_view message_id, int64_t attempts, std::string_view error);

  // Up to `max` dead letters (at most 1,000 per call), oldest parked first.
  absl::StatusOr<std::vector<DeadLetter>> ListDeadLetters(int64_t max);

  // Moves a dead letter back to ready, its attempts starting again from zero. NotFound if no
  // dead letter has that id.
  absl::Status ReplayDeadLetter(std::string_view message_id);

  absl::StatusOr<QueueStats> Stats();

 protected:
  OutcomeQueue() = default;

 private:
  // The queue behind the calls above, with their contracts. Each is called only with input
  // the public call has checked: the message passes ValidateMessageId and ValidateMessageType
  // and its payload is at most kMaxMessagePayloadBytes; message ids pass ValidateMessageId,
  // consumer names ValidateConsumerName; the lease is positive; `max_messages` is in 1..2^53
  // and `max` in 1..1,000; errors are cut to kMaxMessageErrorBytes. Calls
  // the public front answers itself (a Claim or a listing of nothing) never get here.
  virtual absl::StatusOr<bool> DoPublish(const OutcomeMessage& message) = 0;
  virtual absl::StatusOr<std::vector<Delivery>> DoClaim(std::string_view consumer,
                                                        int64_t max_messages,
                                                        absl::Duration lease) = 0;
  virtual absl::Status DoAck(std::string_view message_id) = 0;
  virtual absl::Status DoRetry(std::string_view message_id, int64_t attempts, absl::Time not_before,
                               std::string_view error) = 0;
  virtual absl::Status DoPark(std::string_view message_id, int64_t attempts,
                              std::string_view error) = 0;
  virtual absl::StatusOr<std::vector<DeadLetter>> DoListDeadLetters(int64_t max) = 0;
  virtual absl::Status DoReplayDeadLetter(std::string_view message_id) = 0;
  virtual absl::StatusOr<QueueStats> DoStats() = 0;
};

}  // namespace admission

#endif  // ADMISSION_TICKETING_OUTCOME_QUEUE_H_
