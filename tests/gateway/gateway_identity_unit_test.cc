// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The gateway's identity pieces in-process, without a gateway: the JWKS parser and its key
// lookup, the JWT verifier against every broken token of the table, the JWKS file's reload on
// a simulated clock, anonymous sessions, and the identity flags.
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "admission/clock.h"
#include "fake_identity_provider.h"
#include "flags.h"
#include "gtest/gtest.h"
#include "identity.h"
#include "jwks.h"
#include "jwt_verifier.h"
#include "nlohmann/json.hpp"
#include "session.h"

namespace admission::gateway {
namespace {

using testing::FakeIdentityProvider;
using testing::kAudience;
using testing::kIssuer;
using Json = nlohmann::json;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

// One provider for the whole file: RSA keys take a moment to make.
class IdentityUnitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    idp_ = new FakeIdentityProvider;
    idp_->AddKey("rsa-1", "RS256");
    idp_->AddKey("ec-1", "ES256");
  }
  static void TearDownTestSuite() { delete idp_; }

  static Jwks Keys() {
    absl::StatusOr<Jwks> keys = Jwks::Parse(idp_->Jwks());
    EXPECT_TRUE(keys.ok()) << keys.status();
    return *keys;
  }
  static absl::StatusOr<JwtClaims> Verify(const std::string& token, absl::Time now = kNow) {
    return VerifyJwt(token, Keys(), JwtExpectations{kIssuer, kAudience}, now);
  }

  static inline FakeIdentityProvider* idp_ = nullptr;
};

TEST_F(IdentityUnitTest, ValidRs256AndEs256TokensVerify) {
  for (std::size_t i : {0, 1}) {
    absl::StatusOr<JwtClaims> claims = Verify(idp_->Token(i, "user-42", kNow));
    ASSERT_TRUE(claims.ok()) << i << ": " << claims.status();
    EXPECT_EQ(claims->subject, "user-42");
    EXPECT_EQ(claims->expires_at, kNow + absl::Seconds(300));
  }
  // aud as an array holding ours.
  Json claims = FakeIdentityProvider::Claims("u", kNow);
  claims["aud"] = Json::array({"other", kAudience});
  EXPECT_TRUE(Verify(FakeIdentityProvider::Sign(idp_->key(0), claims)).ok());
  // Within the leeway on both ends.
  EXPECT_TRUE(Verify(idp_->Token(0, "u", kNow), kNow + absl::Seconds(300 + 29)).ok());
  EXPECT_TRUE(Verify(idp_->Token(0, "u", kNow), kNow - absl::Seconds(5 + 29)).ok());
}

