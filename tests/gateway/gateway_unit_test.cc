// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// Unit tests of the gateway's pieces, in-process and with explicit time (no sleeping).
#include <string>
#include <vector>

#include "admission/clock.h"
#include "admission/room/waiting_room.h"
#include "admission/ticketing/ticketing.h"
#include "flags.h"
#include "gtest/gtest.h"
#include "idempotency.h"
#include "json_codec.h"
#include "rate_limiter.h"
#include "route_table.h"
#include "server.h"
#include "signer.h"

namespace admission::gateway {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

ReservationClaims SomeClaims() {
  ReservationClaims c;
  c.event_id = "concert";
  c.user_id = "user-1";
  c.waiting_token = "concert.0123456789abcdef0123456789abcdef";
  c.reservation_id = "concert.fedcba9876543210fedcba9876543210";
  c.expires_at = kT0 + absl::Seconds(30);
  return c;
}

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string data;
  for (int n = 0; n < 40; ++n) {
    absl::StatusOr<std::string> back = Base64UrlDecode(Base64UrlEncode(data));
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_EQ(*back, data);
    data.push_back(static_cast<char>(n * 37 + 200));
  }
  EXPECT_FALSE(Base64UrlDecode("a").ok());
  EXPECT_FALSE(Base64UrlDecode("ab+c").ok());
  EXPECT_FALSE(Base64UrlDecode("AB").ok());  // non-canonical: leftover bits set
}

TEST(SignerTest, SignedClaimsVerify) {
  TokenSigner signer("secret");
  const std::string token = signer.Sign(SomeClaims());
  absl::StatusOr<ReservationClaims> c = signer.Verify(token, kT0);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->event_id, "concert");
  EXPECT_EQ(c->user_id, "user-1");
  EXPECT_EQ(c->waiting_token, SomeClaims().waiting_token);
  EXPECT_EQ(c->reservation_id, SomeClaims().reservation_id);
  EXPECT_EQ(c->expires_at, kT0 + absl::Seconds(30));
}

TEST(SignerTest, AnyOtherGatewayWithTheSecretVerifies) {
  const std::string token = TokenSigner("shared").Sign(SomeClaims());
  EXPECT_TRUE(TokenSigner("shared").Verify(token, kT0).ok());
  absl::StatusOr<ReservationClaims> other = TokenSigner("other").Verify(token, kT0);
  EXPECT_TRUE(absl::IsUnauthenticated(other.status()));
}

TEST(SignerTest, EveryTamperedCharacterIsRefused) {
  TokenSigner signer("secret");
  const std::string token = signer.Sign(SomeClaims());
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '.') continue;
    std::string bad = token;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_TRUE(absl::IsUnauthenticated(signer.Verify(bad, kT0).status())) << i;
  }
  EXPECT_FALSE(signer.Verify("", kT0).ok());
  EXPECT_FALSE(signer.Verify("abc", kT0).ok());
  EXPECT_FALSE(signer.Verify("a.b.c", kT0).ok());
  EXPECT_FALSE(signer.Verify(token + "A", kT0).ok());
  EXPECT_FALSE(signer.Verify(std::string(5000, 'a') + ".b", kT0).ok());
}

TEST(SignerTest, ExpiredTokensAreRefused) {
  TokenSigner signer("secret");
  const std::string token = signer.Sign(SomeClaims());
  EXPECT_TRUE(signer.Verify(token, kT0 + absl::Seconds(29)).ok());
  absl::StatusOr<ReservationClaims> late = signer.Verify(token, kT0 + absl::Seconds(30));
  ASSERT_TRUE(absl::IsUnauthenticated(late.status()));
  EXPECT_NE(late.status().message().find("expired"), absl::string_view::npos);
}

TEST(ConstantTimeEqualsTest, ComparesContent) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

TEST(RateLimiterTest, BurstThenRefill) {
  RateLimiter limiter(2, 3, 1000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("a", kT0).allowed) << i;
  RateLimiter::Decision d = limiter.Allow("a", kT0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, absl::Milliseconds(500));
  EXPECT_TRUE(limiter.Allow("b", kT0).allowed);  // buckets are per key
  EXPECT_FALSE(limiter.Allow("a", kT0 + absl::Milliseconds(400)).allowed);
  EXPECT_TRUE(limiter.Allow("a", kT0 + absl::Milliseconds(500)).allowed);
  // A clock step backwards adds nothing.
  EXPECT_FALSE(limiter.Allow("a", kT0).allowed);
}

