// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Who the user is (--identity), against the real admission-gateway binary. jwt mode: a fake
// identity provider (keys made at test time, its JWKS in a temporary directory) and a table of
// broken tokens, each 401 with WWW-Authenticate; valid RS256 and ES256 tokens admitted; two tabs
// of one sub sharing one place; a stolen waiting or admission token useless without its
// owner's JWT; a rotated JWKS picked up. anonymous mode (the default): the session cookie and
// header, a body's user_id ignored, forged sessions, the Secure flag behind HTTPS. trusted mode:
// the body's user_id, and the start-up warning on a public address.
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fake_identity_provider.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "support/gateway_client.h"
#include "support/gateway_process.h"

namespace admission::gateway::testing {
namespace {

using Json = nlohmann::json;

constexpr char kAdminToken[] = "identity-admin";

std::string JoinBody(const std::string& event, const std::string& user = "") {
  Json body = {{"event_id", event}};
  if (!user.empty()) body["user_id"] = user;
  return body.dump();
}

httplib::Headers WithJwt(const std::string& jwt, httplib::Headers h = {}) {
  h.emplace("Authorization", "Bearer " + jwt);
  return h;
}

// Checks a refusal of the identity token: 401, the challenge with invalid_token, the JSON error.
void ExpectInvalidToken(const httplib::Result& r, const std::string& what) {
  ASSERT_TRUE(r) << what;
  EXPECT_EQ(r->status, 401) << what << ": " << r->body;
  const std::string challenge = r->get_header_value("WWW-Authenticate");
  EXPECT_EQ(challenge.rfind("Bearer ", 0), 0u) << what << ": " << challenge;
  EXPECT_NE(challenge.find("error=\"invalid_token\""), std::string::npos)
      << what << ": " << challenge;
  ExpectError(r, 401, "unauthorized");
}

std::vector<std::string> JwtFlags(const std::string& jwks_path) {
  std::vector<std::string> flags = OpenRoomFlags();
  flags.insert(
      flags.end(),
      {"--identity=jwt", "--jwks_file=" + jwks_path, std::string("--jwt_issuer=") + kIssuer,
       std::string("--jwt_audience=") + kAudience, std::string("--admin_token=") + kAdminToken,
       "--token_secret=identity-secret", "--access_log=false"});
  return flags;
}

class JwtModeTest : public SharedGatewayTest<JwtModeTest> {
 public:
  static std::unique_ptr<GatewayProcess> StartSharedGateway(std::string* error) {
    idp_ = new FakeIdentityProvider;
    idp_->AddKey("rsa-1", "RS256");
    idp_->AddKey("ec-1", "ES256");
    dir_ = new TempDir;
    return GatewayProcess::Start(JwtFlags(dir_->Write("jwks.json", idp_->Jwks())), error);
  }
  static void TearDownTestSuite() {
    SharedGatewayTest<JwtModeTest>::TearDownTestSuite();
    delete dir_;
    delete idp_;
  }

 protected:
  std::string Jwt(const std::string& sub, std::size_t key = 0) const {
    return idp_->Token(key, sub, absl::Now());
  }
  // Joins `event` as `jwt`'s user: the answer.
  httplib::Result JoinAs(const std::string& jwt, const std::string& event,
                         const std::string& body_user = "") {
    return Post("/api/v1/queue/join", JoinBody(event, body_user), WithJwt(jwt));
  }
  // Joins and enters as `sub`: {waiting token, admission token}.
  std::pair<std::string, std::string> Admit(const std::string& sub, const std::string& event) {
    auto r = JoinAs(Jwt(sub), event);
    EXPECT_TRUE(r && r->status == 202) << (r ? r->body : "no answer");
    if (!r || r->status != 202) return {};
    const std::string waiting = Body(r)["waiting_token"];
    r = Post("/api/v1/queue/enter", Json{{"waiting_token", waiting}}.dump(), WithJwt(Jwt(sub)));
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    if (!r || r->status != 200) return {};
    return {waiting, Body(r)["reservation_token"]};
  }

