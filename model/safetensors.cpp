#include "model/safetensors.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "common/file_io.h"

namespace symtune {
namespace {
using json = nlohmann::json;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

// A header this large is not a model; refusing it bounds the JSON parse on hostile files.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

int64_t dtype_bytes(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  return 0;
}

at::ScalarType scalar_type_of(const std::string& dtype) {
  if (dtype == "F32") return at::kFloat;
  if (dtype == "F16") return at::kHalf;
  return at::kBFloat16;
}

std::string dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return "F32";
    case at::kHalf:
      return "F16";
    case at::kBFloat16:
      return "BF16";
    default:
      return "";
  }
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

namespace {

std::map<std::string, std::string> read_metadata(const json& m, const std::string& where) {
  if (!m.is_object()) throw Error(where + ": __metadata__ must be an object of strings");
  std::map<std::string, std::string> out;
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (!it->is_string()) throw Error(where + ": __metadata__['" + it.key() + "'] must be a string");
    out[it.key()] = it->get<std::string>();
  }
  return out;
}

// One header entry, checked against the data section: dtype known, shape and byte range agree.
SafetensorsEntry read_entry(const std::string& name, const json& e, const std::string& where, uint64_t data_size) {
  const std::string at_tensor = where + ": tensor '" + name + "'";
  if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
    throw Error(at_tensor + ": expected an object with dtype, shape and data_offsets");
  SafetensorsEntry entry;
  entry.name = name;
  if (!e["dtype"].is_string()) throw Error(at_tensor + ": dtype must be a string");
  entry.dtype = e["dtype"].get<std::string>();
  const int64_t elem = dtype_bytes(entry.dtype);
  if (elem == 0) throw Error(at_tensor + ": dtype '" + entry.dtype + "' is not supported (expected F32, F16 or BF16)");
  if (!e["shape"].is_array()) throw Error(at_tensor + ": shape must be an array");
  uint64_t numel = 1;
  for (const auto& d : e["shape"]) {
    if (!d.is_number_unsigned()) throw Error(at_tensor + ": shape entries must be non-negative integers");
    const uint64_t dim = d.get<uint64_t>();
    if (dim != 0 && numel > (uint64_t(1) << 62) / dim) throw Error(at_tensor + ": shape overflows");
    numel *= dim;
    entry.shape.push_back(static_cast<int64_t>(dim));
  }
  const json& off = e["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
    throw Error(at_tensor + ": data_offsets must be two non-negative integers [begin, end]");
  entry.begin = off[0].get<uint64_t>();
  entry.end = off[1].get<uint64_t>();
  if (entry.end < entry.begin)
    throw Error(at_tensor + ": data_offsets end " + std::to_string(entry.end) + " < begin " +
                std::to_string(entry.begin));
  if (entry.end > data_size)
    throw Error(at_tensor + ": data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                ") run past the end of the data section (" + std::to_string(data_size) +
                " bytes); the file may be truncated");
  if (entry.end - entry.begin != numel * elem)
    throw Error(at_tensor + ": shape " + shape_text(entry.shape) + " x " + std::to_string(elem) + " bytes (" +
                entry.dtype + ") = " + std::to_string(numel * elem) + " bytes, but data_offsets cover " +
                std::to_string(entry.end - entry.begin));
  return entry;
}

// The data section must be tiled exactly: taken in offset order, each tensor starts where the
// previous one ended, the first at 0 and the last ending at the end of the file. The reference
// library (safetensors 0.8) refuses gaps, overlaps and trailing bytes the same way ("invalid
// offset", "file not fully covered"); bytes no tensor owns would be data no one validated.
void require_exact_tiling(const std::vector<SafetensorsEntry>& entries, uint64_t data_size, const std::string& where) {
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) {
    return a->begin < b->begin || (a->begin == b->begin && a->end < b->end);
  });
  uint64_t covered = 0;
  const SafetensorsEntry* previous = nullptr;
  auto range = [](const SafetensorsEntry* e) {
    return "'" + e->name + "' [" + std::to_string(e->begin) + ", " + std::to_string(e->end) + ")";
  };
  for (const SafetensorsEntry* e : by_offset) {
    if (e->begin < covered) throw Error(where + ": tensors " + range(previous) + " and " + range(e) + " overlap");
    if (e->begin > covered)
      throw Error(where + ": " + std::to_string(e->begin - covered) + " bytes before tensor " + range(e) +
                  " belong to no tensor (" + (previous ? "after " + range(previous) : std::string("at the start")) +
                  "); the data section must be tiled exactly");
    covered = e->end;
    previous = e;
  }
  if (covered != data_size)
    throw Error(where + ": the tensors cover " + std::to_string(covered) + " of the " + std::to_string(data_size) +
                " data bytes; the rest belongs to no tensor");
}

