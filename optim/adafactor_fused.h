// Adafactor's update for one parameter in three passes: one over the gradient for the row and
// column statistics, one for the update's RMS (and the parameter's), one that applies
// clipping, step size, first moment, weight decay and the rounded write to the parameter's
// dtype. The same formulas as Adafactor::step (adafactor.h); the tests hold this path to HF's
// Adafactor like the others. On CUDA four kernels (optim/adafactor_fused_kernels.cuh, launched
// by optim/adafactor_fused.cu, compiled when CMake finds a CUDA LibTorch and nvcc;
// fused_adafactor_compiled() says whether it was); on the CPU the same passes as loops
// (optim/adafactor_fused_cpu.cpp).
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

namespace symtune {

struct FusedAdafactorScalars {
  double rho = 0;  // step size before the parameter scale
  double beta2 = 0;
  double eps1 = 0, eps2 = 0;
  double clip_threshold = 1;
  bool scale_parameter = false;
  bool has_beta1 = false;
  double beta1 = 0;
  double weight_decay = 0;
  bool weight_decay_scaled_by_lr = true;
};

// param/grad: contiguous tensors of one dtype (fp32, bf16 or fp16), same shape and device.
// Factored (rank >= 2, statistics over the last two dims): row [..., R] and col [..., C],
// v undefined. Unfactored: v of the parameter's shape, row/col undefined. m: the first moment
// (fp32, parameter's shape) or undefined. State tensors are fp32, contiguous, updated in place.
struct FusedAdafactorTensors {
  at::Tensor param, grad, row, col, v, m;
};

bool fused_adafactor_compiled();                                                              // the CUDA kernels
void fused_adafactor_update(const FusedAdafactorTensors& t, const FusedAdafactorScalars& s);  // CPU or CUDA

// The two halves (fused_adafactor_update picks by device).
void fused_adafactor_update_cuda(const FusedAdafactorTensors& t, const FusedAdafactorScalars& s);
void fused_adafactor_update_cpu(const FusedAdafactorTensors& t, const FusedAdafactorScalars& s);

}  // namespace symtune
