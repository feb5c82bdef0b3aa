#include "model/transformer.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <limits>

#include "common/error.h"
#include "model/activation_checkpoint.h"
#include "model/attention_masks.h"
#include "model/chunked_cross_entropy.h"
#include "model/fused_elementwise.h"
#include "model/rope.h"
#include "model/varlen_attention.h"
#include "model/weight_gatherer.h"

namespace symtune {
namespace {

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  return at::linear(x, w, b.defined() ? std::optional<at::Tensor>(b) : std::nullopt);
}

// The rotary tables of one forward: the model's, and Gemma 3's sliding layers' own.
struct LayerRopes {
  RopeTables rope, sliding;
  LayerRopes(const at::Tensor& inv_freq, const at::Tensor& sliding_inv_freq, const at::Tensor& positions_BT,
             at::ScalarType dtype, double attention_factor)
      : rope(rope_tables(inv_freq, positions_BT, dtype, attention_factor)) {
    if (sliding_inv_freq.defined()) sliding = rope_tables(sliding_inv_freq, positions_BT, dtype);
  }
  const RopeTables& of(const ModelConfig& c, int64_t layer) const {
    return c.uses_sliding_rope(layer) ? sliding : rope;
  }
};

}  // namespace

Transformer::Transformer(ModelConfig config, TransformerWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  if (static_cast<int64_t>(weights_.blocks.size()) != config_.num_layers)
    throw Error("transformer: " + std::to_string(weights_.blocks.size()) + " blocks of weights for " +
                std::to_string(config_.num_layers) + " layers");
  if (!weights_.embed_VxC.defined()) throw Error("transformer: no embedding weights");
  device_ = weights_.embed_VxC.device();
  dtype_ = weights_.embed_VxC.scalar_type();
  compute_rope_frequencies(device());
  resolve_kernels();
}

Transformer::Transformer(ModelConfig config, c10::Device device, at::ScalarType dtype, WeightGatherer* gatherer)
    : config_(std::move(config)), device_(device), dtype_(dtype), gatherer_(gatherer) {
  weights_.blocks.resize(config_.num_layers);
  compute_rope_frequencies(device_);
  resolve_kernels();
}

void Transformer::release_gathered_weights() {
  if (gatherer_) gatherer_->release_outer();
}

at::Tensor Transformer::run_block(int64_t i, const at::Tensor& x,
                                  const std::function<at::Tensor(const at::Tensor&)>& block,
                                  const std::vector<at::Tensor>& checkpoint_params) {
  const bool checkpoint = activation_checkpointing_ && at::GradMode::is_enabled();
  if (!gatherer_) return checkpoint ? checkpointed(block, x, checkpoint_params) : block(x);
  WeightGatherer* g = gatherer_;
  // Gathered inside the block function, so the recomputation in backward gathers again; the
  // gradients then reach the shards through the gather.
  auto gathered = [g, i, block](const at::Tensor& in) {
    g->gather_block(i);
    return g->after_block(i, block(in));
  };
  return checkpoint ? checkpointed(gathered, x, g->block_leaves(i)) : gathered(x);
}

void Transformer::compute_rope_frequencies(c10::Device device) {
  inv_freq_ = rope_inverse_frequencies(config_, device);
  long_inv_freq_ = rope_long_inverse_frequencies(config_, device);
  sliding_inv_freq_ =
      config_.sliding_rope ? rope_inverse_frequencies(*config_.sliding_rope, config_.head_dim, device) : at::Tensor();
}

// longrope, as transformers chooses: the long factors for a forward whose largest position + 1
// exceeds original_max_position_embeddings (read back from the device once per forward).
const at::Tensor& Transformer::rope_frequencies_for(const at::Tensor& positions_BT) const {
  if (!long_inv_freq_.defined()) return inv_freq_;
  const int64_t longest = positions_BT.max().item<int64_t>() + 1;
  return longest > config_.rope.original_max_position_embeddings ? long_inv_freq_ : inv_freq_;
}

void Transformer::set_kernels(KernelOptions kernels) {
  kernels_ = kernels;
  resolve_kernels();
}

