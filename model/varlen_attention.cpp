#include "model/varlen_attention.h"

#include <ATen/ATen.h>

#ifdef SYMTUNE_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif

#include "common/error.h"

namespace symtune {
namespace {

int compute_capability_major(c10::Device device) {
#ifdef SYMTUNE_WITH_CUDA
  int major = 0;
  const int index = device.has_index() ? device.index() : c10::cuda::current_device();
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, index) == cudaSuccess) return major;
#endif
  (void)device;
  return 0;
}

}  // namespace

std::vector<int32_t> segment_lengths(const int64_t* segment_ids, int64_t rows, int64_t seq) {
  std::vector<int32_t> lengths;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t* row = segment_ids + r * seq;
    int32_t run = 0;
    for (int64_t t = 0; t < seq; ++t) {
      if (t > 0 && row[t] != row[t - 1]) {
        lengths.push_back(run);
        run = 0;
      }
      ++run;
    }
    if (run > 0) lengths.push_back(run);
  }
  return lengths;
}

VarlenSegments make_varlen_segments(const std::vector<int32_t>& lengths, c10::Device device) {
  std::vector<int32_t> starts(lengths.size() + 1, 0);
  int64_t longest = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    starts[i + 1] = starts[i] + lengths[i];
    longest = std::max<int64_t>(longest, lengths[i]);
  }
  if (device.is_cpu()) return {at::tensor(starts, at::kInt), longest, lengths, starts.back()};
  // From pinned memory without waiting: the copy is queued on the stream like the kernels.
  at::Tensor host =
      at::empty({static_cast<int64_t>(starts.size())}, at::TensorOptions().dtype(at::kInt).pinned_memory(true));
  std::copy(starts.begin(), starts.end(), host.data_ptr<int32_t>());
  return {host.to(device, /*non_blocking=*/true), longest, lengths, starts.back()};
}

std::string flash_varlen_unsupported(c10::Device device, at::ScalarType dtype, int64_t head_dim) {
  if (!device.is_cuda()) return "it needs CUDA (LibTorch has no CPU kernel for it)";
  if (compute_capability_major(device) < 8) return "it needs an Ampere or newer GPU (compute capability 8.0)";
  if (dtype != at::kBFloat16 && dtype != at::kHalf) return "it needs bf16 or fp16 activations";
  if (head_dim % 8 != 0 || head_dim > 256) return "it needs a head dim that is a multiple of 8 and at most 256";
  return "";
}

at::Tensor varlen_causal_attention(const at::Tensor& q_NHD, const at::Tensor& k_NKD, const at::Tensor& v_NKD,
                                   const VarlenSegments& segments, double scale) {
  if (q_NHD.size(1) % k_NKD.size(1) != 0)
    throw Error("variable-length attention: " + std::to_string(q_NHD.size(1)) + " query heads are not a multiple of " +
                std::to_string(k_NKD.size(1)) + " key/value heads");
  if (segments.tokens != q_NHD.size(0))
    throw Error("variable-length attention: the segments cover " + std::to_string(segments.tokens) +
                " tokens, the batch has " + std::to_string(q_NHD.size(0)));
  if (flash_varlen_unsupported(q_NHD.device(), q_NHD.scalar_type(), q_NHD.size(-1)).empty())
    // LibTorch's autograd knows this op (its backward is _flash_attention_backward with the same
    // cumulative lengths, as for nested tensors); outputs past the first are statistics.
    return std::get<0>(at::_flash_attention_forward(q_NHD.contiguous(), k_NKD.contiguous(), v_NKD.contiguous(),
                                                    segments.cu_seqlens, segments.cu_seqlens, segments.max_length,
                                                    segments.max_length, /*dropout_p=*/0.0, /*is_causal=*/true,
                                                    /*return_debug_mask=*/false, scale));
  // Segment by segment: [len, heads, D] -> [1, heads, len, D] for SDPA, causal within it.
  std::vector<at::Tensor> outputs;
  int64_t start = 0;
  const bool gqa = q_NHD.size(1) != k_NKD.size(1);
  for (int32_t len : segments.lengths) {
    auto seg = [&](const at::Tensor& x) { return x.narrow(0, start, len).transpose(0, 1).unsqueeze(0); };
    at::Tensor o = at::scaled_dot_product_attention(seg(q_NHD), seg(k_NKD), seg(v_NKD), std::nullopt, 0.0,
                                                    /*is_causal=*/len > 1, scale, gqa);
    outputs.push_back(o.squeeze(0).transpose(0, 1));
    start += len;
  }
  return at::cat(outputs, 0);
}

}  // namespace symtune
