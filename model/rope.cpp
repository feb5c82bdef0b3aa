#include "model/rope.h"

#include <ATen/ATen.h>

#include <cmath>

namespace symtune {

at::Tensor rope_inverse_frequencies(const ModelConfig& config, c10::Device device) {
  return rope_inverse_frequencies(config.rope, config.rotary_dims(), device);
}

namespace {

// theta^(2i/D), exponent computed in fp32 as HF does.
at::Tensor rope_powers(double theta, int64_t dim, c10::Device device) {
  at::Tensor exponent = at::arange(0, dim, 2, at::TensorOptions().dtype(at::kLong).device(device)).to(at::kFloat) /
                        static_cast<double>(dim);
  return at::pow(theta, exponent);
}

// longrope: 1 / (factor_i theta^(2i/D)), the factors in fp32.
at::Tensor longrope_inverse_frequencies(const RopeConfig& r, const std::vector<double>& factors, int64_t dim,
                                        c10::Device device) {
  const at::Tensor ext = at::tensor(factors, at::kDouble).to(at::kFloat).to(device);
  return 1.0 / (ext * rope_powers(r.theta, dim, device));
}

}  // namespace

at::Tensor rope_long_inverse_frequencies(const ModelConfig& config, c10::Device device) {
  if (config.rope.type != "longrope") return {};
  return longrope_inverse_frequencies(config.rope, config.rope.long_factor, config.rotary_dims(), device);
}

at::Tensor rope_inverse_frequencies(const RopeConfig& r, int64_t dim, c10::Device device) {
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  if (r.type == "longrope") return longrope_inverse_frequencies(r, r.short_factor, dim, device);
  at::Tensor inv_freq = 1.0 / rope_powers(r.theta, dim, device);
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

RopeTables rope_tables(const at::Tensor& inv_freq, const at::Tensor& position_ids_BT, at::ScalarType dtype,
                       double attention_factor) {
  at::Tensor freqs_BTd = position_ids_BT.to(at::kFloat).unsqueeze(-1) * inv_freq;
  at::Tensor emb_BTD = at::cat({freqs_BTd, freqs_BTd}, -1);
  at::Tensor cos = emb_BTD.cos(), sin = emb_BTD.sin();
  if (attention_factor != 1.0) {  // longrope: scaled in fp32, then cast, as HF does
    cos = cos * attention_factor;
    sin = sin * attention_factor;
  }
  return {cos.to(dtype).unsqueeze(1), sin.to(dtype).unsqueeze(1)};
}

at::Tensor apply_rope(const at::Tensor& x_BHTD, const RopeTables& tables) {
  const int64_t rotary = tables.cos_B1TD.size(-1), D = x_BHTD.size(-1);
  if (rotary < D) {  // partial rotary: the leading dims rotate, the rest pass through
    return at::cat({apply_rope(x_BHTD.narrow(-1, 0, rotary), tables), x_BHTD.narrow(-1, rotary, D - rotary)}, -1);
  }
  const int64_t half = D / 2;
  at::Tensor rotated = at::cat({-x_BHTD.narrow(-1, half, half), x_BHTD.narrow(-1, 0, half)}, -1);
  return x_BHTD * tables.cos_B1TD + rotated * tables.sin_B1TD;
}

}  // namespace symtune