void Transformer::resolve_kernels() {
  using K = KernelOptions;
  const bool scales_in_fp32 = config_.norm_weight_offset_one || config_.norm_scale_in_fp32;
  if (kernels_.rms_norm == K::RmsNorm::kFused && scales_in_fp32)
    throw Error("model.kernels.rms_norm = fused: " + config_.architecture_name + " scales by " +
                (config_.norm_weight_offset_one ? "(1 + w)" : "w") +
                " in fp32 before casting, which the fused kernel does not; use reference or auto");
  fused_rms_norm_ = kernels_.rms_norm == K::RmsNorm::kFused ||
                    (kernels_.rms_norm == K::RmsNorm::kAuto && device().is_cuda() && !scales_in_fp32);
  if (kernels_.loss == K::Loss::kChunked && config_.final_logit_softcapping)
    throw Error("model.kernels.loss = chunked: " + config_.architecture_name +
                " soft-caps its logits (final_logit_softcapping), which the chunked loss does not; use reference");
  fused_elementwise_ = kernels_.elementwise == K::Elementwise::kFused;
  if (fused_elementwise_ && device().is_cuda() && !fused_elementwise_compiled())
    throw Error(
        "model.kernels.elementwise = fused: this build has no fused CUDA kernels (needs a CUDA LibTorch and nvcc)");
}

std::vector<std::string> Transformer::kernel_fallbacks() const {
  std::vector<std::string> out;
  if (!device().is_cuda()) return out;  // auto takes the reference ops on the CPU anyway
  using K = KernelOptions;
  if (kernels_.rms_norm == K::RmsNorm::kAuto && (config_.norm_weight_offset_one || config_.norm_scale_in_fp32))
    out.push_back("rms_norm: reference ops (" + config_.architecture_name +
                  " scales in fp32 before casting, which the fused kernel does not)");
  if (kernels_.attention == K::Attention::kAuto && config_.attn_logit_softcapping)
    out.push_back("attention: the masked path (" + config_.architecture_name +
                  " soft-caps its scores, which variable-length FlashAttention here does not)");
  return out;
}

// Variable-length attention needs the segment lengths from the host and has no sliding window
// here. "auto" takes it where FlashAttention runs; "flash_varlen" anywhere (off CUDA segment
// by segment, for tests), and a request it cannot honour is a caller error.
bool Transformer::use_varlen_attention(const std::optional<PackedRows>& packing, int64_t T) const {
  using K = KernelOptions;
  if (kernels_.attention == K::Attention::kSdpaMask || !packing) return false;
  const bool window_matters = config_.sliding_window && *config_.sliding_window < T;
  const bool capped = config_.attn_logit_softcapping.has_value();
  const bool possible = !packing->segment_lengths.empty() && !window_matters && !capped;
  if (kernels_.attention == K::Attention::kFlashVarlen) {
    if (!possible)
      throw Error(std::string("model.kernels.attention = flash_varlen: ") +
                  (capped           ? "soft-capped attention scores (attn_logit_softcapping) need the masked path"
                   : window_matters ? "the sliding window is shorter than the rows"
                                    : "the rows' segment lengths are missing"));
    // On a GPU the segment-by-segment stand-in would be a silent slowdown: say why instead.
    if (device().is_cuda()) {
      const std::string why = flash_varlen_unsupported(device(), dtype(), config_.head_dim);
      if (!why.empty()) throw Error("model.kernels.attention = flash_varlen: " + why);
    }
    return true;
  }
  return possible && flash_varlen_unsupported(device(), dtype(), config_.head_dim).empty();
}

void Transformer::for_each_parameter(const std::function<void(const std::string&, at::Tensor&)>& fn) {
  for (const WeightSlot& s : weight_slots(config_, weights_)) fn(s.name, *s.tensor);
}

std::vector<at::Tensor> Transformer::parameters() {
  std::vector<at::Tensor> out;
  for_each_parameter([&](const std::string&, at::Tensor& t) { out.push_back(t); });
  return out;
}

