// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "identity.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "admission/ids.h"
#include "http_toolkit.h"

namespace admission::gateway {
namespace {

// RFC 6750: a token that is missing gets the challenge alone; one that fails gets its error.
void ReplyUnauthorized(Response& res, bool token_sent, std::string_view message) {
  res.set_header("WWW-Authenticate", token_sent
                                         ? "Bearer realm=\"admission\", error=\"invalid_token\""
                                         : "Bearer realm=\"admission\"");
  ReplyError(res, 401, "unauthorized", message);
}

// Whether the request reached the TLS-terminating proxy in front of the gateway over HTTPS.
// A client that forges this only makes its own cookie Secure.
bool BehindHttps(const Request& req) {
  const std::string proto = req.get_header_value("X-Forwarded-Proto");
  const std::size_t comma = proto.rfind(',');
  const absl::string_view last = absl::StripAsciiWhitespace(
      absl::string_view(proto).substr(comma == std::string::npos ? 0 : comma + 1));
  if (absl::EqualsIgnoreCase(last, "https")) return true;
  const std::string forwarded = absl::AsciiStrToLower(req.get_header_value("Forwarded"));
  return absl::StrContains(forwarded, "proto=https");
}

}  // namespace

absl::StatusOr<IdentityMode> ParseIdentityMode(std::string_view name) {
  if (name == "anonymous") return IdentityMode::kAnonymous;
  if (name == "trusted") return IdentityMode::kTrusted;
  if (name == "jwt") return IdentityMode::kJwt;
  return absl::InvalidArgumentError("expected anonymous, trusted or jwt");
}

std::string_view IdentityModeName(IdentityMode mode) {
  switch (mode) {
    case IdentityMode::kAnonymous:
      return "anonymous";
    case IdentityMode::kTrusted:
      return "trusted";
    case IdentityMode::kJwt:
      return "jwt";
  }
  return "anonymous";
}

std::string UserIdOfSubject(std::string_view subject) {
  if (ValidateUserId(subject).ok()) return std::string(subject);
  return absl::StrCat("sub:", Base64UrlEncode(Sha256(subject)));
}

bool IsLoopbackHost(std::string_view host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string IdentityCredentials(const Request& req) {
  return absl::StrCat(req.get_header_value(kAdmissionTokenHeader), "\n",
                      req.get_header_value(kSessionHeader), "\n",
                      CookieValue(req.get_header_value("Cookie"), kSessionCookie));
}

Identity::Identity(IdentityMode mode, std::string secret, Clock* clock)
    : mode_(mode), sessions_(std::move(secret)), clock_(clock) {}

absl::StatusOr<std::unique_ptr<Identity>> Identity::Create(const GatewayFlags& flags,
                                                           std::string secret, Clock* clock) {
  absl::StatusOr<IdentityMode> mode = ParseIdentityMode(flags.identity);
  if (!mode.ok())
    return absl::InvalidArgumentError(absl::StrCat("--identity: ", mode.status().message()));
  std::unique_ptr<Identity> identity(new Identity(*mode, std::move(secret), clock));
  identity->cookie_secure_ = flags.session_cookie_secure;
  if (*mode == IdentityMode::kJwt) {
    absl::StatusOr<std::unique_ptr<JwksFile>> jwks = JwksFile::Open(flags.jwks_file, clock);
    if (!jwks.ok()) return jwks.status();
    identity->jwks_ = *std::move(jwks);
    identity->expect_.issuer = flags.jwt_issuer;
    identity->expect_.audience = flags.jwt_audience;
  }
  return identity;
}

std::optional<std::string> Identity::JwtUser(const Request& req, Response& res) const {
  const std::string jwt = BearerToken(req);
  if (jwt.empty()) {
    ReplyUnauthorized(res, false,
                      "sign in first: send your identity provider's token as Authorization: "
                      "Bearer <jwt>");
    return std::nullopt;
  }
  absl::StatusOr<JwtClaims> claims = VerifyJwt(jwt, *jwks_->Current(), expect_, clock_->Now());
  if (!claims.ok()) {
    ReplyUnauthorized(res, true, Msg(claims.status()));
    return std::nullopt;
  }
  return UserIdOfSubject(claims->subject);
}

std::optional<Identity::Joiner> Identity::ForJoin(const Request& req,
                                                  const std::optional<std::string>& body_user_id,
                                                  Response& res) const {
  Joiner joiner;
  switch (mode_) {
    case IdentityMode::kJwt: {
      std::optional<std::string> user = JwtUser(req, res);
      if (!user) return std::nullopt;
      joiner.user_id = *std::move(user);
      return joiner;
    }
    case IdentityMode::kTrusted:
      // The back end vouches for the name; a visitor it did not name gets one of their own.
      joiner.user_id = body_user_id ? *body_user_id : "anon-" + RandomHex(12);
      joiner.new_identity = !body_user_id;
      return joiner;
    case IdentityMode::kAnonymous:
      break;
  }
  // The header first: an API client that sends one means it, whatever cookie jar it carries.
  std::string session = req.get_header_value(kSessionHeader);
  if (session.empty()) session = CookieValue(req.get_header_value("Cookie"), kSessionCookie);
  if (std::optional<std::string> user = sessions_.UserOf(session)) {
    joiner.user_id = *std::move(user);
    joiner.session = std::move(session);
    return joiner;
  }
  joiner.session = sessions_.NewSession(&joiner.user_id);
  joiner.new_identity = true;
  return joiner;
}

void Identity::SetSessionCookie(const Request& req, const Joiner& joiner, Response& res) const {
  if (mode_ != IdentityMode::kAnonymous || !joiner.new_identity) return;
  // HttpOnly: no script reads it; SameSite=Lax: no other site's request carries it; no
  // Max-Age: it ends with the browser session. Secure whenever the browser reached us over TLS
  // (a Secure cookie set over plain HTTP would be dropped by browsers, except on localhost).
  const bool secure = cookie_secure_ == "true" || (cookie_secure_ == "auto" && BehindHttps(req));
  res.headers.emplace_back(
      "Set-Cookie", absl::StrCat(kSessionCookie, "=", joiner.session,
                                 "; Path=/; HttpOnly; SameSite=Lax", secure ? "; Secure" : ""));
}

std::optional<ReservationClaims> Identity::Authorize(const Request& req, Response& res,
                                                     const TokenSigner& signer,
                                                     absl::Time now) const {
  std::string token = req.get_header_value(kAdmissionTokenHeader);
  if (token.empty() && mode_ != IdentityMode::kJwt) token = BearerToken(req);
  if (token.empty()) {
    ReplyUnauthorized(res, false,
                      mode_ == IdentityMode::kJwt
                          ? "send the admission token as X-Admission-Token: <token>"
                          : "send the admission token as X-Admission-Token: <token> (or "
                            "Authorization: Bearer <token>)");
    return std::nullopt;
  }
  absl::StatusOr<ReservationClaims> claims = signer.Verify(token, now);
  if (!claims.ok()) {
    ReplyUnauthorized(res, true, Msg(claims.status()));
    return std::nullopt;
  }
  if (checks_owner()) {
    std::optional<std::string> user = JwtUser(req, res);
    if (!user) return std::nullopt;
    if (*user != claims->user_id) {
      ReplyError(res, 403, "forbidden", "this admission belongs to another user");
      return std::nullopt;
    }
  }
  return *std::move(claims);
}

}  // namespace admission::gateway
