// GGUF (llama.cpp) checkpoints into our transformer: config from the metadata, tensors mapped to
// HF names and dequantized to fp32, and the q/k rows put back into HF's rotary layout
// (llama.cpp's converter interleaves them for its rope; the reference readers undo it too).
// Llama-architecture files only; anything else is refused by name.
// Must not include data/ or trainer/.
#pragma once

#include <memory>

#include "model/gguf.h"
#include "model/transformer.h"

namespace symtune {

ModelConfig gguf_model_config(const GgufFile& file);
// show_progress: tensors converted so far on stderr (common/progress.h).
std::unique_ptr<Transformer> import_gguf(const GgufFile& file, bool show_progress = false);

}  // namespace symtune