void Transformer::to(c10::Device device, at::ScalarType dtype) {
  for_each_parameter([&](const std::string&, at::Tensor& t) {
    const bool grad = t.requires_grad();
    t = t.detach().to(device, dtype).requires_grad_(grad);
  });
  device_ = device;
  dtype_ = dtype;
  compute_rope_frequencies(device);
  resolve_kernels();
}

at::Tensor Transformer::embed(const at::Tensor& tokens_BT) {
  at::Tensor x = at::embedding(weights_.embed_VxC, tokens_BT.to(device()));
  if (config_.scale_embeddings) {
    // HF rounds sqrt(C) to the weight dtype before multiplying; so do we.
    at::Tensor scale = at::scalar_tensor(std::sqrt(static_cast<double>(config_.hidden_size)),
                                         at::TensorOptions().dtype(at::kFloat).device(device()))
                           .to(x.scalar_type());
    x = x * scale;
  }
  return x;
}

at::Tensor Transformer::rms_norm(const at::Tensor& x, const at::Tensor& weight) const {
  if (fused_rms_norm_) return at::rms_norm(x, {x.size(-1)}, weight, config_.rms_norm_eps);
  at::Tensor x32 = x.to(at::kFloat);
  at::Tensor normed = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + config_.rms_norm_eps);
  if (config_.norm_weight_offset_one)  // Gemma: scale by (1 + w) in fp32, then cast
    return (normed * (1.0 + weight.to(at::kFloat))).to(x.scalar_type());
  if (config_.norm_scale_in_fp32)  // OLMo 2: scale by w in fp32, then cast
    return (weight.to(at::kFloat) * normed).to(x.scalar_type());
  return weight * normed.to(x.scalar_type());  // Llama: cast, then scale
}

namespace {

// Held by value: a checkpointed block runs again during backward, after hidden_states()
// has returned, so it must own (reference-counted) copies of the tables and the mask.
struct BlockContext {
  const ModelConfig* config;  // owned by the model, which outlives backward
  RopeTables rope;
  AttentionLayout layout;
  std::optional<VarlenSegments> varlen;  // packed rows through the variable-length kernel
  bool fused_elementwise = false;        // model/fused_elementwise.h for SwiGLU and (varlen) rotary
  bool rotary = true;                    // false in SmolLM3's no-rope layers
  at::Tensor* cache_k_BKSD = nullptr;    // set for cached decoding
  at::Tensor* cache_v_BKSD = nullptr;
  int64_t past = 0;
};

}  // namespace

// Masked or causal attention of [B, H, T, D] queries over [B, K, S, D] keys and values.
static at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const BlockContext& ctx,
                         double scale) {
  const ModelConfig& c = *ctx.config;
  if (c.attn_logit_softcapping)
    return softcapped_attention(q, k, v, ctx.layout.allowed_B1TS, scale, *c.attn_logit_softcapping);
  const bool causal = !ctx.layout.allowed_B1TS.defined() && ctx.past == 0;
  std::optional<at::Tensor> mask;
  if (ctx.layout.allowed_B1TS.defined()) mask = ctx.layout.allowed_B1TS;
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, causal && q.size(2) > 1, scale,
                                          /*enable_gqa=*/c.num_kv_heads != c.num_heads);
}

// The query, key and value projections [B, T, heads x D]: three matmuls, or Phi-3's one over
// the fused qkv_proj, split as transformers splits it (rows q, then k, then v).
struct QkvProjections {
  at::Tensor q, k, v;
};
static QkvProjections project_qkv(const ModelConfig& c, const BlockWeights& w, const at::Tensor& h) {
  if (!w.qkv_proj_fused.defined())
    return {linear(h, w.q_proj_HDxC, w.q_bias_HD), linear(h, w.k_proj_KDxC, w.k_bias_KD),
            linear(h, w.v_proj_KDxC, w.v_bias_KD)};
  const int64_t HD = c.num_heads * c.head_dim, KD = c.num_kv_heads * c.head_dim;
  const at::Tensor qkv = at::linear(h, w.qkv_proj_fused);
  return {qkv.narrow(-1, 0, HD), qkv.narrow(-1, HD, KD), qkv.narrow(-1, HD + KD, KD)};
}

