// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The proof of work on join (proof_of_work.h, pow_difficulty.h, pow_gate.h, pow_routes.h):
//   - in-process, on a SimulatedClock: challenges verify with the right nonce only, tampered,
//     foreign and expired ones are refused, a challenge is spent once (in the sale's
//     IdempotencyStore, which keeps it past its expiry), the rules of `auto`, the rate meter,
//     and the flags;
//   - through the real binary: pow_required / pow_invalid / pow_expired / pow_replayed with
//     their HTTP codes and a fresh challenge inside, `off` asks nothing, an Idempotency-Key
//     refused for want of a proof runs when retried with one, and (with the Redis store) two
//     gateways on one Redis agree that a challenge is spent;
//   - the page in headless Chromium joins through a challenge, solved by its Web Worker
//     (bench/pow_browser.js drives it; skipped without chromium or node).
// An expired challenge is made by signing one with the gateway's secret at a past time, so no
// test waits for a clock.
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "admission/clock.h"
#include "admission/ticketing/ticketing.h"
#include "flags.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "pow_difficulty.h"
#include "pow_gate.h"
#include "proof_of_work.h"
#include "signer.h"
#include "support/gateway_client.h"
#include "support/gateway_process.h"

#if defined(ADMISSION_GATEWAY_TEST_WITH_REDIS)
#include "support/redis/redis_server.h"
#endif

namespace admission::gateway {
namespace {

using Json = nlohmann::json;
using testing::Body;
using testing::ExpectError;
using testing::GatewayProcess;

constexpr char kSecret[] = "pow-test-secret";

std::string Solve(const PowChallenge& c) {
  return c.text + ";" + SolvePowChallenge(c.text, c.difficulty);
}

// A nonce that does not solve `c` (one exists among the first few: each fails with
// probability 1 - 2^-difficulty).
std::string WrongSolution(const PowChallenge& c) {
  for (int n = 0;; ++n) {
    const std::string nonce = "w" + std::to_string(n);
    if (!MeetsDifficulty(c.text, nonce, c.difficulty)) return c.text + ";" + nonce;
  }
}

// --- The challenge ----------------------------------------------------------------------------

class ProofOfWorkTest : public ::testing::Test {
 protected:
  SimulatedClock clock_;
  ProofOfWork work_{kSecret, absl::Seconds(120)};
};

TEST_F(ProofOfWorkTest, AValidSolutionIsAccepted) {
  const PowChallenge c = work_.Issue("concert", 8, clock_.Now());
  EXPECT_EQ(c.expires_at, absl::FromUnixSeconds(absl::ToUnixSeconds(clock_.Now()) + 120));
  EXPECT_EQ(c.salt.size(), 32u);
  absl::StatusOr<PowChallenge> ok = work_.Verify(Solve(c), "concert", clock_.Now());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->salt, c.salt);
  EXPECT_EQ(ok->difficulty, 8);
  EXPECT_EQ(ok->text, c.text);
  // Any gateway with the secret verifies it: nothing is kept per challenge.
  ProofOfWork other(kSecret, absl::Seconds(5));
  EXPECT_TRUE(other.Verify(Solve(c), "concert", clock_.Now()).ok());
}

TEST_F(ProofOfWorkTest, AWrongNonceIsRefused) {
  const PowChallenge c = work_.Issue("concert", 12, clock_.Now());
  absl::StatusOr<PowChallenge> bad = work_.Verify(WrongSolution(c), "concert", clock_.Now());
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_NE(bad.status().message().find("12 leading zero bits"), absl::string_view::npos);
}

TEST_F(ProofOfWorkTest, ATamperedChallengeIsRefused) {
  const PowChallenge c = work_.Issue("concert", 16, clock_.Now());
  // Lowering the difficulty (and solving the easier challenge) breaks the MAC.
  std::string easier = c.text;
  easier.replace(easier.find(".16."), 4, ".1.");
  absl::StatusOr<PowChallenge> r =
      work_.Verify(easier + ";" + SolvePowChallenge(easier, 1), "concert", clock_.Now());
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("signature"), absl::string_view::npos) << r.status();
  // So does a later expiry, or another secret.
  std::string later = c.text;
  const std::string exp = std::to_string(absl::ToUnixSeconds(c.expires_at));
  later.replace(later.find(exp), exp.size(), std::to_string(absl::ToUnixSeconds(c.expires_at) + 9));
  EXPECT_TRUE(
      absl::IsInvalidArgument(work_.Verify(later + ";0", "concert", clock_.Now()).status()));
  ProofOfWork stranger("another-secret", absl::Seconds(120));
  const PowChallenge foreign = stranger.Issue("concert", 4, clock_.Now());
  EXPECT_TRUE(
      absl::IsInvalidArgument(work_.Verify(Solve(foreign), "concert", clock_.Now()).status()));
  // An authentic challenge of another event does not let one join this one.
  const PowChallenge elsewhere = work_.Issue("theatre", 4, clock_.Now());
  r = work_.Verify(Solve(elsewhere), "concert", clock_.Now());
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_NE(r.status().message().find("another event"), absl::string_view::npos) << r.status();
}

