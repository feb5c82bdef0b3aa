// TensorBoard event files, written natively: a file of length-prefixed records, each
// [uint64 length][uint32 masked CRC-32C of the length][payload][uint32 masked CRC-32C of the
// payload], every payload a serialized tensorflow `Event` protocol buffer. The few messages and
// fields used are encoded by hand (field numbers from tensorflow/core/util/event.proto and
// summary.proto): Event{wall_time 1, step 2, file_version 3, summary 5, session_log 7},
// Summary{value 1}, Value{tag 1, simple_value 2, tensor 8, metadata 9}.
// No torch here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace symtune {

// CRC-32C (Castagnoli), continuing from `crc` (0 to start).
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);
// The record checksum TensorFlow stores: rotated right by 15 bits plus 0xa282ead8.
uint32_t masked_crc32c(const void* data, size_t size);

class TensorBoardEventFile {
 public:
  // Creates <dir>/events.out.tfevents.<unix seconds>.<host>.<pid>.symtune (a new file for every
  // run segment) and writes its file-version event.
  explicit TensorBoardEventFile(const std::filesystem::path& dir);
  ~TensorBoardEventFile();
  TensorBoardEventFile(const TensorBoardEventFile&) = delete;
  TensorBoardEventFile& operator=(const TensorBoardEventFile&) = delete;

  // One event holding every (tag, value) as a scalar at `step`.
  void add_scalars(const std::vector<std::pair<std::string, double>>& values, int64_t step);
  // A text summary (TensorBoard's text plugin): a string tensor at `step`.
  void add_text(const std::string& tag, const std::string& text, int64_t step);
  // A session restart at `step`: readers drop what an earlier segment logged from this step on,
  // so a resumed run shows one continuous curve.
  void add_session_start(int64_t step);
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_event(const std::string& body, int64_t step);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace symtune