TEST(RateLimiterTest, DisabledAllowsEverything) {
  RateLimiter limiter(0, 1, 10);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.Allow("a", kT0).allowed);
}

TEST(RateLimiterTest, MemoryIsBounded) {
  RateLimiter limiter(1, 5, 160);
  for (int i = 0; i < 10000; ++i) limiter.Allow("client-" + std::to_string(i), kT0);
  EXPECT_LE(limiter.size(), 160u);
}

// Idempotency-Keys live in the library's IdempotencyStore (here the in-memory one, on a
// simulated clock); the gateway adds the stored answer's encoding.
TEST(IdempotencyTest, ReplayMismatchInProgressAndExpiry) {
  SimulatedClock clock(kT0);
  TicketingOptions options;
  options.clock = &clock;
  absl::StatusOr<Ticketing> t = NewMemoryTicketing(options);
  ASSERT_TRUE(t.ok()) << t.status();
  IdempotencyKeys keys(t->idempotency.get());
  absl::StatusOr<IdempotencyKeys::Lookup> first = keys.Begin("k", "fp1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->outcome, IdempotencyOutcome::kStarted);
  EXPECT_EQ(keys.Begin("k", "fp1")->outcome, IdempotencyOutcome::kInProgress);
  keys.Finish("k", first->lease,
              StoredResponse{202, "application/json", "{\"a\":1}", {{"Retry-After", "3"}}});
  clock.Advance(absl::Minutes(1));
  absl::StatusOr<IdempotencyKeys::Lookup> replay = keys.Begin("k", "fp1");
  ASSERT_EQ(replay->outcome, IdempotencyOutcome::kReplay);
  EXPECT_EQ(replay->response.status, 202);
  EXPECT_EQ(replay->response.content_type, "application/json");
  EXPECT_EQ(replay->response.body, "{\"a\":1}");
  ASSERT_EQ(replay->response.headers.size(), 1u);
  EXPECT_EQ(replay->response.headers[0].second, "3");
  EXPECT_EQ(keys.Begin("k", "fp2")->outcome, IdempotencyOutcome::kMismatch);
  // Five minutes after the answer was kept, the key is new again.
  clock.Advance(absl::Minutes(4));
  EXPECT_EQ(keys.Begin("k", "fp2")->outcome, IdempotencyOutcome::kStarted);
}

TEST(IdempotencyTest, AbandonedKeysCanRunAgain) {
  absl::StatusOr<Ticketing> t = NewMemoryTicketing();
  ASSERT_TRUE(t.ok()) << t.status();
  IdempotencyKeys keys(t->idempotency.get());
  absl::StatusOr<IdempotencyKeys::Lookup> first = keys.Begin("k", "fp");
  ASSERT_EQ(first->outcome, IdempotencyOutcome::kStarted);
  keys.Abandon("k", first->lease);
  EXPECT_EQ(keys.Begin("k", "fp")->outcome, IdempotencyOutcome::kStarted);
}

TEST(IdempotencyTest, StoredResponsesRoundTripAndBadBytesAreRefused) {
  const StoredResponse r{409,
                         "application/json; charset=utf-8",
                         "{\"x\":\"\\u00e9\"}",
                         {{"WWW-Authenticate", "Bearer"}, {"Cache-Control", "no-store"}}};
  absl::StatusOr<StoredResponse> back = DecodeStoredResponse(EncodeStoredResponse(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->status, r.status);
  EXPECT_EQ(back->content_type, r.content_type);
  EXPECT_EQ(back->body, r.body);
  EXPECT_EQ(back->headers, r.headers);
  for (const char* bad : {"", "[]", "{\"s\":200}", "{\"s\":\"200\",\"t\":\"\",\"b\":\"\",\"h\":[]}",
                          "{\"s\":99,\"t\":\"\",\"b\":\"\",\"h\":[]}",
                          "{\"s\":200,\"t\":\"\",\"b\":\"\",\"h\":[[1,2]]}"}) {
    EXPECT_FALSE(DecodeStoredResponse(bad).ok()) << bad;
  }
}

TEST(FlagsTest, DefaultsAndValues) {
  GatewayFlags flags;
  ASSERT_TRUE(ParseFlags({}, &flags).ok());
  EXPECT_EQ(flags.listen_host, "127.0.0.1");
  EXPECT_EQ(flags.listen_port, 8080);
  EXPECT_EQ(flags.store, "memory");

  GatewayFlags f;
  absl::StatusOr<FlagsOutcome> r = ParseFlags(
      {"--listen=0.0.0.0:9000", "--admin_token", "s3cret", "--admit_rate_per_sec=12.5", "--burst=7",
       "--access_log=false", "--wait_tiers=5:0,inf:2.5", "--reservation_ttl_sec=60"},
      &f);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, FlagsOutcome::kRun);
  EXPECT_EQ(f.listen_host, "0.0.0.0");
  EXPECT_EQ(f.listen_port, 9000);
  EXPECT_EQ(f.admin_token, "s3cret");
  EXPECT_EQ(f.default_policy.admit_rate_per_sec, 12.5);
  EXPECT_EQ(f.default_policy.burst, 7);
  EXPECT_FALSE(f.access_log);
  EXPECT_EQ(f.default_policy.reservation_ttl, absl::Seconds(60));
  ASSERT_EQ(f.default_policy.wait_tiers.size(), 2u);
  EXPECT_EQ(f.default_policy.wait_tiers[1].max_position, WaitTier::kUnboundedPosition);
  EXPECT_EQ(f.default_policy.wait_tiers[1].min_wait, absl::Milliseconds(2500));

  GatewayFlags h;
  EXPECT_EQ(*ParseFlags({"--help"}, &h), FlagsOutcome::kHelp);
}

TEST(FlagsTest, BadFlagsAreClearErrors) {
  const std::vector<std::vector<std::string>> bad = {
      {"--nope=1"},           {"--threads=many"},
      {"--threads=0"},        {"--listen=8080"},
      {"--listen=h:99999"},   {"--store=mysql://x"},
      {"--burst=-1"},         {"--wait_tiers=5:1,10:0,inf:2"},
      {"--access_log=maybe"}, {"positional"},
      {"--admin_token"}};
  for (const auto& args : bad) {
    GatewayFlags f;
    absl::StatusOr<FlagsOutcome> r = ParseFlags(args, &f);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << args[0];
  }
}

TEST(FlagsTest, HelpShowsEveryDefault) {
  const std::string help = FlagsHelp();
  EXPECT_NE(help.find("--listen=127.0.0.1:8080"), std::string::npos);
  EXPECT_NE(help.find("--admin_token=\"\""), std::string::npos);
  EXPECT_NE(help.find("--wait_tiers=10:0,50:2,inf:5"), std::string::npos);
  EXPECT_NE(help.find("--heartbeat_ttl_sec=300"), std::string::npos);
  // Routes named in the help are routes the gateway serves.
  EXPECT_NE(help.find("PUT /admin/v1/events/ID/policy"), std::string::npos);
  EXPECT_EQ(help.find("/api/v1/admin/"), std::string::npos);
}

TEST(JsonCodecTest, ParseObject) {
  EXPECT_TRUE(ParseObject("{}").ok());
  EXPECT_TRUE(ParseObject("", /*empty_ok=*/true).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ParseObject("").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseObject("[]").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseObject("{\"a\":").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseObject("\"\xff\"").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseObject(std::string(10000, '[')).status()));
}

