// Data-parallel gradient averaging with overlap, ours since LibTorch has no C++ DDP.
// Parameters are grouped into buckets of about bucket_mib, in reverse registration order
// (roughly the order backward produces their gradients). On a syncing backward, each
// parameter's gradient hook adds what earlier micro-steps accumulated, copies the total into
// its bucket, and the moment a bucket is full its all-reduce starts, while backward goes on.
// finish() waits for the buckets and writes the summed gradients back. Accumulation
// micro-steps run with syncing off: no communication at all.
// The loss is scaled by the global number of target tokens beforehand, so summing gradients
// over ranks gives exactly the gradient of the global mean.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

namespace symtune {

class Communicator;

class GradientSync {
 public:
  // overlap = false all-reduces after backward instead (for comparison).
  GradientSync(std::vector<at::Tensor> params, Communicator& comm, double bucket_mib, bool overlap);
  ~GradientSync();

  void set_syncing(bool on);  // call before the backward of the last micro-step
  void finish();              // after that backward: all gradients are summed over ranks
  size_t num_buckets() const;

 private:
  struct Bucket;
  void on_gradient(size_t param, const at::Tensor& grad);
  void launch(Bucket& b);

  std::vector<at::Tensor> params_;
  Communicator& comm_;
  bool overlap_, syncing_ = false;
  std::vector<std::unique_ptr<Bucket>> buckets_;
  struct Slot {
    size_t bucket, member;  // which bucket, and the parameter's place among its members
    int64_t offset;         // into the bucket's flat buffer
  };
  std::vector<Slot> slot_;  // per parameter
};

}  // namespace symtune
