// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/client/reply_arena.h"

#include <hiredis.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace admission::redis_internal {
namespace {

// One block of an arena; its bytes follow the header. The reply's root is the first object of
// the first block, so the root finds its arena, and the first block keeps the arena's
// bookkeeping.
struct Block {
  Block* next;             // the arena's next block
  std::size_t capacity;    // bytes after the header
  std::size_t used;        // of them
  Block* last;             // first block only: where allocation goes on
  std::size_t total;       // first block only: every block's capacity
  std::max_align_t bytes;  // (where they start, aligned for anything)
};
constexpr std::size_t kHeader = offsetof(Block, bytes);
// Every object is rounded to this, which keeps the next one aligned for a redisReply.
constexpr std::size_t kAlign = alignof(redisReply);

// The first block: big enough for a small reply without a second block, and below glibc's
// "large" requests (1 KiB), whose malloc sweeps the fast bins.
constexpr std::size_t kSmallestFirst = 1000 - kHeader;
// At most this for a first block sized by the last reply: below glibc's threshold for
// mmap, which would make every reply a system call or two.
constexpr std::size_t kLargestFirst = std::size_t{64} << 10;
// Later blocks double, up to this (or what one object needs).
constexpr std::size_t kLargestGrowth = std::size_t{1} << 20;

std::size_t RoundUp(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

char* Bytes(Block* block) { return reinterpret_cast<char*>(block) + kHeader; }

Block* NewBlock(std::size_t capacity) {
  Block* block = static_cast<Block*>(std::malloc(kHeader + capacity));
  if (block == nullptr) return nullptr;
  block->next = nullptr;
  block->capacity = capacity;
  block->used = 0;
  block->last = block;
  block->total = capacity;
  return block;
}

Block* ArenaOf(const redisReply* root) {
  return reinterpret_cast<Block*>(reinterpret_cast<char*>(const_cast<redisReply*>(root)) - kHeader);
}

// `bytes` more in the arena that starts at `first`; nullptr when out of memory.
void* Allocate(Block* first, std::size_t bytes) {
  bytes = RoundUp(bytes);
  Block* last = first->last;
  if (last->capacity - last->used < bytes) {
    Block* grown = NewBlock(std::max(bytes, std::min(last->capacity * 2, kLargestGrowth)));
    if (grown == nullptr) return nullptr;
    last->next = grown;
    first->last = grown;
    first->total += grown->capacity;
    last = grown;
  }
  void* at = Bytes(last) + last->used;
  last->used += bytes;
  return at;
}

// A new, zeroed object of `type` for `task`, linked into its parent array; nullptr when out
// of memory (hiredis then fails the read and frees the partial reply by its root).
redisReply* NewObject(const redisReadTask* task, int type) {
  redisReply* object = nullptr;
  if (task->parent == nullptr) {
    const ReplyArenaHint* hint = static_cast<const ReplyArenaHint*>(task->privdata);
    const std::size_t wanted = hint != nullptr ? hint->last_bytes : 0;
    Block* first = NewBlock(std::max(kSmallestFirst, std::min(wanted, kLargestFirst)));
    if (first == nullptr) return nullptr;
    object = static_cast<redisReply*>(Allocate(first, sizeof(redisReply)));
  } else {
    const redisReadTask* root = task->parent;
    while (root->parent != nullptr) root = root->parent;
    object = static_cast<redisReply*>(
        Allocate(ArenaOf(static_cast<const redisReply*>(root->obj)), sizeof(redisReply)));
    if (object == nullptr) return nullptr;
  }
  std::memset(object, 0, sizeof(redisReply));
  object->type = type;
  if (task->parent != nullptr) {
    redisReply* parent = static_cast<redisReply*>(task->parent->obj);
    parent->element[task->idx] = object;
  }
  return object;
}

// The arena of `task`'s reply; `object` is the one just made for `task`.
Block* RootArena(const redisReply* object, const redisReadTask* task) {
  if (task->parent == nullptr) return ArenaOf(object);
  const redisReadTask* root = task->parent;
  while (root->parent != nullptr) root = root->parent;
  return ArenaOf(static_cast<const redisReply*>(root->obj));
}

// After a failed allocation for `object`: a root is not hiredis' yet, so its arena is freed
// here (a child's goes with its root, which hiredis frees).
void* Fail(redisReply* object, const redisReadTask* task) {
  if (task->parent == nullptr) FreeArenaReply(object);
  return nullptr;
}

void* CreateString(const redisReadTask* task, char* str, std::size_t len) {
  redisReply* object = NewObject(task, task->type);
  if (object == nullptr) return nullptr;
  char* copy = static_cast<char*>(Allocate(RootArena(object, task), len + 1));
  if (copy == nullptr) return Fail(object, task);
  std::memcpy(copy, str, len);
  copy[len] = '\0';
  object->str = copy;
  object->len = len;
  return object;
}

void* CreateArray(const redisReadTask* task, int elements) {
  redisReply* object = NewObject(task, REDIS_REPLY_ARRAY);
  if (object == nullptr) return nullptr;
  if (elements > 0) {
    const std::size_t bytes = static_cast<std::size_t>(elements) * sizeof(redisReply*);
    void* slots = Allocate(RootArena(object, task), bytes);
    if (slots == nullptr) return Fail(object, task);
    std::memset(slots, 0, bytes);
    object->element = static_cast<redisReply**>(slots);
  }
  object->elements = static_cast<std::size_t>(std::max(elements, 0));
  return object;
}

void* CreateInteger(const redisReadTask* task, long long value) {
  redisReply* object = NewObject(task, REDIS_REPLY_INTEGER);
  if (object != nullptr) object->integer = value;
  return object;
}

void* CreateNil(const redisReadTask* task) { return NewObject(task, REDIS_REPLY_NIL); }

void FreeObject(void* reply) { FreeArenaReply(static_cast<redisReply*>(reply)); }

redisReplyObjectFunctions kArenaFunctions = {CreateString, CreateArray, CreateInteger, CreateNil,
                                             FreeObject};

}  // namespace

void UseReplyArena(redisReader* reader, ReplyArenaHint* hint) {
  reader->fn = &kArenaFunctions;
  reader->privdata = hint;
}

void NoteReplyArena(const redisReply* reply, ReplyArenaHint* hint) {
  if (reply != nullptr) hint->last_bytes = ArenaOf(reply)->total;
}

void FreeArenaReply(redisReply* reply) {
  if (reply == nullptr) return;
  Block* block = ArenaOf(reply);
  while (block != nullptr) {
    Block* next = block->next;
    std::free(block);
    block = next;
  }
}

}  // namespace admission::redis_internal