TEST(JsonCodecTest, PolicyRoundTripsAndMergesOneField) {
  Policy p;
  Policy back;
  back.burst = 1;
  ASSERT_TRUE(MergePolicyJson(PolicyToJson(p), &back).ok());
  EXPECT_EQ(back, p);

  ASSERT_TRUE(MergePolicyJson(Json::parse(R"({"admit_rate_per_sec": 7})"), &back).ok());
  EXPECT_EQ(back.admit_rate_per_sec, 7);
  EXPECT_EQ(back.burst, p.burst);

  ASSERT_TRUE(MergePolicyJson(Json::parse(R"({"wait_tiers":[{"max_position":3,"wait_sec":1},
      {"max_position":null,"wait_sec":2.5}]})"),
                              &back)
                  .ok());
  ASSERT_EQ(back.wait_tiers.size(), 2u);
  EXPECT_EQ(back.wait_tiers[1].max_position, WaitTier::kUnboundedPosition);
  EXPECT_EQ(back.wait_tiers[1].min_wait, absl::Milliseconds(2500));
}

TEST(JsonCodecTest, BadPatchesChangeNothing) {
  Policy p;
  const Policy before = p;
  for (const char* patch :
       {R"({"rate": 1})", R"({"burst": "10"})", R"({"burst": 1.5})", R"({"paused": 1})",
        R"({"wait_tiers": {}})", R"({"wait_tiers": [{"wait_sec": 1}]})",
        R"({"wait_tiers": [{"max_position": null, "wait_sec": 1, "x": 2}]})",
        R"({"admit_rate_per_sec": 5, "burst": 18446744073709551615})"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(MergePolicyJson(Json::parse(patch), &p))) << patch;
    EXPECT_EQ(p, before) << patch;
  }
}

