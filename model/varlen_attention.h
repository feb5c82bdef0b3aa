// Causal attention over packed rows without a dense mask. The tokens of all rows are laid end
// to end and FlashAttention's variable-length kernel attends within each segment (one packed
// example, or a row's padding) given the segments' cumulative lengths. Work then scales with
// the sum of squared example lengths instead of rows x 2560^2, and no [B, 1, T, T] mask is
// built. FlashAttention needs CUDA and bf16/fp16; anywhere else the same function is computed
// segment by segment with SDPA (slow, for tests: it lets the CPU check the layout and the
// plumbing of lengths against the masked path). The CUDA test compares the kernel with both.
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace symtune {

struct VarlenSegments {
  at::Tensor cu_seqlens;         // int32 [segments + 1] on the device: each segment's first token, then the total
  int64_t max_length = 0;        // longest segment
  std::vector<int32_t> lengths;  // the same on the host, for the segment-by-segment path
  int64_t tokens = 0;            // their sum: the tokens the segments cover
};

// Lengths of the runs of equal ids in each row of a row-major [rows, seq] array, row after
// row (a run never spans two rows). Computed on the host, where the batch is built, so the
// GPU never has to report them back.
std::vector<int32_t> segment_lengths(const int64_t* segment_ids, int64_t rows, int64_t seq);

VarlenSegments make_varlen_segments(const std::vector<int32_t>& lengths, c10::Device device);

// Why FlashAttention's variable-length kernel cannot run for these tensors, or "" when it can.
std::string flash_varlen_unsupported(c10::Device device, at::ScalarType dtype, int64_t head_dim);

// q [N, H, D], k and v [N, K, D] with H a multiple of K (grouped-query attention), N the
// tokens of all rows -> [N, H, D]. Differentiable in q, k and v. FlashAttention where it can
// run, otherwise segment by segment.
at::Tensor varlen_causal_attention(const at::Tensor& q_NHD, const at::Tensor& k_NKD, const at::Tensor& v_NKD,
                                   const VarlenSegments& segments, double scale);

}  // namespace symtune
