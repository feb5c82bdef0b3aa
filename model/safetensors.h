// Reader and writer for the safetensors format (8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}}, then raw little-endian tensor bytes), written
// by us with strict validation: we never trust an offset or a size from the file.
// Supports F32, F16 and BF16. Reads are memory-mapped; writes are atomic.
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace symtune {

class MappedFile;

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // "F32", "F16" or "BF16"
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte range inside the data section, [begin, end)
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates the whole header; throws Error naming the file (and tensor) on any
  // inconsistency: header length past the end or above 100 MiB, malformed JSON, a NUL byte in
  // the header, a tensor name given twice, unknown dtype, shape x dtype size != byte range,
  // range outside the file, and any data byte not owned by exactly one tensor (overlaps, gaps,
  // trailing bytes), as the reference library does.
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const SafetensorsEntry* find(const std::string& name) const;

  // Copies tensor `name` out of the mapping into a new CPU tensor of its stored dtype.
  at::Tensor load(const std::string& name) const;
  // Elements [begin, end) of tensor `name` in row-major order, as a 1-D CPU tensor: only those
  // bytes are read (a rank loading its shard of a model never touches the rest).
  at::Tensor load_range(const std::string& name, int64_t begin, int64_t end) const;

 private:
  std::filesystem::path path_;
  std::shared_ptr<const MappedFile> file_;
  uint64_t data_start_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (CPU or not; contiguous copies are made as needed) atomically to `path`.
// Only float32, float16 and bfloat16 tensors are accepted.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// The same, one tensor at a time: the header is written from `specs` (name, dtype, shape), then
// produce(i) is asked for tensor i, checked against its spec and written before the next is
// asked for, so memory holds one tensor however large the file.
struct SafetensorsSpec {
  std::string name;
  c10::ScalarType dtype;
  std::vector<int64_t> shape;
};
void write_safetensors_streamed(const std::filesystem::path& path, const std::vector<SafetensorsSpec>& specs,
                                const std::function<at::Tensor(size_t)>& produce,
                                const std::map<std::string, std::string>& metadata = {});

}  // namespace symtune