TEST_F(IdentityUnitTest, EveryBrokenTokenIsUnauthenticated) {
  const Json good = FakeIdentityProvider::Claims("victim", kNow);
  const FakeIdentityProvider::Key& rsa = idp_->key(0);
  const FakeIdentityProvider::Key& ec = idp_->key(1);
  auto with = [&good](const char* field, Json value) {
    Json c = good;
    c[field] = std::move(value);
    return c;
  };
  Json no_sub = good;
  no_sub.erase("sub");
  Json no_exp = good;
  no_exp.erase("exp");
  const std::string valid = FakeIdentityProvider::Sign(rsa, good);
  const std::string valid_ec = FakeIdentityProvider::Sign(ec, good);
  const int64_t t = absl::ToUnixSeconds(kNow);
  const std::vector<std::pair<std::string, std::string>> table = {
      {"alg none", FakeIdentityProvider::Unsigned(good)},
      {"HS256 with the public key", FakeIdentityProvider::HmacWithPublicKey(rsa, good)},
      {"HS256 without kid", FakeIdentityProvider::HmacWithPublicKey({"", "RS256", rsa.pkey}, good)},
      {"expired", FakeIdentityProvider::Sign(rsa, with("exp", t - 31))},
      {"not yet valid", FakeIdentityProvider::Sign(rsa, with("nbf", t + 31))},
      {"wrong iss", FakeIdentityProvider::Sign(rsa, with("iss", "https://evil.test/"))},
      {"wrong aud", FakeIdentityProvider::Sign(rsa, with("aud", "another-app"))},
      {"aud list without ours", FakeIdentityProvider::Sign(rsa, with("aud", Json::array({"a"})))},
      {"aud not a string", FakeIdentityProvider::Sign(rsa, with("aud", 7))},
      {"exp not a number", FakeIdentityProvider::Sign(rsa, with("exp", "tomorrow"))},
      {"no exp", FakeIdentityProvider::Sign(rsa, no_exp)},
      {"no sub", FakeIdentityProvider::Sign(rsa, no_sub)},
      {"empty sub", FakeIdentityProvider::Sign(rsa, with("sub", ""))},
      {"unknown kid", FakeIdentityProvider::Sign({"rsa-9", "RS256", rsa.pkey}, good)},
      {"kid of another alg",
       FakeIdentityProvider::Sign(rsa, good, Json{{"alg", "ES256"}, {"kid", "rsa-1"}})},
      {"RS512", FakeIdentityProvider::Sign(rsa, good, Json{{"alg", "RS512"}, {"kid", "rsa-1"}})},
      {"crit header",
       FakeIdentityProvider::Sign(rsa, good,
                                  Json{{"alg", "RS256"}, {"kid", "rsa-1"}, {"crit", {"x"}}})},
      {"tampered payload", FakeIdentityProvider::Tampered(valid, with("sub", "attacker"))},
      {"tampered ES256 payload", FakeIdentityProvider::Tampered(valid_ec, with("sub", "x"))},
      {"truncated signature", FakeIdentityProvider::Truncated(valid, 10)},
      {"truncated ES256 signature", FakeIdentityProvider::Truncated(valid_ec, 4)},
      {"signed by a key not in the set",
       [] {
         FakeIdentityProvider other;
         other.AddKey("ec-1", "ES256");
         return other.Token(0, "victim", kNow);
       }()},
      {"two parts", valid.substr(0, valid.rfind('.'))},
      {"four parts", valid + ".x"},
      {"empty", ""},
      {"garbage", "a.b.c"},
      {"header not JSON", "bm90IGpzb24." + valid.substr(valid.find('.') + 1)},
      {"too long", std::string(kMaxJwtLength + 1, 'a')},
  };
  // The check each named case must fail at (the others fail at decoding).
  const std::vector<std::pair<std::string, std::string>> reasons = {
      {"alg none", "alg is not RS256 or ES256"},
      {"HS256 with the public key", "alg is not RS256 or ES256"},
      {"expired", "expired"},
      {"not yet valid", "not valid yet"},
      {"wrong iss", "iss"},
      {"wrong aud", "aud"},
      {"unknown kid", "no key of the set"},
      {"kid of another alg", "no key of the set"},
      {"tampered payload", "signature does not verify"},
      {"tampered ES256 payload", "signature does not verify"},
      {"truncated signature", "signature"},
      {"signed by a key not in the set", "signature does not verify"},
      {"no sub", "no sub"},
  };
  for (const auto& [name, token] : table) {
    absl::StatusOr<JwtClaims> claims = Verify(token);
    EXPECT_TRUE(absl::IsUnauthenticated(claims.status())) << name << ": " << claims.status();
    for (const auto& [case_name, reason] : reasons) {
      if (case_name == name) {
        EXPECT_NE(claims.status().message().find(reason), absl::string_view::npos)
            << name << ": " << claims.status();
      }
    }
  }
}

TEST_F(IdentityUnitTest, KeyLookupByKidAndAlg) {
  const Jwks keys = Keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_NE(keys.Find("rsa-1", JwtAlg::kRS256), nullptr);
  EXPECT_EQ(keys.Find("rsa-1", JwtAlg::kES256), nullptr);
  EXPECT_EQ(keys.Find("nope", JwtAlg::kRS256), nullptr);
  // No kid: the only key of the alg.
  EXPECT_NE(keys.Find("", JwtAlg::kES256), nullptr);
  // Two RSA keys: a token without kid matches none.
  FakeIdentityProvider two;
  two.AddKey("a", idp_->key(0));
  two.AddKey("b", idp_->key(0));
  absl::StatusOr<Jwks> both = Jwks::Parse(two.Jwks());
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->Find("", JwtAlg::kRS256), nullptr);
  const std::string no_kid = FakeIdentityProvider::Sign({"", "RS256", two.key(0).pkey},
                                                        FakeIdentityProvider::Claims("u", kNow));
  EXPECT_FALSE(VerifyJwt(no_kid, *both, {kIssuer, kAudience}, kNow).ok());
  // One kid on an RSA and an EC key: each algorithm finds its own.
  FakeIdentityProvider shared;
  shared.AddKey("k", idp_->key(0));
  shared.AddKey("k", idp_->key(1));
  absl::StatusOr<Jwks> same_kid = Jwks::Parse(shared.Jwks());
  ASSERT_TRUE(same_kid.ok());
  EXPECT_EQ(same_kid->Find("k", JwtAlg::kES256)->alg, JwtAlg::kES256);
  EXPECT_TRUE(VerifyJwt(shared.Token(1, "u", kNow), *same_kid, {kIssuer, kAudience}, kNow).ok());
  // One key without a kid: a token without kid uses it.
  FakeIdentityProvider one;
  one.AddKey("", "ES256");
  absl::StatusOr<Jwks> single = Jwks::Parse(one.Jwks());
  ASSERT_TRUE(single.ok());
  EXPECT_TRUE(VerifyJwt(one.Token(0, "u", kNow), *single, {kIssuer, kAudience}, kNow).ok());
}

