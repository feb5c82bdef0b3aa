// Runs CUDA kernels on the host, so that machines without a GPU test the kernels themselves
// (their indexing, tiling, barriers and warp reductions), not only a CPU twin of their
// formulas. Include it after every other header and before a kernel header written for both
// compilers (optim/*_kernels.cuh).
//
// The model: a launch runs its blocks one after another, in a shuffled order; the threads of a
// block are fibers (ucontext) on the calling thread, scheduled warp by warp at random (see
// Block), waiting at __syncthreads for the whole block and at a warp shuffle for their warp,
// so warps run ahead of each other as on a GPU. A block whose threads disagree on the barriers
// they reach (undefined behaviour on a GPU) is reported and the process stops. __shared__ is
// static storage (one block runs at a time); a shuffle is an exchange between two barriers of
// the warp, so all 32 lanes must reach it (full masks only). Atomics are plain
// read-modify-writes (one fiber runs at a time), so a racy += where an atomic belongs goes
// unseen. Arithmetic is the host's: rsqrtf is exact here, an approximation (2 ulp) on the GPU.
//
// It defines CUDA's keywords and built-ins as macros and functions, so it must not meet the
// real ones: only for translation units compiled by the host compiler without CUDA headers.
#pragma once

#ifdef __CUDACC__
#error "cuda_emulation.h is for host compilers; nvcc has the real thing"
#endif

#include <ucontext.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __shared__ static

struct EmulatedDim3 {
  unsigned x = 0, y = 0, z = 0;
};
inline EmulatedDim3 threadIdx, blockIdx, blockDim, gridDim;

namespace cuda_emulation {

// The threads of one block as fibers. A thread runs until it returns or waits: at
// __syncthreads until every thread of the block waits there, at a warp shuffle until the 32
// threads of its warp do. The scheduler (fixed seed: failures repeat) lets one random warp at
// a time run as far as it can, so a missing barrier between one warp's write to shared memory
// and another's read shows up as a wrong value.
class Block {
 public:
  static constexpr unsigned kWarpSize = 32;

  explicit Block(unsigned threads) : exchange(threads), fibers_(threads) {
    for (Fiber& f : fibers_) f.stack.resize(kStackBytes);
  }

  // Runs body() once per thread of the block, threadIdx set, until every thread returns.
  void run(const std::function<void()>& body) {
    body_ = &body;
    const unsigned warps = (static_cast<unsigned>(fibers_.size()) + kWarpSize - 1) / kWarpSize;
    std::vector<std::vector<unsigned>> ready(warps);  // ready threads of each warp
    for (unsigned t = 0; t < fibers_.size(); ++t) {
      Fiber& f = fibers_[t];
      getcontext(&f.context);
      f.context.uc_stack.ss_sp = f.stack.data();
      f.context.uc_stack.ss_size = f.stack.size();
      f.context.uc_link = &scheduler_;
      makecontext(&f.context, &Block::fiber_main, 0);
      f.state = State::kReady;
      ready[t / kWarpSize].push_back(t);
    }
    for (;;) {
      std::vector<unsigned> runnable_warps;
      for (unsigned w = 0; w < warps; ++w)
        if (!ready[w].empty()) runnable_warps.push_back(w);
      if (runnable_warps.empty()) {
        if (!release_block_barrier(ready)) return;
        continue;
      }
      // One warp, chosen at random, runs as far as it can (to a block barrier or its end),
      // its lanes in random order: the other warps stay behind, as a slow warp would.
      std::vector<unsigned>& lanes = ready[runnable_warps[pick(runnable_warps.size())]];
      while (!lanes.empty()) {
        const size_t i = pick(lanes.size());
        const unsigned t = lanes[i];
        lanes[i] = lanes.back();
        lanes.pop_back();
        running_ = this;
        current_ = t;
        threadIdx = {t, 0, 0};
        swapcontext(&scheduler_, &fibers_[t].context);
        if (fibers_[t].state == State::kWarpBarrier) release_warp_barrier(t / kWarpSize, lanes);
      }
    }
  }

  void barrier() { wait(State::kBlockBarrier); }
  void warp_barrier() { wait(State::kWarpBarrier); }

  static Block* running() { return running_; }

  std::vector<float> exchange;  // one slot per thread for the warp shuffles

