// Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
//
// The library's only source of randomness: the kernel's CSPRNG (getrandom). Tokens,
// reservation ids, leases and event secrets must be unguessable, so nothing here ever falls
// back to a weaker generator: if the kernel cannot give random bytes the process aborts.
#ifndef ADMISSION_SRC_COMMON_RANDOM_H_
#define ADMISSION_SRC_COMMON_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace admission::internal {

// `n` bytes straight from the kernel: one system call (or a few, for large n).
void KernelRandomBytes(uint8_t* out, std::size_t n);

// `n` bytes from a per-thread pool refilled from the kernel 4 KiB at a time: for the hot path
// (a token per Join), where one system call per token would cost more than the Join.
void RandomBytes(uint8_t* out, std::size_t n);

// 2 * n_bytes lowercase hex digits of RandomBytes.
std::string RandomHex(std::size_t n_bytes);
// The same, written to out[0, 2 * n_bytes).
void RandomHexTo(char* out, std::size_t n_bytes);

}  // namespace admission::internal

#endif  // ADMISSION_SRC_COMMON_RANDOM_H_
