// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Builds each reply hiredis reads in an arena of its own: a few blocks (usually one), freed
// together, instead of hiredis' heap allocation per element and another per string, freed one
// by one. A batch of Status or Join calls comes back as an element per caller (its packed
// ticket) and a few shared ones, so this saves each caller a couple of mallocs and frees, and
// every other call through the pool its own (about 5-10% of the client's CPU per Status call
// at 64 callers). The objects are the ordinary redisReply structs, read as before.
//
// Every Connection reads through these functions (UseReplyArena, in Connection::Open), so a
// ReplyPtr, whose deleter is FreeArenaReply, must only hold a reply read by a Connection.
#ifndef ADMISSION_SRC_REDIS_CLIENT_REPLY_ARENA_H_
#define ADMISSION_SRC_REDIS_CLIENT_REPLY_ARENA_H_

#include <cstddef>

struct redisReader;
struct redisReply;

namespace admission::redis_internal {

// What a reader's arena remembers between replies: the size of the last reply's arena, so
// that the next reply usually fits in its first block (one malloc per reply).
struct ReplyArenaHint {
  std::size_t last_bytes = 0;
};

// Makes `reader` build its replies in arenas, sized with `hint` (which must outlive the
// reader's use).
void UseReplyArena(redisReader* reader, ReplyArenaHint* hint);

// After a reply was read whole: records its arena's size in the hint.
void NoteReplyArena(const redisReply* reply, ReplyArenaHint* hint);

// Frees a reply read through UseReplyArena, with everything in it (nullptr: nothing).
void FreeArenaReply(redisReply* reply);

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CLIENT_REPLY_ARENA_H_
