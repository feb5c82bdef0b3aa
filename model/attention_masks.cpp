#include "model/attention_masks.h"

#include <ATen/ATen.h>

#include <limits>

namespace symtune {

AttentionLayout make_layout(int64_t T, int64_t past, const std::optional<at::Tensor>& segment_ids_BT,
                            std::optional<int64_t> window, c10::Device device) {
  const int64_t S = past + T;
  const bool window_matters = window && *window < S;
  if (!segment_ids_BT && !window_matters && (past == 0 || T == 1)) return {};
  auto idx = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor q_pos = at::arange(past, S, idx).unsqueeze(1);
  at::Tensor k_pos = at::arange(0, S, idx).unsqueeze(0);
  at::Tensor allowed_TS = k_pos <= q_pos;
  if (window_matters) allowed_TS = allowed_TS.logical_and(q_pos - k_pos < *window);
  at::Tensor allowed = allowed_TS.unsqueeze(0);
  if (segment_ids_BT) {
    const at::Tensor& seg = *segment_ids_BT;
    allowed = allowed.logical_and(seg.unsqueeze(2) == seg.unsqueeze(1));
  }
  return {allowed.unsqueeze(1)};
}

LayerLayouts::LayerLayouts(const ModelConfig& c, int64_t T, int64_t past, const std::optional<at::Tensor>& segments_BT,
                           c10::Device device)
    : full(make_layout(T, past, segments_BT, std::nullopt, device)) {
  if (c.sliding_window) windowed = make_layout(T, past, segments_BT, c.sliding_window, device);
}

LayerLayouts::LayerLayouts(const ModelConfig& c, const at::Tensor& q_pos_BT, const at::Tensor& k_pos_BS,
                           const at::Tensor& k_attendable_BS) {
  const at::Tensor q = q_pos_BT.unsqueeze(2), k = k_pos_BS.unsqueeze(1);
  const at::Tensor allowed = k_attendable_BS.unsqueeze(1).logical_and(k <= q);
  full = {allowed.unsqueeze(1)};
  if (c.sliding_window) windowed = {allowed.logical_and(q - k < *c.sliding_window).unsqueeze(1)};
}

at::Tensor softcapped_attention(const at::Tensor& q_BHTD, const at::Tensor& k_BKSD, const at::Tensor& v_BKSD,
                                const at::Tensor& allowed_B1TS, double scale, double cap) {
  const int64_t groups = q_BHTD.size(1) / k_BKSD.size(1), T = q_BHTD.size(2), S = k_BKSD.size(2);
  const at::Tensor k = groups > 1 ? k_BKSD.repeat_interleave(groups, 1) : k_BKSD;
  const at::Tensor v = groups > 1 ? v_BKSD.repeat_interleave(groups, 1) : v_BKSD;
  at::Tensor scores = at::matmul(q_BHTD, k.transpose(2, 3)) * scale;
  scores = at::tanh(scores / cap) * cap;
  at::Tensor allowed = allowed_B1TS;
  if (!allowed.defined() && T > 1) {
    auto idx = at::TensorOptions().dtype(at::kLong).device(q_BHTD.device());
    allowed = at::arange(0, S, idx).unsqueeze(0) <= at::arange(S - T, S, idx).unsqueeze(1);
  }
  if (allowed.defined()) scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  return at::matmul(at::softmax(scores, -1, at::kFloat).to(q_BHTD.scalar_type()), v);
}

}  // namespace symtune
