// Reader for GGUF files (llama.cpp's format, versions 2 and 3): header, metadata key/values of
// every type, tensor infos, alignment and data offsets, with strict validation (counts, string
// lengths, offsets and sizes must lie inside the file; types must be known), and dequantization
// of F32, F16, BF16, Q8_0, Q4_0 and Q4_1 tensors to fp32. Other quantizations are refused by name.
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace symtune {

class MappedFile;

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // GGUF order: dims[0] varies fastest
  uint32_t type = 0;          // ggml type id
  uint64_t offset = 0;        // from the start of the data section
  uint64_t bytes = 0;
  std::vector<int64_t> torch_shape() const { return {dims.rbegin(), dims.rend()}; }
};

class GgufFile {
 public:
  static GgufFile open(const std::filesystem::path& path);

  uint32_t version() const { return version_; }
  // Metadata as JSON values (arrays as JSON arrays; integers, floats, bools and strings as is).
  const nlohmann::json& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find(const std::string& name) const;
  // The tensor dequantized to an fp32 CPU tensor of torch_shape().
  at::Tensor load_fp32(const std::string& name) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::shared_ptr<const MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t data_start_ = 0;
  nlohmann::json metadata_ = nlohmann::json::object();
  std::vector<GgufTensorInfo> tensors_;
};

// The ggml type's name ("Q4_1"), or "type N" for ids we do not know.
std::string ggml_type_name(uint32_t type);

}  // namespace symtune
