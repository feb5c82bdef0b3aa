#include "model/llama2c_import.h"

#include <ATen/ATen.h>

#include <cstring>

#include "common/error.h"
#include "common/file_io.h"

namespace symtune {

namespace {

// Interleaved (x0, x1), (x2, x3), ... rotary pairs -> HF's (first half, second half) layout:
// within each head, output row j*2+p moves to p*(D/2)+j.
at::Tensor interleaved_to_half_rotary(const at::Tensor& w_OxC, int64_t heads) {
  const int64_t rows = w_OxC.size(0), cols = w_OxC.size(1);
  return w_OxC.view({heads, rows / heads / 2, 2, cols}).transpose(1, 2).reshape({rows, cols}).contiguous();
}

}  // namespace

std::unique_ptr<Transformer> import_llama2c(const std::filesystem::path& path) {
  auto file = MappedFile::open(path);
  const std::string where = path.string();
  if (file->size() < 28)
    throw Error(where + ": truncated: " + std::to_string(file->size()) + " bytes, a llama2.c header needs 28");
  int32_t h[7];
  std::memcpy(h, file->data(), sizeof(h));
  const char* fields[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  for (int i = 0; i < 7; ++i)
    if (i != 5 && h[i] <= 0)
      throw Error(where + ": header field " + fields[i] + " = " + std::to_string(h[i]) +
                  " must be positive; is this a llama2.c legacy checkpoint?");
  const int64_t dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kv_heads = h[4], seq_len = h[6];
  const bool shared_classifier = h[5] > 0;
  const int64_t vocab = std::abs(h[5]);
  if (vocab == 0 || dim % heads != 0 || heads % kv_heads != 0)
    throw Error(where + ": inconsistent header: dim " + std::to_string(dim) + ", heads " + std::to_string(heads) +
                ", kv heads " + std::to_string(kv_heads) + ", vocab " + std::to_string(vocab));
  const int64_t head_dim = dim / heads, kv_dim = kv_heads * head_dim;

  ModelConfig c;
  c.architecture = Architecture::kLlama;
  c.architecture_name = "LlamaForCausalLM";
  c.vocab_size = vocab;
  c.hidden_size = dim;
  c.intermediate_size = hidden;
  c.num_layers = layers;
  c.num_heads = heads;
  c.num_kv_heads = kv_heads;
  c.head_dim = head_dim;
  c.max_position_embeddings = seq_len;
  c.rms_norm_eps = 1e-5;  // llama2.c's rmsnorm epsilon
  c.rope.theta = 10000.0;
  c.tie_word_embeddings = shared_classifier;
  c.bos_token_id = 1;  // llama2.c's tokenizers: 1 = BOS, 2 = EOS
  c.eos_token_ids = {2};
  c.validate(where);

  // Tensor sizes in file order; freq_cis_real/imag (seq_len x head_dim/2 each) are stored
  // but recomputed by us, so they are skipped.
  const uint64_t floats_expected = vocab * dim +
                                   layers * (2 * dim + dim * dim * 2 + 2 * dim * kv_dim + 3 * dim * hidden) + dim +
                                   seq_len * head_dim + (shared_classifier ? 0 : vocab * dim);
  const uint64_t bytes_expected = 28 + floats_expected * 4;
  if (file->size() != bytes_expected)
    throw Error(where + ": " + std::to_string(file->size()) + " bytes, but the header implies " +
                std::to_string(bytes_expected) + " (7 int32 + " + std::to_string(floats_expected) +
                " float32); the file is truncated or not a llama2.c legacy checkpoint");

  const float* cursor = reinterpret_cast<const float*>(file->data() + 28);
  auto take = [&](std::vector<int64_t> shape) {
    at::Tensor t = at::empty(shape, at::kFloat);
    std::memcpy(t.data_ptr<float>(), cursor, t.numel() * sizeof(float));
    cursor += t.numel();
    return t;
  };
  TransformerWeights w;
  w.blocks.resize(layers);
  w.embed_VxC = take({vocab, dim});
  for (auto& b : w.blocks) b.pre_attention_norm_C = take({dim});
  for (auto& b : w.blocks) b.q_proj_HDxC = interleaved_to_half_rotary(take({dim, dim}), heads);
  for (auto& b : w.blocks) b.k_proj_KDxC = interleaved_to_half_rotary(take({kv_dim, dim}), kv_heads);
  for (auto& b : w.blocks) b.v_proj_KDxC = take({kv_dim, dim});
  for (auto& b : w.blocks) b.o_proj_CxHD = take({dim, dim});
  for (auto& b : w.blocks) b.pre_mlp_norm_C = take({dim});
  for (auto& b : w.blocks) b.gate_proj_FxC = take({hidden, dim});  // w1
  for (auto& b : w.blocks) b.down_proj_CxF = take({dim, hidden});  // w2
  for (auto& b : w.blocks) b.up_proj_FxC = take({hidden, dim});    // w3
  w.final_norm_C = take({dim});
  cursor += seq_len * head_dim;  // freq_cis_real and freq_cis_imag
  if (!shared_classifier) w.lm_head_VxC = take({vocab, dim});
  return std::make_unique<Transformer>(c, std::move(w));
}

}  // namespace symtune
