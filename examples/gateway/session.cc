// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
#include "session.h"

#include <openssl/crypto.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "admission/ids.h"
#include "signer.h"

namespace admission::gateway {

SessionSigner::SessionSigner(std::string secret) : secret_(std::move(secret)) {}

std::string SessionSigner::Mac(std::string_view user_id) const {
  return Base64UrlEncode(HmacSha256(secret_, "admission-session\n" + std::string(user_id)));
}

std::string SessionSigner::NewSession(std::string* user_id) const {
  // 96 random bits: as unguessable as it needs to be, since the MAC makes it unforgeable.
  *user_id = "anon-" + RandomHex(12);
  return Issue(*user_id);
}

std::string SessionSigner::Issue(std::string_view user_id) const {
  return std::string(user_id) + "." + Mac(user_id);
}

std::optional<std::string> SessionSigner::UserOf(std::string_view session) const {
  if (session.empty() || session.size() > kMaxSessionLength) return std::nullopt;
  const std::size_t dot = session.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  const std::string_view user = session.substr(0, dot);
  const std::string expected = Mac(user);
  const std::string_view mac = session.substr(dot + 1);
  if (mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  // Only ids this gateway could have made (a secret shared with an older version, say, must
  // still not name an id the room would refuse).
  if (!ValidateUserId(user).ok()) return std::nullopt;
  return std::string(user);
}

std::string CookieValue(std::string_view cookie_header, std::string_view name) {
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(cookie_header.data(), cookie_header.size()), ';')) {
    part = absl::StripAsciiWhitespace(part);
    const std::size_t eq = part.find('=');
    if (eq == absl::string_view::npos) continue;
    if (part.substr(0, eq) == absl::string_view(name.data(), name.size())) {
      return std::string(part.substr(eq + 1));
    }
  }
  return "";
}

}  // namespace admission::gateway