static at::Tensor attention_block(const BlockWeights& w, const at::Tensor& x_BTC, const BlockContext& ctx,
                                  const std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>& norm) {
  const ModelConfig& c = *ctx.config;
  const int64_t B = x_BTC.size(0), T = x_BTC.size(1), D = c.head_dim;
  const double scale = 1.0 / std::sqrt(c.query_pre_attn_scalar ? *c.query_pre_attn_scalar : static_cast<double>(D));
  auto maybe_norm = [&](const at::Tensor& x, const at::Tensor& weight) {
    return weight.defined() ? norm(x, weight) : x;
  };
  const at::Tensor h = maybe_norm(x_BTC, w.pre_attention_norm_C);
  const QkvProjections qkv = project_qkv(c, w, h);
  // A projection split into heads [B, T, heads, D], with the family's q/k norm: over the whole
  // projection (OLMo 2) before the split, or over each head (Qwen3) after it.
  auto heads = [&](at::Tensor p, const at::Tensor& norm_weight, int64_t n) {
    if (c.qk_norm == QkNorm::kFullWidth) p = maybe_norm(p, norm_weight);
    p = p.view({B, T, n, D});
    return c.qk_norm == QkNorm::kPerHead ? maybe_norm(p, norm_weight) : p;
  };
  auto output = [&](const at::Tensor& attn_BTHD) {
    return x_BTC + maybe_norm(linear(attn_BTHD, w.o_proj_CxHD, w.o_bias_C), w.post_attention_norm_C);
  };
  if (ctx.varlen) {
    // Token-major [B, T, heads, D] throughout: the rows flatten to [B T, heads, D] as views,
    // with no transposed copies; the rotary tables broadcast over heads in dim 2.
    const RopeTables rope{ctx.rope.cos_B1TD.transpose(1, 2), ctx.rope.sin_B1TD.transpose(1, 2)};
    auto rotate = [&](const at::Tensor& x_BTHD) {
      if (!ctx.rotary) return x_BTHD;
      const bool whole_head = ctx.rope.cos_B1TD.size(-1) == D;  // the fused kernel rotates whole heads
      return ctx.fused_elementwise && whole_head
                 ? fused_rope(x_BTHD, ctx.rope.cos_B1TD.squeeze(1), ctx.rope.sin_B1TD.squeeze(1))
                 : apply_rope(x_BTHD, rope);
    };
    at::Tensor q = rotate(heads(qkv.q, w.q_norm, c.num_heads));
    at::Tensor k = rotate(heads(qkv.k, w.k_norm, c.num_kv_heads));
    const at::Tensor& v = qkv.v;
    at::Tensor attn = varlen_causal_attention(q.reshape({B * T, c.num_heads, D}), k.reshape({B * T, c.num_kv_heads, D}),
                                              v.reshape({B * T, c.num_kv_heads, D}), *ctx.varlen, scale);
    return output(attn.view({B, T, c.num_heads * D}));
  }
  auto rotate = [&](const at::Tensor& x_BHTD) { return ctx.rotary ? apply_rope(x_BHTD, ctx.rope) : x_BHTD; };
  at::Tensor q = rotate(heads(qkv.q, w.q_norm, c.num_heads).transpose(1, 2));
  at::Tensor k = rotate(heads(qkv.k, w.k_norm, c.num_kv_heads).transpose(1, 2));
  at::Tensor v = qkv.v.view({B, T, c.num_kv_heads, D}).transpose(1, 2);
  if (ctx.cache_k_BKSD != nullptr) {
    ctx.cache_k_BKSD->narrow(2, ctx.past, T).copy_(k);
    ctx.cache_v_BKSD->narrow(2, ctx.past, T).copy_(v);
    k = ctx.cache_k_BKSD->narrow(2, 0, ctx.past + T);
    v = ctx.cache_v_BKSD->narrow(2, 0, ctx.past + T);
  }
  return output(attend(q, k, v, ctx, scale).transpose(1, 2).reshape({B, T, c.num_heads * D}));
}

