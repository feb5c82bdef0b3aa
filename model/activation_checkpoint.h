// Activation checkpointing (Chen et al. 2016, "Training Deep Nets with Sublinear Memory
// Cost"): run fn(x) without recording its graph, keep only x, and run it again with
// gradients on during backward. LibTorch has no C++ torch.utils.checkpoint, so this is ours.
// fn must be deterministic (no dropout in our blocks) and may only read `params` and
// tensors that do not need gradients.
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace symtune {

at::Tensor checkpointed(std::function<at::Tensor(const at::Tensor&)> fn, const at::Tensor& x,
                        const std::vector<at::Tensor>& params);

}  // namespace symtune
