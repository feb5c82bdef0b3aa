#include "common/tensorboard_events.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>

#include "common/error.h"
#include "common/file_io.h"

namespace symtune {
namespace {

const std::array<uint32_t, 256>& crc32c_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected Castagnoli
      t[i] = c;
    }
    return t;
  }();
  return table;
}

// Protocol-buffer wire format, the pieces the messages here need.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_key(std::string& out, int field, int wire_type) { put_varint(out, (uint64_t(field) << 3) | wire_type); }
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}
template <typename T>
void put_fixed(std::string& out, int field, T value) {  // double: wire type 1; float: 5
  put_key(out, field, sizeof(T) == 8 ? 1 : 5);
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
  out.append(raw, sizeof(T));
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  const auto& table = crc32c_table();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

TensorBoardEventFile::TensorBoardEventFile(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create the TensorBoard folder: " + ec.message());
  char host[256] = "localhost";
  gethostname(host, sizeof(host) - 1);
  path_ = dir / ("events.out.tfevents." + std::to_string(static_cast<int64_t>(unix_seconds())) + "." + host + "." +
                 std::to_string(getpid()) + ".symtune");
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) throw Error(path_.string() + ": cannot create the TensorBoard event file");
  std::string version;
  put_bytes(version, 3, "brain.Event:2");
  try {
    write_event(version, 0);
  } catch (...) {  // the destructor does not run for a constructor that throws
    std::fclose(file_);
    file_ = nullptr;
    throw;
  }
}

TensorBoardEventFile::~TensorBoardEventFile() {
  if (file_ != nullptr) std::fclose(file_);
}

void TensorBoardEventFile::write_event(const std::string& body, int64_t step) {
  std::string event;
  put_fixed<double>(event, 1, unix_seconds());
  put_key(event, 2, 0);
  put_varint(event, static_cast<uint64_t>(step));
  event += body;
  char header[12];
  const uint64_t length = event.size();
  std::memcpy(header, &length, 8);
  const uint32_t length_crc = masked_crc32c(header, 8), data_crc = masked_crc32c(event.data(), event.size());
  std::memcpy(header + 8, &length_crc, 4);
  // The record in one write: a run killed mid-record leaves at most a torn last record, which
  // readers skip.
  std::string record(header, sizeof(header));
  record += event;
  record.append(reinterpret_cast<const char*>(&data_crc), 4);
  write_all(file_, record.data(), record.size(), path_);
  std::fflush(file_);
}

void TensorBoardEventFile::add_scalars(const std::vector<std::pair<std::string, double>>& values, int64_t step) {
  std::string summary;
  for (const auto& [tag, value] : values) {
    std::string v;
    put_bytes(v, 1, tag);
    put_fixed<float>(v, 2, static_cast<float>(value));
    put_bytes(summary, 1, v);
  }
  std::string body;
  put_bytes(body, 5, summary);
  write_event(body, step);
}

void TensorBoardEventFile::add_text(const std::string& tag, const std::string& text, int64_t step) {
  std::string plugin, metadata, tensor, value, summary, body;
  put_bytes(plugin, 1, "text");    // PluginData.plugin_name
  put_bytes(metadata, 1, plugin);  // SummaryMetadata.plugin_data
  put_key(tensor, 1, 0);           // TensorProto.dtype = DT_STRING
  put_varint(tensor, 7);
  put_bytes(tensor, 2, "");    // tensor_shape: a scalar
  put_bytes(tensor, 8, text);  // string_val
  put_bytes(value, 1, tag);
  put_bytes(value, 8, tensor);
  put_bytes(value, 9, metadata);
  put_bytes(summary, 1, value);
  put_bytes(body, 5, summary);
  write_event(body, step);
}

void TensorBoardEventFile::add_session_start(int64_t step) {
  std::string log, body;
  put_key(log, 1, 0);  // SessionLog.status = START
  put_varint(log, 1);
  put_bytes(body, 7, log);
  write_event(body, step);
}

}  // namespace symtune