static at::Tensor mlp_block(const ModelConfig& c, const BlockWeights& w, const at::Tensor& x_BTC,
                            const std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>& norm,
                            bool fused_elementwise) {
  const at::Tensor h = w.pre_mlp_norm_C.defined() ? norm(x_BTC, w.pre_mlp_norm_C) : x_BTC;
  at::Tensor gate, up;
  if (w.gate_up_proj_fused.defined()) {  // Phi-3: one matmul, rows gate then up
    const at::Tensor gate_up = at::linear(h, w.gate_up_proj_fused);
    gate = gate_up.narrow(-1, 0, c.intermediate_size);
    up = gate_up.narrow(-1, c.intermediate_size, c.intermediate_size);
  } else {
    gate = linear(h, w.gate_proj_FxC, w.gate_bias_F);
    up = linear(h, w.up_proj_FxC, w.up_bias_F);
  }
  at::Tensor gated;
  if (fused_elementwise && c.activation == Activation::kSilu) {
    gated = fused_swiglu(gate.contiguous(), up.contiguous());
  } else {
    gate = c.activation == Activation::kSilu ? at::silu(gate) : at::gelu(gate, "tanh");
    gated = gate * up;
  }
  at::Tensor out = linear(gated, w.down_proj_CxF, w.down_bias_C);
  if (w.post_mlp_norm_C.defined()) out = norm(out, w.post_mlp_norm_C);  // OLMo 2
  return x_BTC + out;
}

at::Tensor Transformer::hidden_states(const at::Tensor& tokens_BT, const std::optional<PackedRows>& packing) {
  if (tokens_BT.dim() != 2) throw Error("transformer: tokens must be [batch, tokens]");
  const int64_t B = tokens_BT.size(0), T = tokens_BT.size(1);
  at::Tensor positions_BT;
  std::optional<at::Tensor> segments;
  if (packing) {
    positions_BT = packing->position_ids_BT.to(device());
    segments = packing->segment_ids_BT.to(device());
  } else {
    positions_BT = at::arange(T, at::TensorOptions().dtype(at::kLong).device(device())).unsqueeze(0).expand({B, T});
  }
  const LayerRopes ropes(rope_frequencies_for(positions_BT), sliding_inv_freq_, positions_BT, dtype(),
                         config_.rope.attention_factor);
  std::optional<VarlenSegments> varlen;
  std::optional<LayerLayouts> layouts;
  if (use_varlen_attention(packing, T)) {
    varlen = make_varlen_segments(packing->segment_lengths, device());
  } else {
    layouts.emplace(config_, T, 0, segments, device());
  }
  auto norm = [this](const at::Tensor& x, const at::Tensor& w) { return rms_norm(x, w); };
  // The tensors each block reads, so a checkpointed block's recomputation gets their gradients.
  std::vector<std::vector<at::Tensor>> block_parameters(config_.num_layers);
  if (activation_checkpointing_ && !gatherer_)
    for (const WeightSlot& s : weight_slots(config_, weights_))
      if (s.layer >= 0) block_parameters[s.layer].push_back(*s.tensor);
  if (gatherer_) gatherer_->gather_outer();
  at::Tensor x = embed(tokens_BT);
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    const BlockWeights& w = weights_.blocks[i];
    BlockContext ctx{&config_, ropes.of(config_, i), layouts ? layouts->of(config_, i) : AttentionLayout{},
                     varlen,   fused_elementwise_,   config_.layer_uses_rope(i)};
    auto block = [this, &w, ctx, norm](const at::Tensor& in) {
      return mlp_block(config_, w, attention_block(w, in, ctx, norm), norm, ctx.fused_elementwise);
    };
    x = run_block(i, x, block, block_parameters[i]);
  }
  return rms_norm(x, weights_.final_norm_C);
}

const at::Tensor& Transformer::output_projection() const {
  return config_.tie_word_embeddings ? weights_.embed_VxC : weights_.lm_head_VxC;
}

at::Tensor Transformer::logits(const at::Tensor& hidden_BTC) {
  at::Tensor logits = at::linear(hidden_BTC, output_projection());
  if (const auto cap = config_.final_logit_softcapping) logits = at::tanh(logits / *cap) * *cap;  // Gemma 2
  return logits;
}

