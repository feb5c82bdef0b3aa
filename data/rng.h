// A small deterministic random generator for the data pipeline. Every draw is a pure function
// of (seed, stream coordinates), identical on every platform and standard library (std::
// distributions are not), which is what makes the data stream resumable and rank-independent.
// Must not include model/, optim/ or trainer/; no torch here.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace symtune {

// SplitMix64 (Steele, Lea & Flood 2014): one 64-bit state, good enough statistics for sampling.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  // A generator for one coordinate of a stream: mixes all parts into the seed.
  static Rng for_stream(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
    uint64_t h = mix(seed ^ 0x9E3779B97F4A7C15ull);
    h = mix(h ^ a);
    h = mix(h ^ (b + 0x632BE59BD9B4E019ull));
    h = mix(h ^ (c + 0x85157AF5ull));
    return Rng(h);
  }

  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return mix(state_);
  }
  // Uniform in [0, n) without modulo bias (rejection of the short last band).
  uint64_t below(uint64_t n) {
    if (n <= 1) return 0;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1)));
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  template <typename T>
  void shuffle(std::vector<T>& v) {  // Fisher-Yates
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

}  // namespace symtune
