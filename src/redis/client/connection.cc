// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/client/connection.h"

#include <hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace admission::redis_internal {
namespace {

using internal::AbslView;

struct timeval TimeoutTimeval(absl::Duration d) {
  if (d < absl::Milliseconds(1)) d = absl::Milliseconds(1);  // 0 would mean "no timeout"
  return absl::ToTimeval(d);
}

// hiredis writes with write(2), so a write to a connection the server has reset raises SIGPIPE,
// whose default action kills the process. A library must neither die of it nor change the
// application's signal handling. Where send(2) takes MSG_NOSIGNAL (Linux), Connection::Send
// writes the buffered commands itself with it, and hiredis then finds nothing to write.
// Elsewhere SIGPIPE is blocked in the calling thread while hiredis writes, and one it raised
// meanwhile is taken off the thread's pending set before the mask is restored (the technique
// libpq uses); that costs four system calls per round trip, as many as the round trip itself.
#if !defined(MSG_NOSIGNAL)
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    // A SIGPIPE already pending is not ours to swallow: leave everything as it is.
    if (sigismember(&pending, SIGPIPE) == 1) return;
    if (pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_) != 0) return;
    active_ = sigismember(&previous_, SIGPIPE) != 1;  // already blocked: nothing to undo
  }
  ~ScopedSigpipeBlock() {
    if (!active_) return;
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
      const struct timespec zero = {0, 0};
      while (sigtimedwait(&sigpipe_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t sigpipe_;
  sigset_t previous_;
  bool active_ = false;
};
#endif  // !defined(MSG_NOSIGNAL)

}  // namespace

std::string Endpoint::Name() const { return absl::StrCat("redis ", host, ":", port); }

void ReplyDeleter::operator()(redisReply* reply) const { FreeArenaReply(reply); }
void ContextDeleter::operator()(redisContext* context) const { redisFree(context); }

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const Endpoint& endpoint) {
  ContextPtr context(redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port,
                                             TimeoutTimeval(endpoint.connect_timeout)));
  if (context == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate a connection to ", endpoint.Name()));
  }
  if (context->err != 0) {
    // Refused, unreachable, or the connect timeout ran out: the command never left, so this is
    // Unavailable (safe to retry), not DeadlineExceeded.
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", endpoint.Name(), ": ", context->errstr));
  }
  if (redisSetTimeout(context.get(), TimeoutTimeval(endpoint.command_timeout)) != REDIS_OK) {
    return absl::UnavailableError(absl::StrCat("cannot set the command timeout on a connection to ",
                                               endpoint.Name(), ": ", context->errstr));
  }
  // Keepalive lets the kernel notice a peer that vanished without closing (a dead host), so an
  // idle pooled connection does not look alive forever.
  redisEnableKeepAlive(context.get());
  std::unique_ptr<Connection> connection(new Connection(endpoint, std::move(context)));
  // Before the first read: every reply of the connection comes from an arena (ReplyDeleter).
  UseReplyArena(connection->context_->reader, &connection->arena_hint_);
  if (endpoint.password.empty()) return connection;
  // Alone in its round trip: a command pipelined behind a refused AUTH would run as nobody (or
  // be refused with a less telling NOAUTH), and a connection is not handed out before it is
  // authenticated, so every reconnect authenticates again.
  Command auth = {"AUTH", endpoint.password};
  if (!endpoint.username.empty()) auth = {"AUTH", endpoint.username, endpoint.password};
  absl::StatusOr<ReplyPtr> reply = connection->Execute(auth);
  if (!reply.ok()) return reply.status();
  if ((*reply)->type == REDIS_REPLY_ERROR) {
    return AuthReplyStatus(endpoint.Name(), endpoint.username,
                           std::string_view((*reply)->str, (*reply)->len));
  }
  return connection;
}

