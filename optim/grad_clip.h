// Global-norm gradient clipping (Pascanu et al. 2013): scale all gradients together so that
// their joint L2 norm is at most max_norm. Grouped (foreach) kernels, no host synchronisation.
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace symtune {

// Returns the pre-clip global norm as a 0-dim fp32 tensor on the gradients' device (call
// .item() only when logging). Parameters without gradients are skipped. max_norm <= 0 only
// measures. A non-finite norm leaves the gradients untouched, for the caller to skip the step.
at::Tensor clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace symtune
