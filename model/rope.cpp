#include "model/rope.h"

#include <ATen/ATen.h>

#include <cmath>

namespace symtune {

at::Tensor rope_inverse_frequencies(const ModelConfig& config, c10::Device device) {
  return rope_inverse_frequencies(config.rope, config.head_dim, device);
}

at::Tensor rope_inverse_frequencies(const RopeConfig& r, int64_t dim, c10::Device device) {
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  // 1 / theta^(2i/D), exponent computed in fp32 as HF does.
  at::Tensor exponent = at::arange(0, dim, 2, at::TensorOptions().dtype(at::kLong).device(device)).to(at::kFloat) /
                        static_cast<double>(dim);
  at::Tensor inv_freq = 1.0 / at::pow(r.theta, exponent);
  if (r.type == "linear") return (inv_freq / r.factor).to(f32);
  if (r.type != "llama3") return inv_freq.to(f32);

  // llama3: leave high frequencies alone, divide low frequencies by `factor`, and blend
  // smoothly in between, by wavelength relative to the original context length.
  const double old_context = static_cast<double>(r.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / r.low_freq_factor;
  const double high_freq_wavelen = old_context / r.high_freq_factor;
  at::Tensor wavelen = 2 * M_PI / inv_freq;
  at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / r.factor, inv_freq);
  at::Tensor smooth = (old_context / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
  at::Tensor smoothed = (1 - smooth) * scaled / r.factor + smooth * scaled;
  at::Tensor is_medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
  return at::where(is_medium, smoothed, scaled).to(f32);
}

RopeTables rope_tables(const at::Tensor& inv_freq, const at::Tensor& position_ids_BT, at::ScalarType dtype) {
  at::Tensor freqs_BTd = position_ids_BT.to(at::kFloat).unsqueeze(-1) * inv_freq;
  at::Tensor emb_BTD = at::cat({freqs_BTd, freqs_BTd}, -1);
  return {emb_BTD.cos().to(dtype).unsqueeze(1), emb_BTD.sin().to(dtype).unsqueeze(1)};
}

at::Tensor apply_rope(const at::Tensor& x_BHTD, const RopeTables& tables) {
  const int64_t half = x_BHTD.size(-1) / 2;
  at::Tensor rotated = at::cat({-x_BHTD.narrow(-1, half, half), x_BHTD.narrow(-1, 0, half)}, -1);
  return x_BHTD * tables.cos_B1TD + rotated * tables.sin_B1TD;
}

}  // namespace symtune