absl::Status Connection::Fail(int saved_errno) {
  broken_ = true;
  const int err = context_->err;
  const std::string detail = context_->errstr;
  if (err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
                              saved_errno == ETIMEDOUT || saved_errno == EINPROGRESS)) {
    return absl::DeadlineExceededError(absl::StrCat(endpoint_.Name(), " did not answer within ",
                                                    absl::FormatDuration(endpoint_.command_timeout),
                                                    " (", detail, ")"));
  }
  switch (err) {
    case REDIS_ERR_PROTOCOL:
      return absl::InternalError(
          absl::StrCat("protocol error talking to ", endpoint_.Name(), ": ", detail));
    case REDIS_ERR_OOM:
      return absl::ResourceExhaustedError(
          absl::StrCat("out of memory talking to ", endpoint_.Name(), ": ", detail));
    case REDIS_ERR_EOF:
      return absl::UnavailableError(
          absl::StrCat(endpoint_.Name(), " closed the connection: ", detail));
    default:
      return absl::UnavailableError(
          absl::StrCat("lost the connection to ", endpoint_.Name(), ": ", detail));
  }
}

absl::Status Connection::Append(const Command& command) {
  if (broken_) {
    return absl::UnavailableError(absl::StrCat("broken connection to ", endpoint_.Name()));
  }
  constexpr std::size_t kInline = 16;
  const char* argv_inline[kInline];
  std::size_t len_inline[kInline];
  std::vector<const char*> argv_heap;
  std::vector<std::size_t> len_heap;
  const char** argv = argv_inline;
  std::size_t* argvlen = len_inline;
  if (command.size() > kInline) {
    argv_heap.resize(command.size());
    len_heap.resize(command.size());
    argv = argv_heap.data();
    argvlen = len_heap.data();
  }
  for (std::size_t i = 0; i < command.size(); ++i) {
    argv[i] = command[i].data();
    argvlen[i] = command[i].size();
  }
  // Only appends to hiredis' output buffer; it fails only when out of memory.
  if (redisAppendCommandArgv(context_.get(), static_cast<int>(command.size()), argv, argvlen) !=
      REDIS_OK) {
    return Fail(errno);
  }
  return absl::OkStatus();
}

absl::Status Connection::Read(std::size_t count, std::vector<ReplyPtr>* replies) {
  if (broken_) {
    return absl::UnavailableError(absl::StrCat("broken connection to ", endpoint_.Name()));
  }
#if defined(MSG_NOSIGNAL)
  if (absl::Status s = Send(); !s.ok()) return s;
#else
  // The first redisGetReply writes the whole buffered pipeline, then each one reads a reply.
  ScopedSigpipeBlock no_sigpipe;
#endif
  for (std::size_t i = 0; i < count; ++i) {
    void* raw = nullptr;
    errno = 0;
    if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) {
      return Fail(errno);
    }
    replies->emplace_back(static_cast<redisReply*>(raw));
    NoteReplyArena(replies->back().get(), &arena_hint_);
  }
  return absl::OkStatus();
}

#if defined(MSG_NOSIGNAL)
absl::Status Connection::Send() {
  redisContext* c = context_.get();
  while (sdslen(c->obuf) > 0) {
    const ssize_t n = send(c->fd, c->obuf, sdslen(c->obuf), MSG_NOSIGNAL);
    if (n < 0) {
      const int saved_errno = errno;
      if (saved_errno == EINTR) continue;
      // What hiredis records for a failed write (the send timeout included: EAGAIN).
      c->err = REDIS_ERR_IO;
      std::snprintf(c->errstr, sizeof(c->errstr), "%s", std::strerror(saved_errno));
      return Fail(saved_errno);
    }
    // Keeps what is left (nothing, usually) at the front, with sds.h's inline functions only
    // (hiredis.h declares the others without C linkage). Unlike hiredis, which frees a buffer
    // it wrote whole, this keeps its capacity (at most about twice the connection's largest
    // request), sparing the reallocations as the next requests are appended.
    const std::size_t left = sdslen(c->obuf) - static_cast<std::size_t>(n);
    std::memmove(c->obuf, c->obuf + n, left);
    sdssetlen(c->obuf, left);
    c->obuf[left] = '\0';
  }
  return absl::OkStatus();
}
#endif

absl::StatusOr<std::vector<ReplyPtr>> Connection::Execute(const std::vector<Command>& commands) {
  for (const Command& command : commands) {
    if (absl::Status s = Append(command); !s.ok()) return s;
  }
  std::vector<ReplyPtr> replies;
  replies.reserve(commands.size());
  if (absl::Status s = Read(commands.size(), &replies); !s.ok()) return s;
  return replies;
}