TEST_F(IdentityUnitTest, JwksParserRefusesBrokenKeysAndSkipsOthers) {
  const Json rsa = FakeIdentityProvider::PublicJwk(idp_->key(0));
  const Json ec = FakeIdentityProvider::PublicJwk(idp_->key(1));
  auto set = [](std::vector<Json> keys) { return Json{{"keys", keys}}.dump(); };
  auto with = [](Json jwk, const char* field, Json value) {
    jwk[field] = std::move(value);
    return jwk;
  };
  // Skipped: a shared secret, an encryption key, another curve, another algorithm.
  const Json oct = {{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "h"}};
  absl::StatusOr<Jwks> mixed = Jwks::Parse(
      set({oct, with(rsa, "use", "enc"), with(ec, "crv", "P-384"), with(rsa, "alg", "PS256"), ec}));
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_EQ(mixed->size(), 1u);
  EXPECT_EQ(mixed->Find("h", JwtAlg::kRS256), nullptr);

  // Refused.
  Json off_curve = ec;
  off_curve["y"] = off_curve["x"];
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"not JSON", "{"},
      {"not an object", "[]"},
      {"no keys", "{}"},
      {"keys not an array", R"({"keys":{}})"},
      {"no usable key", set({oct})},
      {"empty set", set({})},
      {"key not an object", set({Json(3)})},
      {"kid not a string", set({with(rsa, "kid", 5)})},
      {"RSA without n", set({[&] {
         Json k = rsa;
         k.erase("n");
         return k;
       }()})},
      {"RSA n not base64url", set({with(rsa, "n", "***")})},
      {"RSA 1024-bit modulus", set({with(rsa, "n", Base64UrlEncode(std::string(128, '\xff')))})},
      {"RSA even exponent", set({with(rsa, "e", "AAE")})},
      {"RSA huge exponent", set({with(rsa, "e", Base64UrlEncode(std::string(300, '\x01')))})},
      {"EC point off the curve", set({off_curve})},
      {"EC short x", set({with(ec, "x", "AAAA")})},
      {"too large", std::string(kMaxJwksBytes + 1, ' ')},
  };
  for (const auto& [name, text] : bad) {
    absl::StatusOr<Jwks> keys = Jwks::Parse(text);
    EXPECT_TRUE(absl::IsInvalidArgument(keys.status())) << name << ": " << keys.status();
  }
}

TEST_F(IdentityUnitTest, JwksFileReloadsWhenItChangesAtMostOnceASecond) {
  testing::TempDir dir;
  SimulatedClock clock(kNow);
  const std::string path = dir.Write("jwks.json", idp_->Jwks());
  absl::StatusOr<std::unique_ptr<JwksFile>> file = JwksFile::Open(path, &clock);
  ASSERT_TRUE(file.ok()) << file.status();
  const std::shared_ptr<const Jwks> first = (*file)->Current();
  EXPECT_EQ(first->size(), 2u);

  // Rotation: a new key replaces the old ones.
  FakeIdentityProvider next;
  next.AddKey("rsa-2", idp_->key(0));
  dir.Write("jwks.json", next.Jwks());
  clock.Advance(absl::Milliseconds(999));
  EXPECT_EQ((*file)->Current(), first) << "looked again within a second";
  clock.Advance(absl::Milliseconds(1));
  std::shared_ptr<const Jwks> second = (*file)->Current();
  ASSERT_EQ(second->size(), 1u);
  EXPECT_NE(second->Find("rsa-2", JwtAlg::kRS256), nullptr);
  EXPECT_EQ((*file)->reloads(), 1);
  // Unchanged: not parsed again.
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ((*file)->Current(), second);
  EXPECT_EQ((*file)->reloads(), 1);
  // A broken file keeps the last good keys; a missing one too.
  dir.Write("jwks.json", "{broken");
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ((*file)->Current(), second);
  unlink(path.c_str());
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ((*file)->Current(), second);
  // And a file that never parsed is a start-up error naming it.
  EXPECT_FALSE(JwksFile::Open(dir.path() + "/none.json", &clock).ok());
  absl::StatusOr<std::unique_ptr<JwksFile>> broken =
      JwksFile::Open(dir.Write("bad.json", "{}"), &clock);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("bad.json"), absl::string_view::npos);
}