at::Tensor Transformer::cross_entropy_sum(const at::Tensor& hidden_NC, const at::Tensor& labels_N) {
  const int64_t chunk_rows =
      kernels_.loss_chunk_rows > 0 ? kernels_.loss_chunk_rows : cross_entropy_chunk_rows(config_.vocab_size);
  if (kernels_.loss == KernelOptions::Loss::kChunked && hidden_NC.size(0) > chunk_rows)
    return chunked_cross_entropy_sum(hidden_NC, output_projection(), labels_N, chunk_rows);
  return at::cross_entropy_loss(logits(hidden_NC).to(at::kFloat), labels_N, {}, at::Reduction::Sum);
}

KVCache Transformer::make_cache(int64_t batch, int64_t capacity) const {
  KVCache cache;
  auto opts = at::TensorOptions().dtype(dtype()).device(device());
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    cache.keys_BKSD.push_back(at::zeros({batch, config_.num_kv_heads, capacity, config_.head_dim}, opts));
    cache.values_BKSD.push_back(at::zeros({batch, config_.num_kv_heads, capacity, config_.head_dim}, opts));
  }
  return cache;
}

at::Tensor Transformer::forward_cached(const at::Tensor& tokens_BT, KVCache& cache) {
  return logits(hidden_states_cached(tokens_BT, cache));
}

at::Tensor Transformer::hidden_states_cached(const at::Tensor& tokens_BT, KVCache& cache,
                                             const std::vector<int64_t>& row_lengths) {
  const int64_t B = tokens_BT.size(0), T = tokens_BT.size(1);
  if (cache.length + T > cache.capacity())
    throw Error("generate: " + std::to_string(cache.length + T) + " tokens exceed the cache capacity of " +
                std::to_string(cache.capacity()));
  if (!row_lengths.empty() && static_cast<int64_t>(row_lengths.size()) != B)
    throw Error("transformer: " + std::to_string(row_lengths.size()) + " row lengths for " + std::to_string(B) +
                " rows");
  at::NoGradGuard no_grad;
  at::Tensor positions_BT;
  std::optional<LayerLayouts> layouts;
  if (cache.next_position_B.defined() || !row_lengths.empty()) {
    at::Tensor attendable_BS;
    const bool first = cache.length == 0;
    positions_BT = cache.append_ragged(T, row_lengths, attendable_BS);
    // The first forward is causal by slot: right padding lies after every real token of its
    // row, so no dense mask is needed (and CUDA keeps its fast kernels); later ones need it.
    if (first) layouts.emplace(config_, T, 0, std::nullopt, device());
    else layouts.emplace(config_, positions_BT, cache.slot_positions_BS.narrow(1, 0, cache.length + T), attendable_BS);
  } else {
    auto opts = at::TensorOptions().dtype(at::kLong).device(device());
    positions_BT = at::arange(cache.length, cache.length + T, opts).unsqueeze(0).expand({B, T});
    layouts.emplace(config_, T, cache.length, std::nullopt, device());
  }
  const LayerRopes ropes(rope_frequencies_for(positions_BT), sliding_inv_freq_, positions_BT, dtype(),
                         config_.rope.attention_factor);
  auto norm = [this](const at::Tensor& x, const at::Tensor& w) { return rms_norm(x, w); };
  if (gatherer_) gatherer_->gather_outer();
  at::Tensor x = embed(tokens_BT);
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    BlockContext ctx{&config_,           ropes.of(config_, i),       layouts->of(config_, i), std::nullopt,
                     fused_elementwise_, config_.layer_uses_rope(i), &cache.keys_BKSD[i],     &cache.values_BKSD[i],
                     cache.length};
    const BlockWeights& w = weights_.blocks[i];
    auto block = [this, &w, ctx, norm](const at::Tensor& in) {
      return mlp_block(config_, w, attention_block(w, in, ctx, norm), norm, ctx.fused_elementwise);
    };
    x = run_block(i, x, block, {});
  }
  cache.length += T;
  return rms_norm(x, weights_.final_norm_C);
}

}  // namespace symtune
