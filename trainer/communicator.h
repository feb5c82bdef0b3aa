// The process group of a data-parallel run, from PyTorch's c10d: rendezvous through a
// TCPStore served by rank 0, ProcessGroupNCCL on CUDA (when built with it), ProcessGroupGloo on
// the CPU. Every collective has a timeout, so a rank that dies or hangs makes the others fail
// with an error instead of waiting forever. Without a launcher, the collectives do nothing.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/intrusive_ptr.h>

#include <chrono>
#include <memory>
#include <vector>

#include "trainer/launch_env.h"

namespace c10d {
class Backend;
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
  void wait(const c10::intrusive_ptr<c10d::Work>& work) const;
  void broadcast(std::vector<at::Tensor>& tensors, int root);
  void barrier();

 private:
  LaunchEnv env_;
  std::chrono::milliseconds timeout_;
  c10::intrusive_ptr<c10d::Backend> backend_;
};

}  // namespace symtune
