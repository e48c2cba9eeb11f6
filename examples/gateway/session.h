// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Anonymous sessions: the identity the gateway itself hands a visitor it knows nothing about
// (--identity=anonymous). A session is "<user id>.<base64url HMAC-SHA256(secret, label, user
// id)>": the user id is a fresh "anon-<24 hex>", and the MAC (under the gateway's token secret,
// with a label of its own so that it can never pass for another kind of token) makes the
// value unforgeable, so a visitor can be nobody but the identity the gateway gave them. It
// travels in an HttpOnly, SameSite=Lax cookie (browsers) or a header (API clients), and needs no
// store: any gateway with the same secret reads it.
#ifndef ADMISSION_EXAMPLES_GATEWAY_SESSION_H_
#define ADMISSION_EXAMPLES_GATEWAY_SESSION_H_

#include <optional>
#include <string>
#include <string_view>

namespace admission::gateway {

// The cookie, and the header API clients may send the same value in instead.
inline constexpr char kSessionCookie[] = "admission_session";
inline constexpr char kSessionHeader[] = "X-Admission-Session";
// Longer values are refused before any work.
inline constexpr std::size_t kMaxSessionLength = 256;

class SessionSigner {
 public:
  explicit SessionSigner(std::string secret);

  // A new identity: its session value, and its user id in `*user_id`.
  std::string NewSession(std::string* user_id) const;
  // The session value of `user_id`.
  std::string Issue(std::string_view user_id) const;
  // The user id of an authentic session value; nullopt for anything else.
  std::optional<std::string> UserOf(std::string_view session) const;

 private:
  std::string Mac(std::string_view user_id) const;

  std::string secret_;
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"); empty when absent.
std::string CookieValue(std::string_view cookie_header, std::string_view name);

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_SESSION_H_