// The policy's JSON is the admin API's contract: every member by name and form.
TEST(JsonCodecTest, PolicyJsonIsTheApiForm) {
  Policy p;
  p.wait_tiers = {{3, absl::Milliseconds(1500)}, {WaitTier::kUnboundedPosition, absl::Seconds(4)}};
  p.paused = true;
  p.paused_reason = "back soon";
  p.opens_at = absl::FromUnixSeconds(1764583200);  // 2025-12-01T10:00:00Z
  p.method = QueueMethod::kRandom;
  p.safety_net = true;
  p.queue_message = "Verkauf ab 10:30";
  const Json expected = Json::parse(R"({
      "admit_rate_per_sec": 100.0, "burst": 100, "bypass_top_n": 10, "active_capacity": 50000,
      "heartbeat_ttl_sec": 300.0, "active_ttl_sec": 600.0, "reservation_ttl_sec": 30.0,
      "ended_ttl_sec": 600.0,
      "wait_tiers": [{"max_position": 3, "wait_sec": 1.5}, {"max_position": null, "wait_sec": 4.0}],
      "rate_windows_sec": [10.0, 60.0, 300.0], "paused": true, "paused_reason": "back soon",
      "prequeue_opens_at": null, "opens_at": "2025-12-01T10:00:00.000Z", "closes_at": null,
      "method": "random", "reject_message": "", "safety_net": true, "claim_window_sec": 5.0,
      "queue_message": "Verkauf ab 10:30"})");
  EXPECT_EQ(PolicyToJson(p), expected);
  Policy back;
  ASSERT_TRUE(MergePolicyJson(expected, &back).ok());
  EXPECT_EQ(back, p);
}

TEST(FlagsTest, EveryPolicyFlagSetsItsField) {
  GatewayFlags f;
  absl::StatusOr<FlagsOutcome> r = ParseFlags(
      {"--bypass_top_n=3", "--active_capacity=9", "--heartbeat_ttl_sec=1.5", "--active_ttl_sec=2",
       "--ended_ttl_sec=4", "--method=passthrough", "--safety_net"},
      &f);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(f.default_policy.bypass_top_n, 3);
  EXPECT_EQ(f.default_policy.active_capacity, 9);
  EXPECT_EQ(f.default_policy.heartbeat_ttl, absl::Milliseconds(1500));
  EXPECT_EQ(f.default_policy.active_ttl, absl::Seconds(2));
  EXPECT_EQ(f.default_policy.ended_ttl, absl::Seconds(4));
  EXPECT_EQ(f.default_policy.method, QueueMethod::kPassthrough);
  EXPECT_TRUE(f.default_policy.safety_net);
  for (const char* bad : {"--admit_rate_per_sec=x", "--method=lifo", "--safety_net=maybe",
                          "--ended_ttl_sec=soon", "--paused=true"}) {
    GatewayFlags g;
    EXPECT_TRUE(absl::IsInvalidArgument(ParseFlags({bad}, &g).status())) << bad;
  }
}

TEST(JsonCodecTest, QueueStatusFields) {
  QueueStatus s;
  s.event_id = "e";
  s.position = 12;
  s.eta = absl::Seconds(42);
  s.eta_confidence = 0.5;
  s.waited = absl::Milliseconds(1500);
  s.poll_after = absl::Seconds(4);
  s.blocked_by = EntryBlock::kNotYourTurn;
  s.retry_after = absl::Milliseconds(1200);
  const Json j = QueueStatusToJson(s);
  EXPECT_EQ(j["status"], "waiting");
  EXPECT_EQ(j["position"], 12);
  EXPECT_EQ(j["eta_sec"], 42.0);
  EXPECT_EQ(j["waiting_time"], 1.5);
  EXPECT_EQ(j["poll_after_ms"], 4000);
  EXPECT_EQ(j["reason"], "not_your_turn");
  EXPECT_EQ(j["retry_after_sec"], 2);
  EXPECT_FALSE(j.contains("paused_reason"));

  s.eta = absl::InfiniteDuration();
  EXPECT_TRUE(QueueStatusToJson(s)["eta_sec"].is_null());
}