  static inline FakeIdentityProvider* idp_ = nullptr;
  static inline TempDir* dir_ = nullptr;
};

TEST_F(JwtModeTest, BrokenTokensAre401WithTheChallenge) {
  const absl::Time now = absl::Now();
  const int64_t t = absl::ToUnixSeconds(now);
  const Json good = FakeIdentityProvider::Claims("victim", now);
  auto with = [&good](const char* field, Json value) {
    Json c = good;
    c[field] = std::move(value);
    return c;
  };
  const FakeIdentityProvider::Key& rsa = idp_->key(0);
  const std::string valid = FakeIdentityProvider::Sign(rsa, good);
  const std::vector<std::pair<std::string, std::string>> table = {
      {"alg none", FakeIdentityProvider::Unsigned(good)},
      {"HS256 signed with the public key", FakeIdentityProvider::HmacWithPublicKey(rsa, good)},
      {"expired", FakeIdentityProvider::Sign(rsa, with("exp", t - 120))},
      {"not yet valid", FakeIdentityProvider::Sign(rsa, with("nbf", t + 120))},
      {"wrong iss", FakeIdentityProvider::Sign(rsa, with("iss", "https://evil.test/"))},
      {"wrong aud", FakeIdentityProvider::Sign(rsa, with("aud", "another-app"))},
      {"unknown kid", FakeIdentityProvider::Sign({"rsa-404", "RS256", rsa.pkey}, good)},
      {"tampered payload", FakeIdentityProvider::Tampered(valid, with("sub", "attacker"))},
      {"truncated signature", FakeIdentityProvider::Truncated(valid, 12)},
      {"not a JWT", "hello"},
  };
  for (const auto& [what, token] : table) {
    ExpectInvalidToken(JoinAs(token, "bad-tokens"), what);
  }
  // No token at all: the challenge without an error (RFC 6750, 3.1), and the JSON error.
  auto r = Post("/api/v1/queue/join", JoinBody("bad-tokens"));
  ExpectError(r, 401, "unauthorized");
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"admission\"");
  // Nobody joined.
  r = Get("/admin/v1/events/bad-tokens/stats", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404) << r->body;
}

TEST_F(JwtModeTest, ValidRs256AndEs256TokensAreAdmitted) {
  for (std::size_t key : {0, 1}) {
    const std::string sub = key == 0 ? "rs-user" : "es-user";
    auto r = JoinAs(Jwt(sub, key), "valid");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    EXPECT_EQ(Body(r)["user_id"], sub);
    EXPECT_FALSE(Body(r).contains("session"));
    EXPECT_FALSE(r->has_header("Set-Cookie"));
    const std::string waiting = Body(r)["waiting_token"];
    r = Post("/api/v1/queue/enter", Json{{"waiting_token", waiting}}.dump(),
             WithJwt(Jwt(sub, key)));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const std::string admission = Body(r)["reservation_token"];
    // Complete: the gateway's token in X-Admission-Token, the user's JWT in Authorization.
    r = Post("/api/v1/queue/complete", "",
             WithJwt(Jwt(sub, key), {{"X-Admission-Token", admission}}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(Body(r)["user_id"], sub);
  }
  // A sub that is not a user id the room accepts gets a stable id of its own.
  auto a = JoinAs(Jwt("auth0|1234"), "odd-sub");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->status, 202) << a->body;
  EXPECT_EQ(Body(a)["user_id"].get<std::string>().rfind("sub:", 0), 0u);
}

TEST_F(JwtModeTest, TwoTabsWithTheSameSubShareOnePlace) {
  auto first = JoinAs(Jwt("tabby"), "tabs");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 202) << first->body;
  EXPECT_EQ(Body(first)["resumed"], false);
  // The second tab has a token of its own (a fresh one from the provider), same sub.
  auto second = JoinAs(Jwt("tabby", 1), "tabs");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200) << second->body;
  EXPECT_EQ(Body(second)["resumed"], true);
  EXPECT_EQ(Body(second)["waiting_token"], Body(first)["waiting_token"]);
  // Admitted, a third tab still gets the same place.
  auto r = Post("/api/v1/queue/enter", Json{{"waiting_token", Body(first)["waiting_token"]}}.dump(),
                WithJwt(Jwt("tabby")));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto third = JoinAs(Jwt("tabby"), "tabs");
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 200) << third->body;
  EXPECT_EQ(Body(third)["waiting_token"], Body(first)["waiting_token"]);
  EXPECT_EQ(Body(third)["status"], "active");
  auto stats = Get("/admin/v1/events/tabs/stats", Bearer(kAdminToken));
  ASSERT_TRUE(stats);
  EXPECT_EQ(Body(stats)["joined_total"], 1) << stats->body;
}

