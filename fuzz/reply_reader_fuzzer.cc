// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Replies from Redis (src/redis/client/reply_reader.h). The bytes go through hiredis's own
// reader (as the connection's socket data do) and every reply it makes is read field by field
// by ReplyReader. The first input byte says how many fields to read (0..15) and the next ones
// which getter reads each (String, Int, OptionalInt, Double, OptionalDouble, IntIn); the rest is
// the byte stream from the server, fed in two pieces.
#include <hiredis.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "redis/client/reply_reader.h"

namespace {

using admission::redis_internal::ReplyReader;

void ReadReply(const redisReply* reply, const std::vector<uint8_t>& ops) {
  ReplyReader r(reply, "fuzz");
  for (uint8_t op : ops) {
    switch (op % 6) {
      case 0:
        (void)r.String("s");
        break;
      case 1:
        (void)r.Int("i");
        break;
      case 2:
        (void)r.OptionalInt("oi");
        break;
      case 3:
        (void)r.Double("d");
        break;
      case 4:
        (void)r.OptionalDouble("od");
        break;
      default:
        (void)r.IntIn("r", -5, 1000);
        break;
    }
    (void)r.remaining();
  }
  (void)r.Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t n_ops = data[0] % 16;
  if (size < 1 + n_ops) return 0;
  const std::vector<uint8_t> ops(data + 1, data + 1 + n_ops);
  const char* stream = reinterpret_cast<const char*>(data + 1 + n_ops);
  const std::size_t length = size - 1 - n_ops;

  redisReader* reader = redisReaderCreate();
  if (reader == nullptr) return 0;
  const std::size_t half = length / 2;
  bool fed_rest = false;
  if (redisReaderFeed(reader, stream, half) == REDIS_OK) {
    for (int replies = 0; replies < 64; ++replies) {
      void* reply = nullptr;
      if (redisReaderGetReply(reader, &reply) != REDIS_OK) break;
      if (reply == nullptr) {
        if (fed_rest) break;
        fed_rest = true;
        if (redisReaderFeed(reader, stream + half, length - half) != REDIS_OK) break;
        continue;
      }
      ReadReply(static_cast<const redisReply*>(reply), ops);
      freeReplyObject(reply);
    }
  }
  redisReaderFree(reader);
  // A null reply (what a dropped connection gives) is refused, not dereferenced.
  ReadReply(nullptr, ops);
  return 0;
}