TEST_F(ProofOfWorkTest, AnExpiredChallengeIsRefused) {
  const PowChallenge c = work_.Issue("concert", 4, clock_.Now());
  const std::string solution = Solve(c);
  clock_.Advance(absl::Seconds(119));
  EXPECT_TRUE(work_.Verify(solution, "concert", clock_.Now()).ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(absl::IsOutOfRange(work_.Verify(solution, "concert", clock_.Now()).status()));
}

TEST_F(ProofOfWorkTest, MalformedSolutionsAreRefusedWithoutACrash) {
  const PowChallenge c = work_.Issue("concert", 0, clock_.Now());
  for (const std::string& s :
       std::vector<std::string>{"", ";", "abc", c.text, c.text + ";", ";123", c.text + ";12 3",
                                c.text + ";" + std::string(33, '1'), std::string(300, 'p') + ";1",
                                "p1.concert.0.1.2.3;1", c.text + ";1;2"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(work_.Verify(s, "concert", clock_.Now()).status())) << s;
  }
  // Difficulty 0 needs no work: any well-formed nonce does.
  EXPECT_TRUE(work_.Verify(c.text + ";x", "concert", clock_.Now()).ok());
}

TEST(PowParseTest, ChallengeFields) {
  const std::string mac(43, 'A');
  const std::string salt = "0123456789abcdef0123456789abcdef";
  absl::StatusOr<PowChallenge> c = ParsePowChallenge("p1.ev-1.20.1800000000." + salt + "." + mac);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->event_id, "ev-1");
  EXPECT_EQ(c->difficulty, 20);
  EXPECT_EQ(c->expires_at, absl::FromUnixSeconds(1800000000));
  for (const std::string& bad :
       {"p2.ev.1.1." + salt + "." + mac, "p1.ev.33.1." + salt + "." + mac,
        "p1.ev.01.1." + salt + "." + mac, "p1.ev.1.-1." + salt + "." + mac,
        "p1..1.1." + salt + "." + mac, "p1.ev.1.1." + salt.substr(1) + "." + mac,
        "p1.ev.1.1.0123456789ABCDEF0123456789abcdef." + mac, "p1.ev.1.1." + salt + "." + mac + "A",
        "p1.ev.1.1." + salt, "p1.e v.1.1." + salt + "." + mac,
        "p1.ev.1.9999999999999999999." + salt + "." + mac}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParsePowChallenge(bad).status())) << bad;
  }
}

TEST(PowParseTest, LeadingZeroBits) {
  EXPECT_EQ(LeadingZeroBits(std::string("\x80", 1)), 0);
  EXPECT_EQ(LeadingZeroBits(std::string("\x01", 1)), 7);
  EXPECT_EQ(LeadingZeroBits(std::string("\x00\x00\x10", 3)), 19);
  EXPECT_EQ(LeadingZeroBits(std::string(4, '\0')), 32);
  // The solver's answer meets the difficulty, checked with the library's SHA-256.
  const std::string nonce = SolvePowChallenge("p1.x", 10);
  EXPECT_GE(LeadingZeroBits(Sha256("p1.x" + nonce)), 10);
}

// --- Spending a challenge, and the difficulty ----------------------------------------------------

class PowGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TicketingOptions options;
    options.clock = &clock_;
    options.idempotency_ttl = absl::Seconds(120);
    absl::StatusOr<Ticketing> sale = NewMemoryTicketing(options);
    ASSERT_TRUE(sale.ok()) << sale.status();
    sale_ = std::move(*sale);
  }

  std::unique_ptr<PowGate> Gate(PowOptions options) {
    return std::make_unique<PowGate>(
        options, kSecret, clock_,
        [this](std::string_view event_id) -> absl::StatusOr<int64_t> {
          if (event_id == "unknown") return absl::NotFoundError("no such event");
          if (!store_up_) return absl::UnavailableError("down");
          return joins_;
        },
        sale_.idempotency.get());
  }

  static PowOptions On(int difficulty) {
    PowOptions o;
    o.mode = PowMode::kOn;
    o.difficulty = difficulty;
    o.challenge_ttl = absl::Seconds(120);
    return o;
  }

  SimulatedClock clock_;
  Ticketing sale_;
  int64_t joins_ = 0;
  bool store_up_ = true;
};

TEST_F(PowGateTest, AChallengeIsSpentOnce) {
  auto gate = Gate(On(6));
  EXPECT_EQ(gate->Difficulty("concert"), 6);
  const PowChallenge c = gate->Issue("concert", 6);
  const std::string solution = Solve(c);
  EXPECT_TRUE(gate->Redeem(solution, "concert").ok());
  absl::Status again = gate->Redeem(solution, "concert");
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  // Another gate on the same store (another gateway) agrees.
  auto other = Gate(On(6));
  EXPECT_TRUE(absl::IsAlreadyExists(other->Redeem(solution, "concert")));
  // A spent challenge stays spent until it has expired: the store keeps it a TTL from its use.
  clock_.Advance(absl::Seconds(119));
  EXPECT_TRUE(absl::IsAlreadyExists(gate->Redeem(solution, "concert")));
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(absl::IsOutOfRange(gate->Redeem(solution, "concert")));
  // Another challenge is another key.
  EXPECT_TRUE(gate->Redeem(Solve(gate->Issue("concert", 6)), "concert").ok());
}

TEST_F(PowGateTest, RefusalsKeepTheirKinds) {
  auto gate = Gate(On(8));
  const PowChallenge c = gate->Issue("concert", 8);
  EXPECT_TRUE(absl::IsInvalidArgument(gate->Redeem(WrongSolution(c), "concert")));
  // A wrong nonce does not spend the challenge.
  EXPECT_TRUE(gate->Redeem(Solve(c), "concert").ok());
  const PowChallenge old = gate->Issue("concert", 8);
  clock_.Advance(absl::Minutes(3));
  EXPECT_TRUE(absl::IsOutOfRange(gate->Redeem(Solve(old), "concert")));
}

TEST_F(PowGateTest, OffAsksNothing) {
  PowOptions o;
  o.mode = PowMode::kOff;
  auto gate = Gate(o);
  joins_ = 1000000;
  EXPECT_EQ(gate->Difficulty("concert"), 0);
}

TEST(PowAutoRuleTest, NoneUnderTheThresholdThenABitPerDoubling) {
  PowAutoRule rule;
  rule.threshold_per_sec = 50;
  rule.min_difficulty = 12;
  rule.max_difficulty = 20;
  EXPECT_EQ(AutoDifficulty(rule, 0), 0);
  EXPECT_EQ(AutoDifficulty(rule, 49.9), 0);
  EXPECT_EQ(AutoDifficulty(rule, 50), 12);
  EXPECT_EQ(AutoDifficulty(rule, 99), 12);
  EXPECT_EQ(AutoDifficulty(rule, 100), 13);
  EXPECT_EQ(AutoDifficulty(rule, 400), 15);
  EXPECT_EQ(AutoDifficulty(rule, 50 * 256), 20);
  EXPECT_EQ(AutoDifficulty(rule, 1e12), 20);
  EXPECT_EQ(AutoDifficulty(rule, std::numeric_limits<double>::infinity()), 20);
  EXPECT_EQ(AutoDifficulty(rule, std::numeric_limits<double>::quiet_NaN()), 0);
}