TEST_F(JwtModeTest, NobodyTakesAnotherUsersPlace) {
  // The body's user_id is ignored: the attacker joins as themselves.
  auto victim = JoinAs(Jwt("victim@example.com"), "squat");
  ASSERT_TRUE(victim);
  ASSERT_EQ(victim->status, 202) << victim->body;
  const std::string victim_waiting = Body(victim)["waiting_token"];
  auto r = JoinAs(Jwt("mallory"), "squat", "victim@example.com");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(Body(r)["user_id"], "mallory");
  EXPECT_NE(Body(r)["waiting_token"], victim_waiting);

  // A stolen waiting token cannot enter or leave without the victim's JWT.
  const std::string enter = Json{{"waiting_token", victim_waiting}}.dump();
  ExpectError(Post("/api/v1/queue/enter", enter, WithJwt(Jwt("mallory"))), 403, "forbidden");
  ExpectError(Post("/api/v1/queue/enter", enter), 401, "unauthorized");
  ExpectError(client_->Delete(("/api/v1/queue/leave?token=" + victim_waiting).c_str(),
                              WithJwt(Jwt("mallory"))),
              403, "forbidden");
  r = Get("/api/v1/queue/status?token=" + victim_waiting);
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["status"], "ready") << r->body;

  // A stolen admission token cannot hold, complete or be used as the JWT.
  r = Put("/admin/v1/events/squat/inventory", R"({"general_admission":10})", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  r = Post("/api/v1/queue/enter", enter, WithJwt(Jwt("victim@example.com")));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string admission = Body(r)["reservation_token"];
  const std::string hold = R"({"event_id":"squat","quantity":1})";
  ExpectError(
      Post("/api/v1/reservations", hold,
           WithJwt(Jwt("mallory"), {{"X-Admission-Token", admission}, {"Idempotency-Key", "m-1"}})),
      403, "forbidden");
  ExpectError(Post("/api/v1/reservations", hold,
                   {{"X-Admission-Token", admission}, {"Idempotency-Key", "m-2"}}),
              401, "unauthorized");
  // In jwt mode Authorization carries the JWT: the admission token there is not taken as the
  // gateway's token (401, asking for X-Admission-Token), nor as a JWT.
  r = Post("/api/v1/reservations", hold,
           {{"Authorization", "Bearer " + admission}, {"Idempotency-Key", "m-3"}});
  ExpectError(r, 401, "unauthorized");
  EXPECT_NE(r->body.find("X-Admission-Token"), std::string::npos) << r->body;
  ExpectInvalidToken(Post("/api/v1/reservations", hold,
                          {{"Authorization", "Bearer " + admission},
                           {"X-Admission-Token", admission},
                           {"Idempotency-Key", "m-4"}}),
                     "the admission token as the JWT");
  ExpectError(Post("/api/v1/queue/complete", "",
                   WithJwt(Jwt("mallory"), {{"X-Admission-Token", admission}})),
              403, "forbidden");
  // The victim holds and pays.
  r = Post("/api/v1/reservations", hold,
           WithJwt(Jwt("victim@example.com"),
                   {{"X-Admission-Token", admission}, {"Idempotency-Key", "v-1"}}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const std::string id = Body(r)["reservation_id"];
  const std::string scoped = Body(r)["reservation_token"];
  const std::string pay = Json{
      {"reservation_id", id},
      {"amount", 1000},
      {"currency", "EUR"},
      {"scenario", "approve"}}.dump();
  ExpectError(
      Post("/api/v1/payment/intent", pay, WithJwt(Jwt("mallory"), {{"X-Admission-Token", scoped}})),
      403, "forbidden");
  r = Post("/api/v1/payment/intent", pay,
           WithJwt(Jwt("victim@example.com"), {{"X-Admission-Token", scoped}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
}

// The page in jwt mode, in headless Chromium: given the JWT in its fragment it joins, enters
// and shows the admission; without one it asks the user to sign in. Skipped where Debian's
// chromium is not installed.
TEST_F(JwtModeTest, BrowserPageSignsInWithTheFragmentsToken) {
  if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "chromium is not installed";
  auto page = [this](const std::string& path) {
    char profile[] = "/tmp/admission-identity-chromium-XXXXXX";
    if (mkdtemp(profile) == nullptr) return std::string();
    const std::string command =
        std::string(
            "timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu "
            "--disable-background-networking --disable-dev-shm-usage --user-data-dir=") +
        profile + " --virtual-time-budget=5000 --dump-dom 'http://127.0.0.1:" +
        std::to_string(gateway_->port()) + path + "' 2>/dev/null";
    int code = -1;
    const std::string dom = CommandOutput(command, &code);
    CommandOutput(std::string("rm -rf ") + profile, &code);
    return dom;
  };
  std::string dom = page("/?event=jwt-page#id_token=" + Jwt("page-user"));
  EXPECT_NE(dom.find("data-state=\"admitted\""), std::string::npos) << dom;
  auto r = Get("/admin/v1/events/jwt-page/stats", Bearer(kAdminToken));
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["admitted_total"], 1) << r->body;
  dom = page("/?event=jwt-page-2");
  EXPECT_NE(dom.find("Please sign in first"), std::string::npos) << dom;
}

TEST(JwtModeRotationTest, ARotatedKeySetIsPickedUp) {
  FakeIdentityProvider idp;
  idp.AddKey("old", "RS256");
  TempDir dir;
  const std::string path = dir.Write("jwks.json", idp.Jwks());
  std::string error;
  auto gateway = GatewayProcess::Start(JwtFlags(path), &error);
  ASSERT_NE(gateway, nullptr) << error;
  auto client = gateway->Client();
  auto join = [&client](const std::string& jwt, const std::string& event) {
    return client->Post("/api/v1/queue/join", WithJwt(jwt), JoinBody(event), "application/json");
  };
  const std::string old_token = idp.Token(0, "early", absl::Now());
  auto r = join(old_token, "rot-1");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;

  // The provider rotates: a new key only, the file replaced as a deploy would.
  idp.DropKeys();
  idp.AddKey("new", "RS256");
  dir.Write("jwks.json", idp.Jwks());
  const std::string new_token = idp.Token(0, "late", absl::Now());
  // The gateway looks at the file at most once a second: a bounded wait for that look.
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
    r = join(new_token, "rot-" + std::to_string(i + 2));
    ASSERT_TRUE(r);
    status = r->status;
    if (status == 202) break;
    ExpectInvalidToken(r, "the new key before the reload");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 202) << "the new key was never accepted";
  // And the old key is gone.
  ExpectInvalidToken(join(old_token, "rot-old"), "the old key after the rotation");
}

TEST(JwtModeStartTest, AMissingOrBrokenKeySetStopsTheStart) {
  TempDir dir;
  for (const std::string& path :
       {dir.path() + "/absent.json", dir.Write("broken.json", "{}"),
        dir.Write("hmac.json", R"({"keys":[{"kty":"oct","k":"c2Vj"}]})")}) {
    const GatewayProcess::Exit exit =
        GatewayProcess::RunToExit(JwtFlags(path), std::chrono::seconds(15));
    EXPECT_TRUE(exit.exited) << path;
    EXPECT_EQ(exit.code, 1) << path << ": " << exit.stderr_text;
    EXPECT_NE(exit.stderr_text.find("jwks_file"), std::string::npos) << exit.stderr_text;
  }
  // Flags jwt mode needs.
  const GatewayProcess::Exit exit =
      GatewayProcess::RunToExit({"--identity=jwt", "--jwks_file=/x"}, std::chrono::seconds(15));
  EXPECT_EQ(exit.code, 2) << exit.stderr_text;
  EXPECT_NE(exit.stderr_text.find("--jwt_issuer"), std::string::npos) << exit.stderr_text;
}

// The default mode: the gateway issues the identity.
class AnonymousModeTest : public SharedGatewayTest<AnonymousModeTest> {
 public:
  static std::unique_ptr<GatewayProcess> StartSharedGateway(std::string* error) {
    std::vector<std::string> flags = OpenRoomFlags();
    flags.insert(flags.end(), {std::string("--admin_token=") + kAdminToken,
                               "--token_secret=anonymous-secret", "--access_log=false"});
    return GatewayProcess::Start(flags, error);
  }
};

// The session cookie's value in a Set-Cookie header.
std::string CookieOf(const httplib::Result& r) {
  const std::string set = r->get_header_value("Set-Cookie");
  const std::size_t eq = set.find('=');
  return set.substr(eq + 1, set.find(';') - eq - 1);
}

TEST_F(AnonymousModeTest, AJoinGetsASessionAndKeepsItsPlace) {
  auto r = Post("/api/v1/queue/join", JoinBody("anon"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  const Json first = Body(r);
  const std::string user = first["user_id"];
  const std::string session = first["session"];
  EXPECT_EQ(user.rfind("anon-", 0), 0u);
  EXPECT_EQ(session.rfind(user + ".", 0), 0u);
  const std::string cookie = r->get_header_value("Set-Cookie");
  EXPECT_EQ(cookie.rfind("admission_session=" + session + ";", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Lax"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("Path=/"), std::string::npos) << cookie;
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << "plain HTTP: " << cookie;

  // The same session, by header (API clients) or cookie (browsers): the same place, no new
  // cookie.
  for (const httplib::Headers& h :
       {httplib::Headers{{"X-Admission-Session", session}},
        httplib::Headers{{"Cookie", "theme=dark; admission_session=" + CookieOf(r)}}}) {
    auto again = Post("/api/v1/queue/join", JoinBody("anon"), h);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200) << again->body;
    EXPECT_EQ(Body(again)["resumed"], true);
    EXPECT_EQ(Body(again)["waiting_token"], first["waiting_token"]);
    EXPECT_EQ(Body(again)["user_id"], user);
    EXPECT_FALSE(again->has_header("Set-Cookie"));
  }
  // The same identity in another event is another place.
  auto other = Post("/api/v1/queue/join", JoinBody("anon-2"), {{"X-Admission-Session", session}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 202) << other->body;
  EXPECT_EQ(Body(other)["user_id"], user);
}

TEST_F(AnonymousModeTest, NobodyTakesAnotherUsersPlace) {
  auto r = Post("/api/v1/queue/join", JoinBody("anon-squat"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  const std::string victim = Body(r)["user_id"];
  const std::string victim_token = Body(r)["waiting_token"];
  const std::string victim_session = Body(r)["session"];
  // Naming the victim in the body: ignored, a new identity of one's own.
  auto squat = Post("/api/v1/queue/join", JoinBody("anon-squat", victim));
  ASSERT_TRUE(squat);
  EXPECT_EQ(squat->status, 202) << squat->body;
  EXPECT_NE(Body(squat)["user_id"], victim);
  EXPECT_NE(Body(squat)["waiting_token"], victim_token);
  // A forged session (the victim's id, another MAC): a new identity too.
  const std::string mallory_session = Body(squat)["session"];
  const std::string forged = victim + mallory_session.substr(mallory_session.rfind('.'));
  auto forged_join =
      Post("/api/v1/queue/join", JoinBody("anon-squat"), {{"X-Admission-Session", forged}});
  ASSERT_TRUE(forged_join);
  EXPECT_EQ(forged_join->status, 202) << forged_join->body;
  EXPECT_NE(Body(forged_join)["user_id"], victim);
  // The victim still has the one place.
  auto mine =
      Post("/api/v1/queue/join", JoinBody("anon-squat"), {{"X-Admission-Session", victim_session}});
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->status, 200) << mine->body;
  EXPECT_EQ(Body(mine)["waiting_token"], victim_token);
}

TEST_F(AnonymousModeTest, TheCookieIsSecureBehindHttpsAndTokensTakeEitherHeader) {
  auto r = Post("/api/v1/queue/join", JoinBody("anon-tls"), {{"X-Forwarded-Proto", "https"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  EXPECT_NE(r->get_header_value("Set-Cookie").find("; Secure"), std::string::npos)
      << r->get_header_value("Set-Cookie");
  // The admission token: X-Admission-Token, or Authorization: Bearer outside jwt mode.
  for (const char* header : {"X-Admission-Token", "Authorization"}) {
    const std::string admission = testing::Admit(*client_, "anon-tokens", "ignored");
    ASSERT_FALSE(admission.empty());
    const std::string value =
        std::string(header) == "Authorization" ? "Bearer " + admission : admission;
    auto done = Post("/api/v1/queue/complete", "", {{header, value}});
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, 200) << header << ": " << done->body;
  }
}

TEST(TrustedModeTest, TheBodyNamesTheUserAndAPublicAddressIsWarnedOf) {
  std::vector<std::string> flags = OpenRoomFlags();
  flags.insert(flags.end(), {"--identity=trusted", "--listen=0.0.0.0:0"});
  std::string error;
  auto gateway = GatewayProcess::Start(flags, &error);
  ASSERT_NE(gateway, nullptr) << error;
  auto client = gateway->Client();
  auto r = client->Post("/api/v1/queue/join", JoinBody("trusted", "bob@example.com"),
                        "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(Body(r)["user_id"], "bob@example.com");
  EXPECT_FALSE(r->has_header("Set-Cookie"));
  // The back end vouches for the user: the same user again gets the same place.
  auto again = client->Post("/api/v1/queue/join", JoinBody("trusted", "bob@example.com"),
                            "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(Body(again)["waiting_token"], Body(r)["waiting_token"]);
  EXPECT_NE(gateway->WaitForStderrLine("--identity=trusted on 0.0.0.0:0"), "");
  // A loopback listener has nothing to warn of.
  std::vector<std::string> local = OpenRoomFlags();
  local.push_back("--identity=trusted");
  auto quiet = GatewayProcess::Start(local, &error);
  ASSERT_NE(quiet, nullptr) << error;
  EXPECT_EQ(quiet->Stderr().find("warning: --identity=trusted"), std::string::npos);
}

}  // namespace
}  // namespace admission::gateway::testing
