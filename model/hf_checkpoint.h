// Hugging Face checkpoint directories in and out: config.json, model.safetensors or shards
// listed in model.safetensors.index.json, and the tokenizer files beside them. Loading checks
// every tensor against what the config implies (missing, unexpected and mis-shaped tensors
// are listed by name and file); saving writes a directory transformers loads as is.
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>

#include "model/transformer.h"

namespace symtune {

struct LoadOptions {
  at::ScalarType dtype = at::kFloat;
  c10::Device device = c10::Device(c10::kCPU);
  bool requires_grad = false;
};

std::unique_ptr<Transformer> load_pretrained(const std::filesystem::path& model_dir, const LoadOptions& options = {});

class SafetensorsFile;

// A pretrained directory opened and checked against its config.json (missing, unexpected and
// mis-shaped tensors are refused by name, as load_pretrained refuses them), its tensors read by
// their weight_slots() name whole or a flat range at a time: a rank of a sharded run reads only
// its own ranges out of the memory-mapped files.
class PretrainedWeights {
 public:
  explicit PretrainedWeights(const std::filesystem::path& model_dir);
  const ModelConfig& config() const;
  at::Tensor read(const std::string& slot) const;                                    // in the stored dtype, on the CPU
  at::Tensor read_range(const std::string& slot, int64_t begin, int64_t end) const;  // 1-D, elements [begin, end)

 private:
  struct Impl;
  const SafetensorsFile& file_of(const std::string& slot, std::string& stored) const;
  std::shared_ptr<Impl> impl_;
};

struct SaveOptions {
  at::ScalarType dtype = at::kFloat;  // float32 or bfloat16
  // Shards above this many bytes are split, with model.safetensors.index.json; 0 = one file.
  int64_t max_shard_bytes = 0;
  // Copy tokenizer.model, tokenizer.json, tokenizer_config.json, special_tokens_map.json and
  // generation_config.json from here when present.
  std::filesystem::path tokenizer_source_dir;
  // More files for the directory (name -> bytes), written with the weights before it is renamed
  // into place: a converter's tokenizer files, so the directory is complete or absent.
  std::map<std::string, std::string> extra_files;
  // A command's own output (convert, export): a stop request (common/stop_signal.h) abandons the
  // write, leaving nothing. Checkpoints, written because of a stop request, keep the default.
  bool stop_on_signal = false;
  // A command's own output: tensors written so far on stderr (common/progress.h).
  bool show_progress = false;
};

// Writes into `out_dir`, which must not exist or be empty. Files are written into a sibling
// temporary directory that is renamed into place at the end, so a crash leaves no half model.
void save_pretrained(Transformer& model, const std::filesystem::path& out_dir, const SaveOptions& options = {});

// The same from any source of the tensors: fetch(spec) is asked for each weight_slots() tensor in
// turn and written before the next is asked for, so a model assembled from shards is written
// holding one tensor at a time.
void save_pretrained_streamed(const ModelConfig& config, const std::function<at::Tensor(const TensorSpec&)>& fetch,
                              const std::filesystem::path& out_dir, const SaveOptions& options = {});

// Files that make up a tokenizer, in the order they are looked for.
const std::vector<std::string>& tokenizer_file_names();

}  // namespace symtune
