// Hand-written kernels for the element-wise parts of a block that LibTorch runs as several
// kernels with intermediates in memory: the SwiGLU product silu(gate) * up, and rotary
// embeddings on token-major [B, T, heads, D] tensors. One pass forward and one backward each,
// fp32 inside, rounded once; differentiable (autograd functions here). CUDA kernels when CMake
// finds a CUDA LibTorch and nvcc (model/fused_elementwise.cu; fused_elementwise_compiled() says
// so), and the same loops on the CPU, where the tests check formulas and wiring against the
// reference ops; the CUDA tests hold the kernels to them too.
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

namespace symtune {

bool fused_elementwise_compiled();  // the CUDA kernels

// silu(gate) * up; gate and up of one shape, dtype and device.
at::Tensor fused_swiglu(const at::Tensor& gate, const at::Tensor& up);

// x * cos + rotate_half(x) * sin with x [B, T, H, D] and cos/sin [B, T, D] (the tables of
// model/rope.h without their head dim); no gradient flows to the tables.
at::Tensor fused_rope(const at::Tensor& x_BTHD, const at::Tensor& cos_BTD, const at::Tensor& sin_BTD);

}  // namespace symtune
