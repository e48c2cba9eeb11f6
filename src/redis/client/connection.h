// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// RAII over hiredis 0.14's blocking API: a connection with connect and command timeouts that
// sends pipelined commands and maps every failure to an absl::Status naming the server. Open
// is where every connection of the client is made (the pools', the router's probe), so it is
// the one place that authenticates: AUTH, alone in its round trip, before anything else. Once a
// transport error happened the connection is `broken()` (hiredis cannot recover a context
// after an error, and after a timeout a late reply could be read as the answer to the next
// command), and the pool throws it away.
#ifndef ADMISSION_SRC_REDIS_CLIENT_CONNECTION_H_
#define ADMISSION_SRC_REDIS_CLIENT_CONNECTION_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "redis/client/reply_arena.h"

struct redisContext;
struct redisReply;

namespace admission::redis_internal {

struct Endpoint {
  std::string host;
  int port = 0;
  absl::Duration connect_timeout;
  absl::Duration command_timeout;
  // AUTH on every new connection when `password` is not empty (RedisClientOptions'). Secret:
  // never put in a message (Name() has neither). The `{}` keeps Endpoint{host, port, ...}
  // without credentials free of -Wmissing-field-initializers.
  std::string username{};
  std::string password{};

  // "redis 127.0.0.1:6379", for error messages.
  std::string Name() const;
};

// Frees a reply a Connection read (see reply_arena.h: only those).
struct ReplyDeleter {
  void operator()(redisReply* reply) const;
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* context) const;
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

// One command's arguments; the strings they view must outlive the call.
using Command = std::vector<std::string_view>;

class Connection {
 public:
  // Connects and, when the endpoint has a password, authenticates (AuthReplyStatus's errors).
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const Endpoint& endpoint);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends all commands in one write and reads one reply for each, in order. An error reply
  // from Redis is a reply (the caller inspects it); a transport failure is an error status and
  // breaks the connection.
  absl::StatusOr<std::vector<ReplyPtr>> Execute(const std::vector<Command>& commands);
  absl::StatusOr<ReplyPtr> Execute(const Command& command);

  // The same in two steps, for pipelines assembled from several callers: Append buffers a
  // command (nothing is sent yet); Read sends everything buffered and appends `count` replies
  // to `replies`. On a transport failure Read returns the error, and `replies` holds the
  // replies that did arrive before it (they are valid).
  absl::Status Append(const Command& command);
  absl::Status Read(std::size_t count, std::vector<ReplyPtr>* replies);

  bool broken() const { return broken_; }

  // The hiredis context, for a caller that reads pushed messages itself (a subscription).
  redisContext* context() { return context_.get(); }

  // Whether the idle connection still looks usable: not broken, and the server has not closed
  // it (after a Redis restart every pooled socket has seen EOF). Cheap: one non-blocking peek.
  bool LooksAlive();

 private:
  Connection(Endpoint endpoint, ContextPtr context)
      : endpoint_(std::move(endpoint)), context_(std::move(context)) {}

  // Maps the context's error after a failed read or write, and marks the connection broken.
  absl::Status Fail(int saved_errno);
  // Writes what Append buffered with MSG_NOSIGNAL (see ScopedSigpipeBlock in connection.cc),
  // where the system has it.
  absl::Status Send();

  const Endpoint endpoint_;
  ContextPtr context_;
  ReplyArenaHint arena_hint_;  // the context's reader builds its replies in arenas
  bool broken_ = false;
};

// The status for the error reply `error` to AUTH on `server` as `username` ("" for the default
// user): Unauthenticated for refused credentials (WRONGPASS); FailedPrecondition for a password
// given to a server whose default user has none; otherwise ErrorReplyStatus's. The message
// names the user, never the password.
absl::Status AuthReplyStatus(std::string_view server, std::string_view username,
                             std::string_view error);

// The status for an error reply ("-ERR ...") that the caller did not expect. Codes our scripts
// raise ("NOT_FOUND msg", "ALREADY_EXISTS msg", "FAILED_PRECONDITION msg", "INVALID_ARGUMENT
// msg") map to those codes with the message alone; transient server states (LOADING, BUSY,
// MASTERDOWN, READONLY, NOREPLICAS, TRYAGAIN, CLUSTERDOWN, and redirections nobody followed) to
// Unavailable; OOM to ResourceExhausted; a server that wants a password (NOAUTH) or refuses
// one (WRONGPASS) to Unauthenticated; an ACL user denied a command or a key (NOPERM, or the
// error a function gets for one of its calls) to PermissionDenied; anything else to Internal. All
// but our own codes name `server` ("redis host:port") and `what` was refused.
absl::Status ErrorReplyStatus(std::string_view server, std::string_view what,
                              std::string_view error);

}  // namespace admission::redis_internal

#endif  // ADMISSION_SRC_REDIS_CLIENT_CONNECTION_H_