TEST_F(PowGateTest, AutoFollowsTheStoresJoinRate) {
  PowOptions o;
  o.mode = PowMode::kAuto;
  o.rule.threshold_per_sec = 50;
  o.rule.min_difficulty = 12;
  o.rule.max_difficulty = 14;
  o.rate_interval = absl::Seconds(1);
  auto gate = Gate(o);
  joins_ = 5000;
  // The first look takes the first sample: no rate yet, so no proof.
  EXPECT_EQ(gate->Difficulty("concert"), 0);
  // Calm: 10 joins in a second.
  clock_.Advance(absl::Seconds(1));
  joins_ += 10;
  EXPECT_EQ(gate->Difficulty("concert"), 0);
  // A rush: 60 joins/s, then 240/s (two doublings; capped at 14 beyond).
  clock_.Advance(absl::Seconds(1));
  joins_ += 60;
  EXPECT_EQ(gate->Difficulty("concert"), 12);
  // Within the interval the last rate holds, whatever the count does.
  joins_ += 100000;
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_EQ(gate->Difficulty("concert"), 12);
  clock_.Advance(absl::Milliseconds(500));
  joins_ -= 100000;
  joins_ += 240;
  EXPECT_EQ(gate->Difficulty("concert"), 14);
  // A store that does not answer keeps the last difficulty; calm again brings it down to 0.
  store_up_ = false;
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(gate->Difficulty("concert"), 14);
  store_up_ = true;
  joins_ += 3;
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(gate->Difficulty("concert"), 0);
  // An unknown event has no joins; events are measured apart.
  EXPECT_EQ(gate->Difficulty("unknown"), 0);
  EXPECT_EQ(gate->Difficulty("other"), 0);
}

TEST(JoinRateMeterTest, RateBetweenSamples) {
  SimulatedClock clock;
  int64_t count = 100;
  int reads = 0;
  JoinRateMeter meter(
      clock,
      [&](std::string_view) -> absl::StatusOr<int64_t> {
        ++reads;
        return count;
      },
      absl::Seconds(2), 4);
  EXPECT_EQ(meter.RatePerSec("a"), 0);
  count += 300;
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(meter.RatePerSec("a"), 0);  // within the interval: no read
  EXPECT_EQ(reads, 1);
  clock.Advance(absl::Seconds(2));
  EXPECT_DOUBLE_EQ(meter.RatePerSec("a"), 100);  // 300 joins over 3 s
  EXPECT_EQ(reads, 2);
  // More events than it keeps: it forgets them all and starts afresh.
  for (const char* e : {"b", "c", "d", "e"}) meter.RatePerSec(e);
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(meter.RatePerSec("a"), 0);
}

// A bot naming a fresh made-up event in every join must not make the meter forget a busy
// event's rate (and so take its proof of work away).
TEST(JoinRateMeterTest, UnknownEventsDoNotPushRealOnesOut) {
  SimulatedClock clock;
  int64_t count = 0;
  JoinRateMeter meter(
      clock,
      [&](std::string_view event) -> absl::StatusOr<int64_t> {
        if (event != "sale") return absl::NotFoundError("unknown event");
        return count;
      },
      absl::Seconds(1), 4);
  EXPECT_EQ(meter.RatePerSec("sale"), 0);
  count += 1000;
  clock.Advance(absl::Seconds(1));
  EXPECT_DOUBLE_EQ(meter.RatePerSec("sale"), 1000);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(meter.RatePerSec("junk-" + std::to_string(i)), 0);
  count += 2000;
  clock.Advance(absl::Seconds(1));
  EXPECT_DOUBLE_EQ(meter.RatePerSec("sale"), 2000);  // still measured between two samples
}

TEST(PowFlagsTest, ModesAndLimits) {
  GatewayFlags flags;
  ASSERT_TRUE(ParseFlags({"--pow=auto", "--pow_auto_threshold=10"}, &flags).ok());
  EXPECT_EQ(PowOptionsOf(flags).mode, PowMode::kAuto);
  EXPECT_EQ(PowOptionsOf(flags).rule.threshold_per_sec, 10);
  GatewayFlags defaults;  // auto: nothing asked in calm times
  ASSERT_TRUE(ParseFlags({}, &defaults).ok());
  EXPECT_EQ(PowOptionsOf(defaults).mode, PowMode::kAuto);
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"--pow=maybe"},
           {"--pow_difficulty=33"},
           {"--pow_auto_min_difficulty=16", "--pow_auto_max_difficulty=12"},
           {"--pow_challenge_ttl_sec=600"},  // above --idempotency_ttl_sec (300)
           {"--pow_challenge_ttl_sec=60", "--idempotency_ttl_sec=30"}}) {
    GatewayFlags f;
    EXPECT_TRUE(absl::IsInvalidArgument(ParseFlags(bad, &f).status())) << bad[0];
  }
  GatewayFlags longer;
  EXPECT_TRUE(
      ParseFlags({"--pow_challenge_ttl_sec=600", "--idempotency_ttl_sec=600"}, &longer).ok());
}

