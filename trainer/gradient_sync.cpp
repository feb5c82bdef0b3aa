#include "trainer/gradient_sync.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include "common/error.h"
#include "trainer/communicator.h"

namespace symtune {

struct GradientSync::Bucket {
  std::vector<size_t> members;
  at::Tensor flat;     // fp32 on the parameters' device
  size_t pending = 0;  // members whose gradient has not arrived this backward
  std::vector<bool> arrived;
  c10::intrusive_ptr<c10d::Work> work;
  bool launched = false;
};

GradientSync::GradientSync(std::vector<at::Tensor> params, Communicator& comm, double bucket_mib, bool overlap)
    : params_(std::move(params)), comm_(comm), overlap_(overlap), slot_(params_.size()) {
  const int64_t capacity = static_cast<int64_t>(bucket_mib * (1 << 20) / 4);
  // Reverse order: the head's and last blocks' gradients come first in backward.
  int64_t used = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const int64_t n = params_[k].numel();
    if (buckets_.empty() || (used > 0 && used + n > capacity)) {
      buckets_.push_back(std::make_unique<Bucket>());
      used = 0;
    }
    slot_[k] = {buckets_.size() - 1, buckets_.back()->members.size(), used};
    buckets_.back()->members.push_back(k);
    used += n;
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    int64_t size = 0;
    for (size_t k : buckets_[b]->members) size += params_[k].numel();
    buckets_[b]->flat = at::zeros({size}, params_[0].options().dtype(at::kFloat).requires_grad(false));
    buckets_[b]->arrived.assign(buckets_[b]->members.size(), false);
  }
  for (size_t k = 0; k < params_.size(); ++k) {
    // The hook sees the gradient before it is accumulated into .grad. On a syncing backward it
    // folds in what earlier micro-steps accumulated and clears .grad, so that the total goes
    // through the bucket once; finish() puts the summed total back.
    params_[k].register_hook([this, k](const at::Tensor& grad) -> at::Tensor {
      if (!syncing_) return grad;
      at::Tensor total = grad;
      if (params_[k].grad().defined()) {
        total = grad + params_[k].grad();
        params_[k].mutable_grad().reset();
      }
      on_gradient(k, total);
      return total;
    });
  }
}

GradientSync::~GradientSync() = default;

size_t GradientSync::num_buckets() const { return buckets_.size(); }

void GradientSync::set_syncing(bool on) {
  syncing_ = on;
  if (!on) return;
  for (auto& b : buckets_) {
    b->pending = b->members.size();
    b->arrived.assign(b->members.size(), false);
    b->launched = false;
    b->work.reset();
  }
}

void GradientSync::on_gradient(size_t k, const at::Tensor& grad) {
  const Slot& slot = slot_[k];
  Bucket& bucket = *buckets_[slot.bucket];
  at::NoGradGuard no_grad;
  bucket.flat.narrow(0, slot.offset, grad.numel()).copy_(grad.reshape({-1}));
  if (!bucket.arrived[slot.member]) {
    bucket.arrived[slot.member] = true;
    --bucket.pending;
  }
  if (bucket.pending == 0 && overlap_) launch(bucket);
}

void GradientSync::launch(Bucket& b) {
  if (b.launched) return;
  b.launched = true;
  b.work = comm_.all_reduce_sum_async(b.flat);
}

void GradientSync::finish() {
  at::NoGradGuard no_grad;
  for (auto& b : buckets_) {
    // A parameter that got no gradient this step contributes zeros, so every rank still
    // launches every bucket and no collective is left waiting.
    for (size_t i = 0; i < b->members.size(); ++i)
      if (!b->arrived[i]) {
        const size_t k = b->members[i];
        b->flat.narrow(0, slot_[k].offset, params_[k].numel()).zero_();
      }
    launch(*b);
  }
  for (auto& b : buckets_) {
    comm_.wait(b->work);
    for (size_t k : b->members) {
      at::Tensor summed = b->flat.narrow(0, slot_[k].offset, params_[k].numel()).view(params_[k].sizes());
      if (params_[k].grad().defined()) params_[k].mutable_grad().copy_(summed);
      else params_[k].mutable_grad() = summed.to(params_[k].scalar_type()).clone();
    }
  }
  syncing_ = false;
}

}  // namespace symtune