TEST(RouteTableTest, PlaceholdersMatchWholeSegments) {
  RouteTable t;
  const RouteTable::Handler none = [](const Request&, Response&) {};
  t.Add(RouteId::kSeats, "GET", "/api/v1/events/{event_id}/seats", {}, none);
  t.Add(RouteId::kReservationGet, "GET", "/api/v1/reservations/{reservation_id}", {}, none);
  t.Add(RouteId::kReservationCancel, "POST", "/api/v1/reservations/{reservation_id}/cancel", {},
        none);
  EXPECT_EQ(t.Classify("GET", "/api/v1/events/e-1_A/seats"), RouteId::kSeats);
  EXPECT_EQ(t.Classify("HEAD", "/api/v1/events/e-1_A/seats"), RouteId::kSeats);
  EXPECT_EQ(t.Classify("POST", "/api/v1/events/e-1_A/seats"), RouteId::kOther);
  EXPECT_EQ(t.Classify("GET", "/api/v1/events/" + std::string(64, 'e') + "/seats"),
            RouteId::kSeats);
  EXPECT_EQ(t.Classify("GET", "/api/v1/events/" + std::string(65, 'e') + "/seats"),
            RouteId::kOther);
  EXPECT_EQ(t.Classify("GET", "/api/v1/events/e.1/seats"), RouteId::kOther);
  EXPECT_EQ(t.Classify("GET", "/api/v1/events//seats"), RouteId::kOther);
  EXPECT_EQ(t.Classify("GET", "/api/v1/events/e/seats/"), RouteId::kOther);
  EXPECT_EQ(t.Classify("GET", "/api/v1/reservations/" + std::string(200, 'x')),
            RouteId::kReservationGet);
  EXPECT_EQ(t.Classify("GET", "/api/v1/reservations/" + std::string(201, 'x')), RouteId::kOther);
  EXPECT_EQ(t.Classify("GET", "/api/v1/reservations/a:b.c"), RouteId::kReservationGet);
  EXPECT_EQ(t.Classify("GET", "/api/v1/reservations/a/b"), RouteId::kOther);
  EXPECT_EQ(t.Classify("POST", "/api/v1/reservations/a/cancel"), RouteId::kReservationCancel);
  EXPECT_EQ(t.AllowedMethods("/api/v1/reservations/a/cancel"), "POST");
  EXPECT_EQ(t.AllowedMethods("/api/v1/reservations/a"), "GET");
  EXPECT_EQ(t.AllowedMethods("/nowhere"), "");
}

TEST(RouteTableTest, ClaimsLabelsAndRegexes) {
  RouteTable t;
  const RouteTable::Handler none = [](const Request&, Response&) {};
  t.Add(RouteId::kPage, "GET", "/index.html", {}, none, "pages");
  t.Claim(RouteId::kPage, "GET", "/static/{asset...}", "pages");
  t.Add(RouteId::kAdminPolicyPut, "PUT", "/admin/v1/events/{event_id}/policy", {}, none);
  EXPECT_EQ(t.Classify("GET", "/static/"), RouteId::kPage);
  EXPECT_EQ(t.Classify("GET", "/static/a/b.js"), RouteId::kPage);
  EXPECT_EQ(t.Classify("GET", "/static"), RouteId::kOther);
  EXPECT_EQ(t.Classify("GET", "/index.html"), RouteId::kPage);
  EXPECT_EQ(t.Classify("GET", "/indexxhtml"), RouteId::kOther);
  EXPECT_EQ(t.LabelOf(RouteId::kPage).pattern, "pages");
  EXPECT_EQ(t.LabelOf(RouteId::kPage).method, "GET");
  EXPECT_EQ(t.LabelOf(RouteId::kAdminPolicyPut).pattern, "/admin/v1/events/{event_id}/policy");
  EXPECT_EQ(t.LabelOf(RouteId::kAdminPolicyPut).method, "PUT");
  EXPECT_EQ(t.LabelOf(RouteId::kOther).pattern, "other");
  EXPECT_EQ(t.LabelOf(RouteId::kOther).method, "");
  // Only routes with handlers are found; a claimed path is a 404, never a 405.
  ASSERT_EQ(t.routes().size(), 3u);
  EXPECT_FALSE(t.routes()[1].handler);
  std::vector<std::string> matches;
  EXPECT_EQ(t.Find("GET", "/static/a.js", &matches), nullptr);
  EXPECT_EQ(t.AllowedMethods("/static/a.js"), "");
  const RouteTable::Route* put = t.Find("PUT", "/admin/v1/events/e-1/policy", &matches);
  ASSERT_NE(put, nullptr);
  EXPECT_EQ(put->id, RouteId::kAdminPolicyPut);
  EXPECT_EQ(matches, std::vector<std::string>{"e-1"});
  EXPECT_EQ(t.Find("GET", "/admin/v1/events/e-1/policy", &matches), nullptr);
  EXPECT_EQ(t.AllowedMethods("/admin/v1/events/e-1/policy"), "PUT");
  ASSERT_NE(t.Find("HEAD", "/index.html", &matches), nullptr);
  EXPECT_TRUE(matches.empty());
}

