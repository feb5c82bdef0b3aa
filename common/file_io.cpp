#include "common/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace symtune {
namespace fs = std::filesystem;

namespace {
std::string errno_text() { return std::strerror(errno); }
}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path.string() + ": cannot open for reading: " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    std::string why = errno_text();
    ::close(fd);
    throw Error(path.string() + ": cannot stat: " + why);
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0) {
    void* mapped = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapped == MAP_FAILED) {
      std::string why = errno_text();
      ::close(fd);
      throw Error(path.string() + ": cannot memory-map: " + why);
    }
    file->data_ = static_cast<const uint8_t*>(mapped);
  }
  ::close(fd);  // the mapping keeps the file alive
  return file;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open for reading: " + errno_text());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_all(std::FILE* file, const void* data, size_t bytes, const fs::path& path) {
  if (bytes == 0) return;
  if (std::fwrite(data, 1, bytes, file) != bytes)
    throw Error(path.string() + ": write failed after a short write (" + errno_text() + "); is the disk full?");
}

void fsync_directory(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // some filesystems do not allow opening directories; nothing to sync
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomically(const fs::path& path, const std::function<void(std::FILE*)>& write_body) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const fs::path tmp = dir / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
  std::FILE* file = std::fopen(tmp.c_str(), "wb");
  if (file == nullptr)
    throw Error(path.string() + ": cannot create a temporary file in " + dir.string() + ": " + errno_text());
  try {
    write_body(file);
    if (std::fflush(file) != 0) throw Error(path.string() + ": flush failed (" + errno_text() + "); is the disk full?");
    if (::fsync(::fileno(file)) != 0) throw Error(path.string() + ": fsync failed: " + errno_text());
  } catch (...) {
    std::fclose(file);
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  if (std::fclose(file) != 0) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error(path.string() + ": close failed: " + errno_text());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = errno_text();
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error(path.string() + ": rename from temporary file failed: " + why);
  }
  fsync_directory(dir);
}

void write_text_file_atomically(const fs::path& path, const std::string& text) {
  write_file_atomically(path, [&](std::FILE* f) { write_all(f, text.data(), text.size(), path); });
}

std::vector<std::string> list_directory(const fs::path& dir) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) throw Error(dir.string() + ": cannot list directory: " + errno_text());
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(handle)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

bool directory_is_empty(const fs::path& dir) { return list_directory(dir).empty(); }

void remove_tree(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;  // already absent
  auto remove_one = [](const char* p, const struct stat*, int, struct FTW*) -> int { return ::remove(p); };
  if (::nftw(path.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
    throw Error(path.string() + ": cannot remove: " + errno_text());
}

}  // namespace symtune
