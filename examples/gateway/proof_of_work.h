// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// A proof of work for POST /api/v1/queue/join: a stateless challenge signed by the gateway,
// which a client answers with a nonce such that SHA-256(challenge || nonce) starts with
// `difficulty` zero bits. Bots that hammer the join then pay for each attempt in CPU time,
// while the gateway checks an answer with one HMAC and one hash.
//
// A challenge is text, so that a page can hash its bytes as they are:
//
//   "p1." EVENT "." DIFFICULTY "." EXPIRES_UNIX "." SALT "." MAC
//
// where SALT is 32 lowercase hex digits (128 random bits, which also name the challenge when it
// is redeemed) and MAC is base64url(HMAC-SHA256(secret, everything before the last ".")),
// unpadded. Event ids have no "." (ids.h), so the fields split unambiguously. The "p1." prefix
// keeps a challenge apart from a reservation token signed with the same secret (signer.h):
// those sign base64url JSON, which never starts with it. A solution is
// CHALLENGE ";" NONCE, the nonce 1..32 characters of [A-Za-z0-9_-].
//
// Nothing is kept per challenge until it is used: any gateway holding the secret can verify
// it. That a challenge is used only once is the store's business (pow_gate.h).
#ifndef ADMISSION_EXAMPLES_GATEWAY_PROOF_OF_WORK_H_
#define ADMISSION_EXAMPLES_GATEWAY_PROOF_OF_WORK_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace admission::gateway {

// 32 bits is about 4 billion hashes, hours in a browser: anything harder is a mistake.
inline constexpr int kMaxPowDifficulty = 32;
inline constexpr std::size_t kMaxPowNonceLength = 32;
// Longer solutions are refused before any work. A challenge is at most 3 + 64 + 3 + 21 + 33 +
// 44 characters; with the nonce and the separator this bounds the whole.
inline constexpr std::size_t kMaxPowSolutionLength = 256;

struct PowChallenge {
  std::string event_id;
  int difficulty = 0;
  // Whole seconds: the challenge may be answered while now < expires_at.
  absl::Time expires_at;
  // 32 lowercase hex digits.
  std::string salt;
  // The whole signed text the client hashes.
  std::string text;
};

// The two parts of a solution, views into the text given to ParsePowSolution.
struct PowSolution {
  std::string_view challenge;
  std::string_view nonce;
};

// Splits "CHALLENGE;NONCE" and checks the nonce's alphabet and the lengths; no cryptography.
// InvalidArgument otherwise.
absl::StatusOr<PowSolution> ParsePowSolution(std::string_view text);

// The fields of a challenge's text, without checking its MAC (ProofOfWork::Verify checks the
// MAC first). InvalidArgument when the text is not of the form above.
absl::StatusOr<PowChallenge> ParsePowChallenge(std::string_view text);

// The number of leading zero bits of `digest` (8 * size when all are zero).
int LeadingZeroBits(std::string_view digest);

// SHA-256(challenge || nonce) has at least `difficulty` leading zero bits.
bool MeetsDifficulty(std::string_view challenge, std::string_view nonce, int difficulty);

// The first decimal nonce (0, 1, 2, ...) that meets `difficulty`: what a client does, for
// tests, benchmarks and load tools. Takes about 2^difficulty hashes.
std::string SolvePowChallenge(std::string_view challenge, int difficulty);

class ProofOfWork {
 public:
  // `secret` is the gateway's HMAC key (--token_secret); `ttl` how long a challenge may be
  // answered (rounded to whole seconds, at least 1 s).
  ProofOfWork(std::string secret, absl::Duration ttl);

  // A fresh challenge for `event_id` (a valid event id) at `difficulty` (0..kMaxPowDifficulty),
  // expiring ttl after `now`.
  PowChallenge Issue(std::string_view event_id, int difficulty, absl::Time now) const;

  // Checks a solution ("CHALLENGE;NONCE") for a join of `event_id` at `now`: one HMAC, one
  // SHA-256. Returns the challenge when it is authentic, for this event, unexpired and
  // solved; otherwise
  //   - InvalidArgument: malformed, tampered with (the MAC does not match), for another event,
  //     or a nonce that does not meet the difficulty;
  //   - OutOfRange: expired (authentic, but now >= expires_at).
  // It does not say whether the challenge was used before: see PowGate::Redeem.
  absl::StatusOr<PowChallenge> Verify(std::string_view solution, std::string_view event_id,
                                      absl::Time now) const;

 private:
  std::string Mac(std::string_view body) const;

  std::string secret_;
  absl::Duration ttl_;
};

}  // namespace admission::gateway

#endif  // ADMISSION_EXAMPLES_GATEWAY_PROOF_OF_WORK_H_