// The header as JSON, refusing a tensor name given twice (JSON allows it and a parser keeps one
// of them silently) and anything after the object but JSON whitespace: the reference library
// accepts space padding and refuses NUL padding, and so do we.
json parse_header(const char* begin, const char* end, const std::string& where) {
  std::string duplicate;
  std::set<std::string> names;
  const json::parser_callback_t callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && !names.insert(parsed.get<std::string>()).second &&
        duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  json header;
  try {
    header = json::parse(begin, end, callback, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    throw Error(where + ": header is not valid JSON: " + e.what());
  }
  if (!duplicate.empty()) throw Error(where + ": tensor name '" + duplicate + "' appears twice in the header");
  if (std::find(begin, end, '\0') != end)
    throw Error(where + ": header holds a NUL byte (padding must be spaces, as the format says)");
  return header;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile out;
  out.path_ = path;
  out.file_ = MappedFile::open(path);
  const std::string where = path.string();
  const uint64_t file_size = out.file_->size();
  if (file_size < 8)
    throw Error(where + ": truncated: " + std::to_string(file_size) +
                " bytes, a safetensors file needs at least the 8-byte header length");
  uint64_t header_len = 0;
  std::memcpy(&header_len, out.file_->data(), 8);
  if (header_len > file_size - 8)
    throw Error(where + ": header length " + std::to_string(header_len) + " runs past the end of the file (" +
                std::to_string(file_size) + " bytes)");
  if (header_len > kMaxHeaderBytes)
    throw Error(where + ": header length " + std::to_string(header_len) + " exceeds the 100 MiB limit");
  out.data_start_ = 8 + header_len;
  const uint64_t data_size = file_size - out.data_start_;

  const char* header_text = reinterpret_cast<const char*>(out.file_->data()) + 8;
  const json header = parse_header(header_text, header_text + header_len, where);
  if (!header.is_object()) throw Error(where + ": header must be a JSON object");

  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") out.metadata_ = read_metadata(*it, where);
    else out.entries_.push_back(read_entry(it.key(), *it, where, data_size));
  }
  require_exact_tiling(out.entries_, data_size, where);
  for (size_t i = 0; i < out.entries_.size(); ++i) out.index_[out.entries_[i].name] = i;
  return out;
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

at::Tensor SafetensorsFile::load(const std::string& name) const {
  const SafetensorsEntry* e = find(name);
  if (e == nullptr) throw Error(path_.string() + ": no tensor named '" + name + "'");
  at::Tensor t = at::empty(e->shape, at::TensorOptions().dtype(scalar_type_of(e->dtype)));
  // A copy, not a view of the mapping: offsets need not be aligned for the dtype, and the
  // tensor must outlive the file.
  std::memcpy(t.data_ptr(), file_->data() + data_start_ + e->begin, e->end - e->begin);
  return t;
}

at::Tensor SafetensorsFile::load_range(const std::string& name, int64_t begin, int64_t end) const {
  const SafetensorsEntry* e = find(name);
  if (e == nullptr) throw Error(path_.string() + ": no tensor named '" + name + "'");
  const auto element = static_cast<int64_t>(c10::elementSize(scalar_type_of(e->dtype)));
  const auto numel = static_cast<int64_t>((e->end - e->begin) / element);
  if (begin < 0 || end < begin || end > numel)
    throw Error(path_.string() + ": elements [" + std::to_string(begin) + ", " + std::to_string(end) +
                ") asked of tensor '" + name + "', which has " + std::to_string(numel));
  at::Tensor t = at::empty({end - begin}, at::TensorOptions().dtype(scalar_type_of(e->dtype)));
  std::memcpy(t.data_ptr(), file_->data() + data_start_ + e->begin + begin * element, (end - begin) * element);
  return t;
}

void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<SafetensorsSpec> specs;
  for (const auto& [name, tensor] : tensors) specs.push_back({name, tensor.scalar_type(), tensor.sizes().vec()});
  write_safetensors_streamed(
      path, specs, [&](size_t i) { return tensors[i].second; }, metadata);
}

void write_safetensors_streamed(const std::filesystem::path& path, const std::vector<SafetensorsSpec>& specs,
                                const std::function<at::Tensor(size_t)>& produce,
                                const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const SafetensorsSpec& spec : specs) {
    const std::string dtype = dtype_name(spec.dtype);
    if (dtype.empty())
      throw Error(path.string() + ": tensor '" + spec.name + "' has dtype " + std::string(c10::toString(spec.dtype)) +
                  "; only float32, float16 and bfloat16 can be written");
    if (header.contains(spec.name)) throw Error(path.string() + ": tensor '" + spec.name + "' given twice");
    uint64_t numel = 1;
    for (int64_t d : spec.shape) numel *= static_cast<uint64_t>(d);
    const uint64_t bytes = numel * c10::elementSize(spec.dtype);
    header[spec.name] = {{"dtype", dtype}, {"shape", spec.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text = header.dump();
  // Pad with spaces so the data section starts 8-byte aligned, as HF's writer does.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  const uint64_t header_len = header_text.size();
  write_file_atomically(path, [&](std::FILE* f) {
    write_all(f, &header_len, 8, path);
    write_all(f, header_text.data(), header_text.size(), path);
    for (size_t i = 0; i < specs.size(); ++i) {
      const at::Tensor t = produce(i).detach().to(at::kCPU).contiguous();
      if (t.scalar_type() != specs[i].dtype || t.sizes().vec() != specs[i].shape)
        throw Error(path.string() + ": tensor '" + specs[i].name + "' is " +
                    std::string(c10::toString(t.scalar_type())) + " " + c10::str(t.sizes()) + ", its header says " +
                    std::string(c10::toString(specs[i].dtype)) + " " + c10::str(at::IntArrayRef(specs[i].shape)));
      write_all(f, t.data_ptr(), t.numel() * t.element_size(), path);
    }
  });
}

}  // namespace symtune
