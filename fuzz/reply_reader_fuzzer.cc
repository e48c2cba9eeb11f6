// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Replies from Redis (src/redis/client/reply_reader.h). The bytes go through hiredis's own
// reader (as the connection's socket data do) and every reply it makes is read field by field
// by ReplyReader. The first input byte says how many fields to read (0..15) and the next ones
// which getter reads each (String, Int, OptionalInt, Double, OptionalDouble, IntIn); the rest is
// the byte stream from the server, fed in two pieces.
//
// hiredis 0.14 allocates an array reply's element table as soon as it reads the header, so
// "*2000000000\r\n" makes it calloc 16 GB before a single element arrived (there is no limit
// to set in 0.14). That is hiredis trusting its server, as our client trusts Redis; inputs
// announcing arrays of over kMaxElements elements are skipped so that the fuzzer looks at our
// code rather than at that allocation.
#include <hiredis.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "redis/client/reply_reader.h"

namespace {

using admission::redis_internal::ReplyReader;

constexpr long kMaxElements = 4096;

// Whether some "*<count>" in the stream announces more than kMaxElements elements (a '*'
// inside a string payload counts too: such inputs are merely skipped).
bool AnnouncesHugeArray(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != '*') continue;
    long count = 0;
    for (std::size_t j = i + 1; j < n && p[j] >= '0' && p[j] <= '9'; ++j) {
      count = count * 10 + (p[j] - '0');
      if (count > kMaxElements) return true;
    }
  }
  return false;
}

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
  if (AnnouncesHugeArray(stream, length)) return 0;

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
