// The model shapes the benchmarks run (random weights): the 124M GPT-2-sized Llama, TinyLlama
// 1.1B, and a tiny one for quick checks. One place, so every bench times the same shapes.
#pragma once

#include <string>

#include "common/error.h"
#include "model/model_config.h"

namespace symtune::bench {

// "124m", "1.1b" or "tiny".
inline ModelConfig shape_config(const std::string& shape) {
  std::string dims;
  if (shape == "124m")
    dims = R"("hidden_size":768,"intermediate_size":2048,"num_hidden_layers":12,)"
           R"("num_attention_heads":12,"num_key_value_heads":12)";
  else if (shape == "1.1b")
    dims = R"("hidden_size":2048,"intermediate_size":5632,"num_hidden_layers":22,)"
           R"("num_attention_heads":32,"num_key_value_heads":4)";
  else if (shape == "tiny")
    dims = R"("hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,)"
           R"("num_attention_heads":4,"num_key_value_heads":2)";
  else throw Error("--shape: '" + shape + "' is not 124m, 1.1b or tiny");
  return parse_model_config(
      R"({"architectures":["LlamaForCausalLM"],"vocab_size":32000,"max_position_embeddings":4096,)" + dims + "}",
      "bench shape " + shape);
}

}  // namespace symtune::bench