TEST(SessionTest, SessionsAreUnforgeable) {
  SessionSigner signer("secret-1");
  std::string user;
  const std::string session = signer.NewSession(&user);
  EXPECT_EQ(user.rfind("anon-", 0), 0u);
  EXPECT_EQ(signer.UserOf(session), user);
  EXPECT_EQ(signer.Issue(user), session);
  EXPECT_EQ(SessionSigner("secret-2").UserOf(session), std::nullopt);
  std::string other;
  signer.NewSession(&other);
  EXPECT_NE(other, user);
  // Another user's name with this MAC, a changed MAC, junk.
  const std::string mac = session.substr(session.rfind('.'));
  EXPECT_EQ(signer.UserOf("victim" + mac), std::nullopt);
  std::string flipped = session;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(signer.UserOf(flipped), std::nullopt);
  for (const char* junk : {"", ".", "anon-1", "anon-1.", ".abc", "a.b.c"}) {
    EXPECT_EQ(signer.UserOf(junk), std::nullopt) << junk;
  }
  EXPECT_EQ(signer.UserOf(std::string(kMaxSessionLength + 1, 'a')), std::nullopt);
  // A signed id the room would refuse is refused too.
  EXPECT_EQ(signer.UserOf(signer.Issue("bad id!")), std::nullopt);

  EXPECT_EQ(CookieValue("a=1; admission_session=xyz; b=2", kSessionCookie), "xyz");
  EXPECT_EQ(CookieValue("admission_session=xyz", kSessionCookie), "xyz");
  EXPECT_EQ(CookieValue("xadmission_session=1; b", kSessionCookie), "");
  EXPECT_EQ(CookieValue("", kSessionCookie), "");
}

TEST(IdentityModeTest, SubjectsAndHostsAndFlags) {
  EXPECT_EQ(UserIdOfSubject("user-42@example.com"), "user-42@example.com");
  const std::string hashed = UserIdOfSubject("auth0|1234");
  EXPECT_EQ(hashed.rfind("sub:", 0), 0u);
  EXPECT_EQ(hashed, UserIdOfSubject("auth0|1234"));
  EXPECT_NE(hashed, UserIdOfSubject("auth0|1235"));
  EXPECT_EQ(UserIdOfSubject(std::string(129, 'a')).rfind("sub:", 0), 0u);

  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("::"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));

  auto parse = [](std::vector<std::string> args) {
    GatewayFlags flags;
    return ParseFlags(args, &flags).status();
  };
  EXPECT_TRUE(parse({}).ok());
  EXPECT_TRUE(parse({"--identity=trusted"}).ok());
  EXPECT_TRUE(
      parse({"--identity=jwt", "--jwks_file=/k", "--jwt_issuer=i", "--jwt_audience=a"}).ok());
  EXPECT_FALSE(parse({"--identity=oauth"}).ok());
  EXPECT_FALSE(parse({"--identity=jwt", "--jwt_issuer=i", "--jwt_audience=a"}).ok());
  EXPECT_FALSE(parse({"--identity=jwt", "--jwks_file=/k", "--jwt_audience=a"}).ok());
  EXPECT_FALSE(parse({"--identity=jwt", "--jwks_file=/k", "--jwt_issuer=i"}).ok());
  EXPECT_FALSE(parse({"--jwks_file=/k"}).ok());
  EXPECT_FALSE(parse({"--session_cookie_secure=maybe"}).ok());
  EXPECT_TRUE(parse({"--session_cookie_secure=true"}).ok());
}

}  // namespace
}  // namespace admission::gateway
