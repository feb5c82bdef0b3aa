// File helpers shared by every format we write or read: read-only memory maps, whole-file
// reads, and atomic writes (temporary file, fsync, rename, fsync of the directory), so a
// crash leaves either the old file or the new one, never a torn one.
// Must not include torch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace symtune {

// A read-only mapping of a whole file; unmapped when the last reference goes.
class MappedFile {
 public:
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

std::string read_text_file(const std::filesystem::path& path);

// Calls write_body with an open FILE* on a temporary file beside `path`, then flushes,
// fsyncs and renames it over `path`. On any error the temporary file is removed and an
// Error naming `path` is thrown; `path` itself is untouched.
void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::FILE*)>& write_body);

void write_text_file_atomically(const std::filesystem::path& path, const std::string& text);

// fwrite that throws (naming `path`) on a short write, e.g. a full disk.
void write_all(std::FILE* file, const void* data, size_t bytes, const std::filesystem::path& path);

// fsync on a directory, so a rename inside it survives a power loss.
void fsync_directory(const std::filesystem::path& dir);

// Directory listing and recursive removal through POSIX calls. Why not std::filesystem:
// the PyTorch wheels' libtorch_cpu.so exports its own (older) copies of libstdc++'s
// std::filesystem functions, which then interpose on ours; with a newer compiler
// (GCC 13 on Ubuntu 24.04) directory iteration mixes the two and crashes. Paths, exists(),
// create_directories() and rename() are safe; iteration is not.
std::vector<std::string> list_directory(const std::filesystem::path& dir);  // names, sorted; no "." or ".."
bool directory_is_empty(const std::filesystem::path& dir);
void remove_tree(const std::filesystem::path& path);  // no error when absent

}  // namespace symtune
