// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The last hour of each busy event, for the operator page's charts: a fixed ring of samples per
// event (one every --series_interval_ms, 360 of them by default: an hour at 10 s), kept in this
// process's memory. /metrics answers "now"; a Prometheus server keeps history for whoever runs
// one. This is the history for whoever does not: the operator opens the page during a sale and
// sees the last hour at once, with no other system to set up.
//
// Each sample is read from the library (WaitingRoom::Stats and GetPolicy; the inventory's seat
// counts when the event has one), so on a shared store every gateway draws the same lines. At
// most `max_events` events are tracked: the busiest at each sample (most people waiting,
// pre-queued and active; ties by id), as /metrics keeps its per-event series, so junk events
// cannot push a sale out. An event that drops out of the busiest loses its ring.
//
// Time is the injected Clock's: SampleIfDue() samples when an interval has passed on it, so a
// test on a SimulatedClock checks the rings exactly; Start() runs it on a thread for the
// gateway.
#ifndef ADMISSION_EXAMPLES_GATEWAY_EVENT_SERIES_H_
#define ADMISSION_EXAMPLES_GATEWAY_EVENT_SERIES_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/room/waiting_room.h"
#include "admission/ticketing/inventory.h"

namespace admission::gateway {

struct SeriesSample {
  absl::Time at;
  int64_t waiting = 0;    // in line with a place
  int64_t prequeued = 0;  // before the opening
  int64_t active = 0;
  int64_t capacity = 0;  // the policy's active_capacity
  // Admissions per second over the interval since the previous sample (the library's measured
  // rate for an event's first sample), and what the policy allows.
  double admitted_per_sec = 0;
  double policy_rate = 0;
  bool paused = false;
  // About how long the back of the line waits: the people in line over the measured rate (the
  // policy's while nothing was measured yet). Unknown (nullopt) while paused or at a zero rate.
  // The page a user sees refines this with tiers and departures; this is the operator's gauge.
  std::optional<double> eta_back_sec;
  // Counted since the previous sample (0 for an event's first).
  int64_t ghosts_removed = 0;  // heartbeat TTL ran out while waiting (expired_total)
  int64_t joins_refused = 0;   // refused_total
  // The sale, when the event has an inventory.
  bool has_sale = false;
  int64_t seats_available = 0;
  int64_t seats_held = 0;
  int64_t seats_sold = 0;
};

struct EventSeriesOptions {
  absl::Duration interval = absl::Seconds(10);
  int64_t samples = 360;  // per event
  int64_t max_events = 20;
};

class EventSeries {
 public:
  // `inventory` may be null (no sale figures). Neither is owned; both outlive this.
  EventSeries(WaitingRoom& room, Inventory* inventory, Clock& clock, EventSeriesOptions options);
  ~EventSeries();  // Stop()s
  EventSeries(const EventSeries&) = delete;
  EventSeries& operator=(const EventSeries&) = delete;

  // Samples every tracked event when `interval` has passed on the clock since the last sample
  // (or none was taken yet). Returns whether it sampled; a failing store call is an error (the
  // events read before it keep their samples).
  absl::StatusOr<bool> SampleIfDue();
  // Samples now, whatever the time since the last one.
  absl::Status Sample();

  // The samples of `event_id`, oldest first; nullopt when the event is not tracked.
  std::optional<std::vector<SeriesSample>> Get(std::string_view event_id) const;
  // The events tracked now, sorted by id.
  std::vector<std::string> Tracked() const;
  const EventSeriesOptions& options() const { return options_; }

  // A thread that calls SampleIfDue() about every interval of real time (a quarter of it, at
  // most a second, so a sample is never late by much). Stop is idempotent.
  void Start();
  void Stop();

 private:
  struct Ring {
    std::deque<SeriesSample> samples;
    // The counters at the previous sample, for the deltas.
    int64_t admitted_total = 0;
    int64_t expired_total = 0;
    int64_t refused_total = 0;
  };

  void Loop();

  WaitingRoom& room_;
  Inventory* const inventory_;
  Clock& clock_;
  const EventSeriesOptions options_;

  // One sampler at a time (the thread, or a test); readers take mu_ only.
  std::mutex sample_mu_;
  mutable std::mutex mu_;
  std::map<std::string, Ring, std::less<>> rings_;  // guarded by mu_
  std::optional<absl::Time> last_sample_;           // guarded by mu_

  std::mutex thread_mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by thread_mu_
  std::thread thread_;
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_EVENT_SERIES_H_
