// The process group of a data-parallel run, from PyTorch's c10d: rendezvous through a
// TCPStore served by rank 0, ProcessGroupNCCL on CUDA (when built with it), ProcessGroupGloo on
// the CPU. Every collective has a timeout, so a rank that dies or hangs makes the others fail
// with an error instead of waiting forever. Without a launcher, the collectives do nothing.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/intrusive_ptr.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "trainer/launch_env.h"

namespace c10d {
class Backend;
class Store;
class Work;
}  // namespace c10d

namespace symtune {

class Communicator {
 public:
  Communicator(const LaunchEnv& env, bool cuda, std::chrono::milliseconds timeout);
  ~Communicator();

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  const LaunchEnv& env() const { return env_; }
  // A process group exists whenever a launcher started this process, even as the only rank, so
  // a one-GPU torchrun run goes through the same data-parallel code as a multi-GPU one.
  bool distributed() const { return static_cast<bool>(backend_); }

  // In-place sum over ranks. The async form returns a handle to wait on (null when world = 1).
  void all_reduce_sum(at::Tensor& t);
  c10::intrusive_ptr<c10d::Work> all_reduce_sum_async(at::Tensor& t);
  // out [world x n] <- every rank's in [n], in rank order.
  c10::intrusive_ptr<c10d::Work> all_gather_async(at::Tensor& out, at::Tensor& in);
  // out [n] <- the sum over ranks of this rank's slice of in [world x n].
  c10::intrusive_ptr<c10d::Work> reduce_scatter_sum_async(at::Tensor& out, at::Tensor& in);
  void wait(const c10::intrusive_ptr<c10d::Work>& work) const;
  void broadcast(std::vector<at::Tensor>& tensors, int root);
  void barrier();

  // A process group of some of this group's ranks (`members`, which must hold this rank; every
  // member creates it with the same name and members). Its rank() is the place in `members`.
  std::unique_ptr<Communicator> subgroup(const std::string& name, const std::vector<int>& members) const;

  // Bytes each rank sends and receives per collective kind since the last reset, as a ring
  // moves them: all-reduce 2(N-1)/N of the tensor, all-gather and reduce-scatter (N-1)/N of the
  // whole (gathered or scattered) tensor. For benchmarks and the log.
  enum Kind { kAllReduce, kAllGather, kReduceScatter, kKinds };
  const std::array<double, kKinds>& traffic_bytes() const { return traffic_; }
  void reset_traffic() { traffic_ = {}; }

 private:
  Communicator(const LaunchEnv& env, std::chrono::milliseconds timeout, c10::intrusive_ptr<c10d::Store> store,
               bool cuda);
  void count(Kind kind, const at::Tensor& whole, double factor);

  LaunchEnv env_;
  std::chrono::milliseconds timeout_;
  bool cuda_ = false;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::Backend> backend_;
  std::array<double, kKinds> traffic_{};
};

}  // namespace symtune
