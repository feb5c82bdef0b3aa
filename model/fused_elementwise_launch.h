// Internal to model/fused_elementwise: the CUDA kernel launchers that fused_elementwise.cu
// defines (and fused_elementwise_stub.cpp, in builds without nvcc, defines to throw).
// Contiguous CUDA tensors of one dtype; outputs preallocated.
#pragma once

#include <ATen/core/Tensor.h>

namespace symtune {

void launch_swiglu_forward_cuda(const at::Tensor& gate, const at::Tensor& up, const at::Tensor& out);
void launch_swiglu_backward_cuda(const at::Tensor& grad, const at::Tensor& gate, const at::Tensor& up,
                                 const at::Tensor& grad_gate, const at::Tensor& grad_up);
// sign +1: forward rotation; -1: its transpose (the backward pass).
void launch_rope_cuda(const at::Tensor& x_BTHD, const at::Tensor& cos_BTD, const at::Tensor& sin_BTD,
                      const at::Tensor& out, int sign);

}  // namespace symtune
