// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Who the user is (--identity). The waiting room keeps one place per user and event, so the
// gateway must not let a client name any user it likes; it has three ways of knowing:
//
//   anonymous (default)  the gateway issues the identity: a signed session (session.h) in an
//                        HttpOnly cookie and in the join's answer; a join without a valid one
//                        gets a new identity. A user_id in the join's body is ignored.
//   jwt                  the user is the "sub" of the site's identity provider's JWT, sent as
//                        Authorization: Bearer <jwt> and checked against --jwks_file
//                        (jwt_verifier.h). The join and every later step of that place (enter,
//                        leave, complete, holds, payment) need a JWT naming the same user.
//   trusted              the join's user_id is taken as sent: for a back end that authenticated
//                        its users itself and is the only client that can reach the gateway.
//
// Because the Authorization header carries the JWT in jwt mode, the gateway's own signed
// admission and reservation tokens (signer.h) travel in X-Admission-Token, in every mode; the
// other modes still take them as Authorization: Bearer too.
#ifndef ADMISSION_EXAMPLES_GATEWAY_IDENTITY_H_
#define ADMISSION_EXAMPLES_GATEWAY_IDENTITY_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "flags.h"
#include "http_message.h"
#include "jwks.h"
#include "jwt_verifier.h"
#include "session.h"
#include "signer.h"

namespace admission::gateway {

enum class IdentityMode { kAnonymous, kTrusted, kJwt };

// "anonymous", "trusted", "jwt".
absl::StatusOr<IdentityMode> ParseIdentityMode(std::string_view name);
std::string_view IdentityModeName(IdentityMode mode);

// The header that carries the gateway's signed admission or reservation token in every mode.
inline constexpr char kAdmissionTokenHeader[] = "X-Admission-Token";

// The user id of a JWT subject: the subject itself when the room accepts it as a user id
// ([A-Za-z0-9_.:@-]{1,128}), else "sub:" and the base64url SHA-256 of it (subjects such as
// "auth0|1234" keep one stable id each).
std::string UserIdOfSubject(std::string_view subject);

// True for an address only this machine can reach (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(std::string_view host);

// The credentials of a request beyond its Authorization header (the admission token header and
// the anonymous session), for the Idempotency-Key fingerprint: the same key sent by another
// identity is another request.
std::string IdentityCredentials(const Request& req);

class Identity {
 public:
  // The identity of --identity and its flags; `secret` is the token secret (it signs anonymous
  // sessions). In jwt mode, reads --jwks_file (an error names the file's problem). `clock`
  // (not owned) is the time of JWT checks and JWKS reloads.
  static absl::StatusOr<std::unique_ptr<Identity>> Create(const GatewayFlags& flags,
                                                          std::string secret, Clock* clock);

  IdentityMode mode() const { return mode_; }

  // Who joins. anonymous: the request's session's user (or a new identity, with `session` to
  // hand back); jwt: the JWT's user; trusted: `body_user_id`, or a new anonymous id without
  // one. Nullopt with the error written (401 for a missing or bad JWT).
  struct Joiner {
    std::string user_id;
    std::string session;        // anonymous mode: the session value of user_id
    bool new_identity = false;  // made for this join (nobody else can hold its place yet)
  };
  std::optional<Joiner> ForJoin(const Request& req, const std::optional<std::string>& body_user_id,
                                Response& res) const;
  // Anonymous mode: sets the session cookie on `res` (Secure behind TLS, see
  // --session_cookie_secure).
  void SetSessionCookie(const Request& req, const Joiner& joiner, Response& res) const;

  // Whether steps after the join (enter, leave, complete, holds, payments) must come from the
  // user who holds the place: jwt mode.
  bool checks_owner() const { return mode_ == IdentityMode::kJwt; }
  // jwt mode: the user the request's JWT names; nullopt with 401 and WWW-Authenticate written
  // when it is missing or not valid.
  std::optional<std::string> JwtUser(const Request& req, Response& res) const;

  // The request's signed admission or reservation token (X-Admission-Token; outside jwt mode
  // also Authorization: Bearer), checked at `now`, and in jwt mode held by the user it names
  // (the JWT's, else 403). Nullopt with the error written (401 with WWW-Authenticate when a
  // token is missing or not valid).
  std::optional<ReservationClaims> Authorize(const Request& req, Response& res,
                                             const TokenSigner& signer, absl::Time now) const;

 private:
  Identity(IdentityMode mode, std::string secret, Clock* clock);

  const IdentityMode mode_;
  const SessionSigner sessions_;
  Clock* const clock_;
  // jwt mode only.
  std::unique_ptr<JwksFile> jwks_;
  JwtExpectations expect_;
  // --session_cookie_secure: "auto", "true" or "false".
  std::string cookie_secure_;
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_IDENTITY_H_
