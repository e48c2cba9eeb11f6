// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "redis/connection.h"

#include <hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstddef>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace admission::redis_internal {
namespace {

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

struct timeval TimeoutTimeval(absl::Duration d) {
  if (d < absl::Milliseconds(1)) d = absl::Milliseconds(1);  // 0 would mean "no timeout"
  return absl::ToTimeval(d);
}

}  // namespace

std::string Endpoint::Name() const { return absl::StrCat("redis ", host, ":", port); }

void ReplyDeleter::operator()(redisReply* reply) const { freeReplyObject(reply); }
void ContextDeleter::operator()(redisContext* context) const { redisFree(context); }

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const Endpoint& endpoint) {
  ContextPtr context(
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port,
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
  return std::unique_ptr<Connection>(new Connection(endpoint, std::move(context)));
}

absl::Status Connection::Fail(int saved_errno) {
  broken_ = true;
  const int err = context_->err;
  const std::string detail = context_->errstr;
  if (err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
                              saved_errno == ETIMEDOUT || saved_errno == EINPROGRESS)) {
    return absl::DeadlineExceededError(
        absl::StrCat(endpoint_.Name(), " did not answer within ",
                     absl::FormatDuration(endpoint_.command_timeout), " (", detail, ")"));
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

absl::StatusOr<std::vector<ReplyPtr>> Connection::Execute(const std::vector<Command>& commands) {
  if (broken_) {
    return absl::UnavailableError(absl::StrCat("broken connection to ", endpoint_.Name()));
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> argvlen;
  for (const Command& command : commands) {
    argv.clear();
    argvlen.clear();
    for (std::string_view arg : command) {
      argv.push_back(arg.data());
      argvlen.push_back(arg.size());
    }
    // Only appends to hiredis' output buffer; it fails only when out of memory.
    if (redisAppendCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(),
                               argvlen.data()) != REDIS_OK) {
      return Fail(errno);
    }
  }
  std::vector<ReplyPtr> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    errno = 0;
    if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) {
      return Fail(errno);
    }
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  return replies;
}

absl::StatusOr<ReplyPtr> Connection::Execute(const Command& command) {
  absl::StatusOr<std::vector<ReplyPtr>> replies = Execute(std::vector<Command>{command});
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

bool Connection::LooksAlive() {
  if (broken_ || context_->err != 0) return false;
  char byte;
  const ssize_t n = recv(context_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;  // the server closed it
  if (n > 0) return false;   // bytes nobody asked for: the stream is out of step
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

absl::Status ErrorReplyStatus(const Endpoint& endpoint, std::string_view what,
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
      return absl::Status(own.code, e.substr(own.prefix.size()));
    }
  }
  const std::string context = absl::StrCat(endpoint.Name(), " refused ", AbslView(what), ": ", e);
  static constexpr absl::string_view kTransient[] = {"LOADING",  "BUSY",    "MASTERDOWN",
                                                     "READONLY", "TRYAGAIN", "CLUSTERDOWN",
                                                     "MOVED",    "ASK"};
  for (absl::string_view prefix : kTransient) {
    if (absl::StartsWith(e, prefix) &&
        (e.size() == prefix.size() || e[prefix.size()] == ' ')) {
      return absl::UnavailableError(context);
    }
  }
  if (absl::StartsWith(e, "OOM")) return absl::ResourceExhaustedError(context);
  return absl::InternalError(context);
}

}  // namespace admission::redis_internal
