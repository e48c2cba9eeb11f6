// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Everything an embedder needs, in one include.
#ifndef ADMISSION_ADMISSION_H_
#define ADMISSION_ADMISSION_H_

#include "admission/clock.h"
#include "admission/event_secret.h"
#include "admission/ids.h"
#include "admission/join_refusal.h"
#include "admission/memory_store.h"
#include "admission/policy.h"
#include "admission/store.h"
#include "admission/version.h"
#include "admission/waiting_room.h"

#endif  // ADMISSION_ADMISSION_H_