// --- Through the binary --------------------------------------------------------------------------

std::vector<std::string> ProcessFlags(std::vector<std::string> extra) {
  std::vector<std::string> flags = testing::OpenRoomFlags();
  flags.insert(flags.end(),
               {std::string("--token_secret=") + kSecret, "--threads=4", "--access_log=false"});
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

httplib::Result PostJoin(httplib::Client& c, const std::string& event, const std::string& user,
                         const std::string& solution, const std::string& idempotency_key = "") {
  httplib::Headers headers;
  if (!solution.empty()) headers.emplace("X-Admission-PoW", solution);
  if (!idempotency_key.empty()) headers.emplace("Idempotency-Key", idempotency_key);
  return c.Post("/api/v1/queue/join", headers, Json{{"event_id", event}, {"user_id", user}}.dump(),
                "application/json");
}

// The challenge inside an error answer, solved.
std::string SolveFrom(const Json& challenge) {
  const std::string text = challenge["challenge"];
  return text + ";" + SolvePowChallenge(text, challenge["difficulty"].get<int>());
}

TEST(PowProcessTest, RefusalsHaveDistinctCodes) {
  std::string error;
  auto gateway = GatewayProcess::Start(ProcessFlags({"--pow=on", "--pow_difficulty=8"}), &error);
  ASSERT_NE(gateway, nullptr) << error;
  auto c = gateway->Client();

  // The challenge route, and a join without a proof: 429 pow_required with a challenge inside.
  auto r = c->Get("/api/v1/queue/challenge?event_id=gig");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["required"], true);
  EXPECT_EQ(Body(r)["difficulty"], 8);
  EXPECT_EQ(Body(r)["header"], "X-Admission-PoW");
  ExpectError(c->Get("/api/v1/queue/challenge"), 400, "invalid_argument");
  ExpectError(c->Get("/api/v1/queue/challenge?event_id=bad.id"), 400, "invalid_argument");
  r = PostJoin(*c, "gig", "ann", "");
  ExpectError(r, 429, "pow_required");
  const Json challenge = Body(r)["error"]["challenge"];
  ASSERT_EQ(challenge["difficulty"], 8) << r->body;

  // Wrong: 400 pow_invalid (a nonce that fails; garbage), each with a fresh challenge.
  ProofOfWork mirror(kSecret, absl::Seconds(120));  // the gateway's secret: signs like it
  const std::string text = challenge["challenge"];
  PowChallenge parsed = *ParsePowChallenge(text);
  r = PostJoin(*c, "gig", "ann", WrongSolution(parsed));
  ExpectError(r, 400, "pow_invalid");
  EXPECT_TRUE(Body(r)["error"]["challenge"]["challenge"].is_string());
  ExpectError(PostJoin(*c, "gig", "ann", "garbage"), 400, "pow_invalid");

  // Right: 202, once; the same solution again is 409 pow_replayed.
  const std::string solution = SolveFrom(challenge);
  r = PostJoin(*c, "gig", "ann", solution);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  r = PostJoin(*c, "gig", "bob", solution);
  ExpectError(r, 409, "pow_replayed");

  // Expired: signed by the same secret an hour ago, and solved: 429 pow_expired.
  const PowChallenge old = mirror.Issue("gig", 8, absl::Now() - absl::Hours(1));
  r = PostJoin(*c, "gig", "cyd", Solve(old));
  ExpectError(r, 429, "pow_expired");
  // ... with a fresh challenge that works.
  r = PostJoin(*c, "gig", "cyd", SolveFrom(Body(r)["error"]["challenge"]));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;

  // A challenge of another event is invalid here.
  r = c->Get("/api/v1/queue/challenge?event_id=other");
  ASSERT_TRUE(r && r->status == 200);
  ExpectError(PostJoin(*c, "gig", "dee", SolveFrom(Body(r))), 400, "pow_invalid");

  // An Idempotency-Key refused for want of a proof (429: not kept) runs when retried with one.
  r = PostJoin(*c, "gig", "eve", "", "join-eve-1");
  ExpectError(r, 429, "pow_required");
  r = PostJoin(*c, "gig", "eve", SolveFrom(Body(r)["error"]["challenge"]), "join-eve-1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  // ... and its replay needs no second proof.
  r = PostJoin(*c, "gig", "eve", "", "join-eve-1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(r->get_header_value("Idempotent-Replay"), "true");
}

TEST(PowProcessTest, OffNeedsNothing) {
  std::string error;
  auto gateway = GatewayProcess::Start(ProcessFlags({"--pow=off"}), &error);
  ASSERT_NE(gateway, nullptr) << error;
  auto c = gateway->Client();
  auto r = c->Get("/api/v1/queue/challenge?event_id=gig");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Body(r)["required"], false);
  r = PostJoin(*c, "gig", "ann", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  // A header sent anyway is not looked at.
  r = PostJoin(*c, "gig", "bob", "whatever");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
}

TEST(PowProcessTest, AutoIsFreeInCalmTimes) {
  std::string error;
  auto gateway = GatewayProcess::Start(ProcessFlags({"--pow=auto"}), &error);
  ASSERT_NE(gateway, nullptr) << error;
  auto c = gateway->Client();
  for (const char* user : {"ann", "bob", "cyd"}) {
    auto r = PostJoin(*c, "calm", user, "");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 202) << r->body;
  }
  auto r = c->Get("/api/v1/queue/challenge?event_id=calm");
  ASSERT_TRUE(r);
  EXPECT_EQ(Body(r)["required"], false) << r->body;
}

// The page solves the challenge in its worker and joins (and, the room being open, is admitted).
TEST(PowBrowserTest, ThePageJoinsThroughAChallenge) {
  if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "chromium is not installed";
  int code = -1;
  testing::CommandOutput("node --version >/dev/null 2>&1", &code);
  if (code != 0) GTEST_SKIP() << "node is not installed";
  std::string error;
  auto gateway = GatewayProcess::Start(ProcessFlags({"--pow=on", "--pow_difficulty=10"}), &error);
  ASSERT_NE(gateway, nullptr) << error;
  const std::string out =
      testing::CommandOutput(std::string("node ") + ADMISSION_POW_BROWSER_SCRIPT +
                                 " 'http://127.0.0.1:" + std::to_string(gateway->port()) +
                                 "/?event=pow-page&user=page-user' admitted 60",
                             &code);
  EXPECT_EQ(code, 0) << out;
  const Json line = Json::parse(out, nullptr, false);
  ASSERT_TRUE(line.is_object()) << out;
  EXPECT_EQ(line["state"], "admitted") << out;
  EXPECT_EQ(line["pow_difficulty"], 10) << out;
  EXPECT_GE(line["pow_hashes"].get<int64_t>(), 1) << out;
}

#if defined(ADMISSION_GATEWAY_TEST_WITH_REDIS)

// Two gateways on one redis-server, same secret and key prefix: a challenge from one is good
// at the other, and spent for both once used at either.
TEST(PowRedisProcessTest, TwoGatewaysAgreeAChallengeIsSpent) {
  auto redis = admission::testing::RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  const std::vector<std::string> flags =
      ProcessFlags({"--pow=on", "--pow_difficulty=8", "--store=redis://" + (*redis)->address(),
                    "--redis_key_prefix=pow-" + std::to_string(getpid())});
  std::string error;
  auto a = GatewayProcess::Start(flags, &error);
  ASSERT_NE(a, nullptr) << error;
  auto b = GatewayProcess::Start(flags, &error);
  ASSERT_NE(b, nullptr) << error;
  auto ca = a->Client();
  auto cb = b->Client();
  auto r = ca->Get("/api/v1/queue/challenge?event_id=shared");
  ASSERT_TRUE(r && r->status == 200);
  const std::string solution = SolveFrom(Body(r));
  r = PostJoin(*cb, "shared", "ann", solution);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  ExpectError(PostJoin(*ca, "shared", "bob", solution), 409, "pow_replayed");
  ExpectError(PostJoin(*cb, "shared", "bob", solution), 409, "pow_replayed");
}

#endif

}  // namespace
}  // namespace admission::gateway