// The gateway's whole table: every route module's routes, each path in its class.
TEST(GatewayRoutesTest, EveryRouteHasItsClass) {
  GatewayFlags flags;
  Options options;
  options.sweep_interval = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<WaitingRoom>> room = WaitingRoom::CreateInMemory(options);
  ASSERT_TRUE(room.ok()) << room.status();
  absl::StatusOr<Ticketing> ticketing = NewMemoryTicketing();
  ASSERT_TRUE(ticketing.ok()) << ticketing.status();
  Gateway gateway(flags, *std::move(room), *std::move(ticketing), "secret");
  const RouteTable& t = gateway.routes();
  EXPECT_EQ(t.Classify("POST", "/api/v1/queue/join"), RouteId::kJoin);
  EXPECT_EQ(t.Classify("GET", "/api/v1/queue/status"), RouteId::kStatus);
  EXPECT_EQ(t.Classify("HEAD", "/api/v1/queue/status"), RouteId::kStatus);
  EXPECT_EQ(t.Classify("POST", "/api/v1/queue/enter"), RouteId::kEnter);
  EXPECT_EQ(t.Classify("DELETE", "/api/v1/queue/leave"), RouteId::kLeave);
  EXPECT_EQ(t.Classify("POST", "/api/v1/queue/complete"), RouteId::kComplete);
  EXPECT_EQ(t.Classify("GET", "/api/v1/queue/join"), RouteId::kOther);
  EXPECT_EQ(t.Classify("GET", "/api/v1/config"), RouteId::kConfig);
  EXPECT_EQ(t.Classify("GET", "/healthz"), RouteId::kHealthz);
  EXPECT_EQ(t.Classify("GET", "/readyz"), RouteId::kReadyz);
  EXPECT_EQ(t.Classify("GET", "/metrics"), RouteId::kMetrics);
  EXPECT_EQ(t.Classify("GET", "/admin/v1/events"), RouteId::kAdminEvents);
  EXPECT_EQ(t.Classify("GET", "/admin/v1/events/e-1/policy"), RouteId::kAdminPolicyGet);
  EXPECT_EQ(t.Classify("PUT", "/admin/v1/events/e-1/policy"), RouteId::kAdminPolicyPut);
  EXPECT_EQ(t.Classify("GET", "/admin/v1/events/e-1/stats"), RouteId::kAdminStats);
  EXPECT_EQ(t.Classify("PUT", "/admin/v1/events/e-1/inventory"), RouteId::kAdminInventoryPut);
  EXPECT_EQ(t.Classify("GET", "/api/v1/events/e-1/seats"), RouteId::kSeats);
  EXPECT_EQ(t.Classify("POST", "/api/v1/reservations"), RouteId::kReservationCreate);
  EXPECT_EQ(t.Classify("POST", "/api/v1/payment/intent"), RouteId::kPaymentIntent);
  EXPECT_EQ(t.Classify("GET", "/admin/v1/dead-letters"), RouteId::kAdminDeadLetters);
  for (const char* page : {"/", "/index.html", "/admin", "/operator.html", "/static/app.css",
                           "/static/waiting_room.js", "/static/operator.js", "/static/nope"}) {
    EXPECT_EQ(t.Classify("GET", page), RouteId::kPage) << page;
    EXPECT_EQ(t.Classify("POST", page), RouteId::kOther) << page;
  }
  EXPECT_EQ(t.Classify("GET", "/no/such/route"), RouteId::kOther);
  EXPECT_EQ(t.AllowedMethods("/admin/v1/events/e-1/policy"), "GET, PUT");
  EXPECT_EQ(t.AllowedMethods("/api/v1/queue/leave"), "DELETE");
  EXPECT_EQ(t.LabelOf(RouteId::kReservationGet).pattern, "/api/v1/reservations/{reservation_id}");
  EXPECT_EQ(t.LabelOf(RouteId::kAdminDeadLetterReplay).pattern,
            "/admin/v1/dead-letters/{id}/replay");
}

}  // namespace
}  // namespace admission::gateway