 private:
  enum class State { kReady, kWarpBarrier, kBlockBarrier, kFinished };
  static constexpr size_t kStackBytes = 64 * 1024;
  struct Fiber {
    ucontext_t context;
    std::vector<char> stack;
    State state = State::kReady;
  };

  void wait(State state) {
    fibers_[current_].state = state;
    swapcontext(&fibers_[current_].context, &scheduler_);
  }

  static void fiber_main() {
    Block* block = running_;
    (*block->body_)();
    block->fibers_[block->current_].state = State::kFinished;  // uc_link returns to the scheduler
  }

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }

  void release_warp_barrier(unsigned warp, std::vector<unsigned>& ready) {
    const unsigned begin = warp * kWarpSize, end = std::min<unsigned>(begin + kWarpSize, fibers_.size());
    for (unsigned t = begin; t < end; ++t)
      if (fibers_[t].state != State::kWarpBarrier) return;
    for (unsigned t = begin; t < end; ++t) {
      fibers_[t].state = State::kReady;
      ready.push_back(t);
    }
  }

  // Nothing is ready: every thread returned (false), or all wait at __syncthreads (released,
  // true); anything else is a block whose threads disagree on the barriers they reach.
  bool release_block_barrier(std::vector<std::vector<unsigned>>& ready) {
    unsigned finished = 0, at_block = 0;
    for (const Fiber& f : fibers_) {
      finished += f.state == State::kFinished;
      at_block += f.state == State::kBlockBarrier;
    }
    if (finished == fibers_.size()) return false;
    if (at_block != fibers_.size()) {
      std::fprintf(stderr,
                   "cuda_emulation: the threads of block %u disagree on barriers: %u wait at __syncthreads, %u at a "
                   "warp shuffle, %u returned\n",
                   blockIdx.x, at_block, static_cast<unsigned>(fibers_.size()) - at_block - finished, finished);
      std::abort();
    }
    for (unsigned t = 0; t < fibers_.size(); ++t) {
      fibers_[t].state = State::kReady;
      ready[t / kWarpSize].push_back(t);
    }
    return true;
  }

  std::vector<Fiber> fibers_;
  std::mt19937 random_{20261127};
  ucontext_t scheduler_;
  const std::function<void()>* body_ = nullptr;
  unsigned current_ = 0;
  static inline Block* running_ = nullptr;
};

// kernel<<<blocks, threads>>>(args...), returning when every block has run. Blocks run in a
// shuffled order (fixed seed), as nothing orders them on a GPU either.
template <typename Kernel, typename... Args>
void launch(int64_t blocks, unsigned threads, Kernel kernel, const Args&... args) {
  Block block(threads);
  blockDim = {threads, 1, 1};
  gridDim = {static_cast<unsigned>(blocks), 1, 1};
  const std::function<void()> body = [&] { kernel(args...); };
  std::vector<unsigned> order(static_cast<size_t>(blocks));
  for (size_t b = 0; b < order.size(); ++b) order[b] = static_cast<unsigned>(b);
  std::shuffle(order.begin(), order.end(), std::mt19937(static_cast<unsigned>(blocks)));
  for (const unsigned b : order) {
    blockIdx = {b, 0, 0};
    block.run(body);
  }
}

}  // namespace cuda_emulation

inline void __syncthreads() { cuda_emulation::Block::running()->barrier(); }

// Lanes stay inside their warp: lane_mask < 32 flips only the lane bits of the thread index.
inline float __shfl_xor_sync(unsigned /*mask*/, float value, int lane_mask) {
  cuda_emulation::Block& block = *cuda_emulation::Block::running();
  block.exchange[threadIdx.x] = value;
  block.warp_barrier();
  const float partner = block.exchange[threadIdx.x ^ static_cast<unsigned>(lane_mask)];
  block.warp_barrier();  // the warp has read before its slots are written again
  return partner;
}

// One fiber runs at a time: a plain read-modify-write is atomic here (so the emulation cannot
// tell an atomicAdd from a racy +=; review catches those, not this).
inline float atomicAdd(float* address, float value) {
  const float old = *address;
  *address = old + value;
  return old;
}

namespace cuda_emulation {
// Not in the global namespace: C23's <math.h> (glibc 2.41 on) declares an rsqrtf of its own.
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
}  // namespace cuda_emulation
#define rsqrtf cuda_emulation::rsqrtf
