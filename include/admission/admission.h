// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Everything an embedder of the in-memory stores needs, in one include: the waiting room
// (admission/room/) and the ticket sale (admission/ticketing/). The Redis stores are in
// admission/redis/ (target admission::redis).
#ifndef ADMISSION_ADMISSION_H_
#define ADMISSION_ADMISSION_H_

#include "admission/clock.h"
#include "admission/ids.h"
#include "admission/room/event_secret.h"
#include "admission/room/join_refusal.h"
#include "admission/room/memory_store.h"
#include "admission/room/policy.h"
#include "admission/room/store.h"
#include "admission/room/waiting_room.h"
#include "admission/ticketing/idempotency.h"
#include "admission/ticketing/inventory.h"
#include "admission/ticketing/outcome_queue.h"
#include "admission/ticketing/ticketing.h"
#include "admission/ticketing/worker.h"
#include "admission/version.h"

#endif  // ADMISSION_ADMISSION_H_
