//===- Rng.h - Counter-based random numbers (Philox4x32-10) ----*- C++ -*-===//
//
// Every random number is a pure function of (key, counter): the key names a
// stream (a seed and a purpose, e.g. "init/student/first.W"), the counter is
// the element's index. Results do not depend on thread count or call order.
// Philox4x32-10: Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"
// (SC'11).
//
//===----------------------------------------------------------------------===//
#ifndef LM_RNG_H
#define LM_RNG_H

#include <array>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace lm::rt {

/// The Philox4x32-10 block function on a 128-bit counter and 64-bit key.
inline std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> ctr,
                                          std::array<uint32_t, 2> key) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t(0xD2511F53u) * c0, p1 = uint64_t(0xCD9E8D57u) * c2;
    uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0, n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c1 = uint32_t(p1);
    c3 = uint32_t(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {c0, c1, c2, c3};
}

inline std::array<uint32_t, 4> philox(uint64_t key, uint64_t counter, uint32_t lane = 0) {
  return philox4x32({uint32_t(counter), uint32_t(counter >> 32), lane, 0},
                    {uint32_t(key), uint32_t(key >> 32)});
}

/// A stream key from a seed and a purpose (FNV-1a of the name, mixed with the
/// seed by SplitMix64's finalizer).
inline uint64_t streamKey(uint64_t seed, std::string_view purpose) {
  uint64_t h = 1469598103934665603ull;
  for (char c : purpose)
    h = (h ^ uint8_t(c)) * 1099511628211ull;
  uint64_t z = h ^ (seed * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Uniform in (0, 1) with 53 random bits.
inline double uniform01(uint64_t key, uint64_t counter) {
  auto r = philox(key, counter);
  uint64_t bits = (uint64_t(r[0]) << 21) ^ uint64_t(r[1] >> 11);
  return (double(bits & ((1ull << 53) - 1)) + 0.5) / double(1ull << 53);
}

/// Standard normal (Box-Muller on two independent uniforms from one block).
inline double normal(uint64_t key, uint64_t counter) {
  auto r = philox(key, counter);
  double u1 = (double((uint64_t(r[0]) << 21) ^ (r[1] >> 11)) + 0.5) / double(1ull << 53);
  double u2 = (double((uint64_t(r[2]) << 21) ^ (r[3] >> 11)) + 0.5) / double(1ull << 53);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

} // namespace lm::rt

#endif