absl::StatusOr<ReplyPtr> Connection::Execute(const Command& command) {
  if (absl::Status s = Append(command); !s.ok()) return s;
  std::vector<ReplyPtr> replies;
  if (absl::Status s = Read(1, &replies); !s.ok()) return s;
  return std::move(replies.front());
}

bool Connection::LooksAlive() {
  if (broken_ || context_->err != 0) return false;
  char byte;
  const ssize_t n = recv(context_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;  // the server closed it
  if (n > 0) return false;   // bytes nobody asked for: the stream is out of step
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

absl::Status AuthReplyStatus(std::string_view server, std::string_view username,
                             std::string_view error) {
  const absl::string_view e = AbslView(error);
  const std::string user = username.empty() ? std::string("the default user")
                                            : absl::StrCat("user '", AbslView(username), "'");
  if (absl::StartsWith(e, "WRONGPASS")) {
    return absl::UnauthenticatedError(
        absl::StrCat(AbslView(server), ": Redis refused the credentials for ", user, " (", e, ")"));
  }
  if (absl::StrContains(e, "without any password configured")) {
    // A password for a server that has none is a misconfiguration (the wrong server, or one
    // whose requirepass was lost): say so rather than run unprotected unnoticed.
    return absl::FailedPreconditionError(absl::StrCat(
        AbslView(server),
        " has no password for the default user, but a password was given; remove it, or give "
        "username \"default\" to authenticate anyway (",
        e, ")"));
  }
  return ErrorReplyStatus(server, "AUTH", error);
}

absl::Status ErrorReplyStatus(std::string_view server, std::string_view what,
                              std::string_view error) {
  const absl::string_view e = AbslView(error);
  struct OwnCode {
    absl::string_view prefix;
    absl::StatusCode code;
  };
  static constexpr OwnCode kOwnCodes[] = {
      {"NOT_FOUND ", absl::StatusCode::kNotFound},
      {"ALREADY_EXISTS ", absl::StatusCode::kAlreadyExists},
      {"FAILED_PRECONDITION ", absl::StatusCode::kFailedPrecondition},
      {"INVALID_ARGUMENT ", absl::StatusCode::kInvalidArgument},
  };
  for (const OwnCode& own : kOwnCodes) {
    if (absl::StartsWith(e, own.prefix)) {
      absl::string_view message = e.substr(own.prefix.size());
      // An error a script raises (rather than returns) comes with Redis' " script: <sha1>, on
      // @user_script:<line>." after it, which says nothing to the caller.
      if (const size_t at = message.rfind(" script: ");
          at != absl::string_view::npos && absl::EndsWith(message, ".") &&
          absl::StrContains(message.substr(at), ", on @")) {
        message = message.substr(0, at);
      }
      return absl::Status(own.code, message);
    }
  }
  const std::string context = absl::StrCat(AbslView(server), " refused ", AbslView(what), ": ", e);
  static constexpr absl::string_view kTransient[] = {"LOADING",     "BUSY",       "MASTERDOWN",
                                                     "READONLY",    "NOREPLICAS", "TRYAGAIN",
                                                     "CLUSTERDOWN", "MOVED",      "ASK"};
  for (absl::string_view prefix : kTransient) {
    if (absl::StartsWith(e, prefix) && (e.size() == prefix.size() || e[prefix.size()] == ' ')) {
      return absl::UnavailableError(context);
    }
  }
  if (absl::StartsWith(e, "OOM")) return absl::ResourceExhaustedError(context);
  if (absl::StartsWith(e, "NOAUTH")) {
    return absl::UnauthenticatedError(
        absl::StrCat(AbslView(server),
                     ": Redis needs a password (give a password, and a username for an ACL "
                     "user); it refused ",
                     AbslView(what), ": ", e));
  }
  if (absl::StartsWith(e, "WRONGPASS")) return absl::UnauthenticatedError(context);
  // NOPERM for the command itself; a function's own calls fail with "ERR The user executing
  // the script can't ...".
  if (absl::StartsWith(e, "NOPERM") ||
      absl::StartsWith(e, "ERR The user executing the script can't")) {
    return absl::PermissionDeniedError(absl::StrCat(
        context,
        " (the Redis user lacks a command or key the store needs; see docs/gateway.md, "
        "Redis credentials)"));
  }
  return absl::InternalError(context);
}

}  // namespace admission::redis_internal
