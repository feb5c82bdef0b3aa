#include "model/gguf.h"

#include <ATen/ATen.h>

#include <cstring>

#include "common/error.h"
#include "common/file_io.h"
#include "common/utf8.h"

namespace symtune {

namespace {

enum GgmlType : uint32_t { kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ8_0 = 8, kBF16 = 30 };

struct TypeInfo {
  const char* name;
  int64_t block;        // elements per block
  int64_t block_bytes;  // bytes per block; 0 = not supported
};

TypeInfo type_info(uint32_t t) {
  switch (t) {
    case kF32:
      return {"F32", 1, 4};
    case kF16:
      return {"F16", 1, 2};
    case kBF16:
      return {"BF16", 1, 2};
    case kQ4_0:
      return {"Q4_0", 32, 18};
    case kQ4_1:
      return {"Q4_1", 32, 20};
    case kQ8_0:
      return {"Q8_0", 32, 34};
    case 6:
      return {"Q5_0", 32, 0};
    case 7:
      return {"Q5_1", 32, 0};
    case 9:
      return {"Q8_1", 32, 0};
    case 10:
      return {"Q2_K", 256, 0};
    case 11:
      return {"Q3_K", 256, 0};
    case 12:
      return {"Q4_K", 256, 0};
    case 13:
      return {"Q5_K", 256, 0};
    case 14:
      return {"Q6_K", 256, 0};
    case 15:
      return {"Q8_K", 256, 0};
    default:
      return {nullptr, 0, 0};
  }
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      uint32_t m = mant;
      do {
        ++e;
        m <<= 1;
      } while ((m & 0x400) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((m & 0x3FF) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Reads values from the mapped header, refusing to step past the end of the file.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, std::string where) : data_(data), size_(size), where_(std::move(where)) {}
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string string(const char* what) {
    const uint64_t n = read<uint64_t>(what);
    if (n > size_ - pos_)
      throw Error(where_ + ": " + what + ": string length " + std::to_string(n) + " at offset " +
                  std::to_string(pos_ - 8) + " runs past the end of the file (" + std::to_string(size_) + " bytes)");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  void need(uint64_t n, const char* what) {
    if (n > size_ - pos_)
      throw Error(where_ + ": truncated: " + what + " at offset " + std::to_string(pos_) + " needs " +
                  std::to_string(n) + " bytes, " + std::to_string(size_ - pos_) + " remain");
  }
  uint64_t pos() const { return pos_; }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string where_;
};

nlohmann::json read_value(Cursor& c, uint32_t type, const std::string& where, const std::string& key, int depth) {
  switch (type) {
    case 0:
      return c.read<uint8_t>("uint8 value");
    case 1:
      return c.read<int8_t>("int8 value");
    case 2:
      return c.read<uint16_t>("uint16 value");
    case 3:
      return c.read<int16_t>("int16 value");
    case 4:
      return c.read<uint32_t>("uint32 value");
    case 5:
      return c.read<int32_t>("int32 value");
    case 6:
      return c.read<float>("float32 value");
    case 7: {
      const uint8_t b = c.read<uint8_t>("bool value");
      if (b > 1) throw Error(where + ": metadata '" + key + "': bool value " + std::to_string(b) + " is not 0 or 1");
      return b == 1;
    }
    case 8: {
      std::string text = c.string("string value");
      if (const auto bad = first_invalid_utf8(text))
        throw Error(where + ": metadata '" + key + "': a string value is not valid UTF-8 (byte " +
                    std::to_string(*bad) + " of " + std::to_string(text.size()) + ")");
      return text;
    }
    case 9: {
      if (depth > 2) throw Error(where + ": metadata '" + key + "': arrays nested too deep");
      const uint32_t element_type = c.read<uint32_t>("array element type");
      const uint64_t count = c.read<uint64_t>("array length");
      // Every element takes at least one byte: a count beyond the file is a lie.
      c.need(std::min<uint64_t>(count, UINT64_MAX / 2), "array elements");
      nlohmann::json array = nlohmann::json::array();
      for (uint64_t i = 0; i < count; ++i) array.push_back(read_value(c, element_type, where, key, depth + 1));
      return array;
    }
    case 10:
      return c.read<uint64_t>("uint64 value");
    case 11:
      return c.read<int64_t>("int64 value");
    case 12:
      return c.read<double>("float64 value");
    default:
      throw Error(where + ": metadata '" + key + "': unknown value type " + std::to_string(type));
  }
}

}  // namespace

std::string ggml_type_name(uint32_t type) {
  const TypeInfo info = type_info(type);
  return info.name ? info.name : "type " + std::to_string(type);
}

GgufFile GgufFile::open(const std::filesystem::path& path) {
  GgufFile g;
  g.path_ = path;
  g.file_ = MappedFile::open(path);
  const std::string where = path.string();
  Cursor c(g.file_->data(), g.file_->size(), where);
  const uint32_t magic = c.read<uint32_t>("magic");
  if (magic != 0x46554747u) throw Error(where + ": not a GGUF file (magic is not 'GGUF')");
  g.version_ = c.read<uint32_t>("version");
  if (g.version_ != 2 && g.version_ != 3)
    throw Error(where + ": GGUF version " + std::to_string(g.version_) + " is not supported (2 or 3)");
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  if (n_tensors > g.file_->size() / 24 || n_kv > g.file_->size() / 13)
    throw Error(where + ": header claims " + std::to_string(n_tensors) + " tensors and " + std::to_string(n_kv) +
                " metadata entries, more than a file of " + std::to_string(g.file_->size()) + " bytes can hold");
  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string key = c.string("metadata key");
    if (const auto bad = first_invalid_utf8(key))
      throw Error(where + ": metadata key " + std::to_string(i) + " is not valid UTF-8 (byte " + std::to_string(*bad) +
                  ")");
    const uint32_t type = c.read<uint32_t>("metadata value type");
    if (g.metadata_.contains(key)) throw Error(where + ": metadata key '" + key + "' appears twice");
    g.metadata_[key] = read_value(c, type, where, key, 0);
  }
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = c.string("tensor name");
    if (first_invalid_utf8(t.name))
      throw Error(where + ": the name of tensor " + std::to_string(i) + " is not valid UTF-8");
    const uint32_t n_dims = c.read<uint32_t>("tensor dimension count");
    if (n_dims == 0 || n_dims > 4)
      throw Error(where + ": tensor '" + t.name + "': " + std::to_string(n_dims) + " dimensions (expected 1-4)");
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = c.read<uint64_t>("tensor dimension");
      if (dim == 0 || dim > (uint64_t(1) << 40) || elements > (uint64_t(1) << 50) / dim)
        throw Error(where + ": tensor '" + t.name + "': dimension " + std::to_string(dim) + " is out of range");
      elements *= dim;
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    t.type = c.read<uint32_t>("tensor type");
    t.offset = c.read<uint64_t>("tensor offset");
    const TypeInfo info = type_info(t.type);
    if (info.name == nullptr)
      throw Error(where + ": tensor '" + t.name + "': unknown ggml type " + std::to_string(t.type));
    if (info.block_bytes == 0)
      throw Error(where + ": tensor '" + t.name + "': quantization " + info.name +
                  " is not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_1 are)");
    if (t.dims[0] % info.block != 0)
      throw Error(where + ": tensor '" + t.name + "': first dimension " + std::to_string(t.dims[0]) +
                  " is not a multiple of the " + info.name + " block of " + std::to_string(info.block));
    t.bytes = elements / static_cast<uint64_t>(info.block) * static_cast<uint64_t>(info.block_bytes);
    g.tensors_.push_back(std::move(t));
  }
  uint64_t alignment = 32;
  if (g.metadata_.contains("general.alignment")) {
    const auto& a = g.metadata_["general.alignment"];
    if (!a.is_number_unsigned() || a.get<uint64_t>() == 0 || (a.get<uint64_t>() & (a.get<uint64_t>() - 1)) != 0)
      throw Error(where + ": general.alignment " + a.dump() + " is not a power of two");
    alignment = a.get<uint64_t>();
  }
  g.data_start_ = (c.pos() + alignment - 1) / alignment * alignment;
  const uint64_t size = g.file_->size();
  if (g.data_start_ > size) throw Error(where + ": truncated: the data section starts past the end of the file");
  for (const auto& t : g.tensors_) {
    if (t.offset % alignment != 0)
      throw Error(where + ": tensor '" + t.name + "': offset " + std::to_string(t.offset) + " is not aligned to " +
                  std::to_string(alignment));
    if (t.offset > size - g.data_start_ || t.bytes > size - g.data_start_ - t.offset)
      throw Error(where + ": tensor '" + t.name + "': data [" + std::to_string(t.offset) + ", " +
                  std::to_string(t.offset + t.bytes) + ") runs past the end of the file (data section of " +
                  std::to_string(size - g.data_start_) + " bytes)");
  }
  return g;
}

const GgufTensorInfo* GgufFile::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

at::Tensor GgufFile::load_fp32(const std::string& name) const {
  const GgufTensorInfo* t = find(name);
  if (t == nullptr) throw Error(path_.string() + ": no tensor named '" + name + "'");
  const uint8_t* src = file_->data() + data_start_ + t->offset;
  int64_t n = 1;
  for (int64_t d : t->dims) n *= d;
  at::Tensor out = at::empty({n}, at::kFloat);
  float* dst = out.data_ptr<float>();
  auto f16 = [](const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return half_to_float(h);
  };
  switch (t->type) {
    case kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      break;
    case kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = f16(src + 2 * i);
      break;
    case kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint32_t bits = static_cast<uint32_t>(src[2 * i] | (src[2 * i + 1] << 8)) << 16;
        std::memcpy(dst + i, &bits, 4);
      }
      break;
    // The block formats, computed as the reference dequantizers do (fp32 scale times fp32
    // quant, then the offset added), so results match them bit for bit.
    case kQ8_0:
      for (int64_t b = 0; b < n / 32; ++b) {
        const uint8_t* block = src + b * 34;
        const float d = f16(block);
        for (int j = 0; j < 32; ++j) dst[b * 32 + j] = d * static_cast<float>(static_cast<int8_t>(block[2 + j]));
      }
      break;
    case kQ4_0:
      for (int64_t b = 0; b < n / 32; ++b) {
        const uint8_t* block = src + b * 18;
        const float d = f16(block);
        for (int j = 0; j < 16; ++j) {
          dst[b * 32 + j] = d * static_cast<float>(static_cast<int>(block[2 + j] & 0x0F) - 8);
          dst[b * 32 + j + 16] = d * static_cast<float>(static_cast<int>(block[2 + j] >> 4) - 8);
        }
      }
      break;
    case kQ4_1:
      for (int64_t b = 0; b < n / 32; ++b) {
        const uint8_t* block = src + b * 20;
        const float d = f16(block), m = f16(block + 2);
        for (int j = 0; j < 16; ++j) {
          volatile float lo = d * static_cast<float>(block[4 + j] & 0x0F);  // no fused multiply-add
          volatile float hi = d * static_cast<float>(block[4 + j] >> 4);
          dst[b * 32 + j] = lo + m;
          dst[b * 32 + j + 16] = hi + m;
        }
      }
      break;
    default:
      throw Error(path_.string() + ": tensor '" + name + "': cannot dequantize " + ggml_type_name(t->type));
  }
  return out.view(t->torch_shape());
}

}  // namespace symtune
