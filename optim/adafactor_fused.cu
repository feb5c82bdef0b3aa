#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>

#include <string>

#include "common/error.h"
#include "common/float_dispatch.h"
#include "optim/adafactor_fused.h"
#include "optim/adafactor_fused_kernels.cuh"

namespace symtune {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string("adafactor (fused CUDA): ") + what + ": " + cudaGetErrorString(e));
}

template <typename T>
void run(const FusedAdafactorTensors& t, const FusedAdafactorScalars& s, cudaStream_t stream) {
  using namespace adafactor_kernels;
  const KernelShape k = kernel_shape(t);
  if (k.n == 0) return;
  // From PyTorch's caching allocator, on the current stream: no device-wide allocation.
  const at::Tensor workspace = at::empty({k.workspace_floats()}, t.param.options().dtype(at::kFloat));
  float* work = workspace.data_ptr<float>();
  check(cudaMemsetAsync(work, 0, k.workspace_floats() * sizeof(float), stream), "memset");
  launch_update<T>(t, s, k, work, [&](int64_t blocks, auto kernel, auto... args) {
    kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(args...);
  });
  check(cudaGetLastError(), "kernel launch");
}

}  // namespace

bool fused_adafactor_compiled() { return true; }

void fused_adafactor_update_cuda(const FusedAdafactorTensors& t, const FusedAdafactorScalars& s) {
  if (!t.param.is_cuda() || !t.param.is_contiguous() || !t.grad.is_contiguous() ||
      t.grad.scalar_type() != t.param.scalar_type())
    throw Error("adafactor (fused CUDA): parameter and gradient must be contiguous CUDA tensors of one dtype");
  const c10::cuda::CUDAGuard guard(t.param.device());
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream(t.param.device().index()).stream();
  dispatch_float_type(t.param.scalar_type(), "adafactor (fused CUDA): parameters",
                      [&](auto tag) { run<decltype(tag)>(t, s, stream); });
  // Written through a raw pointer: tell autograd the tensor changed, as copy_ would.
  t.param.unsafeGetTensorImpl()->bump_version();
}

}  // namespace symtune
