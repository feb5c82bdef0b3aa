// Helpers shared by the unit tests: scratch directories, data locations, tensor comparison.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace symtune::test {

// A fresh empty directory under the system temp dir, removed when the object goes.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// $SYMTUNE_SHARED_DATA, else ../shared/data next to the repository; empty when absent.
std::filesystem::path shared_data_dir();
// $SYMTUNE_HF_FIXTURES (written by tests/python/make_hf_fixtures.py); empty when unset.
std::filesystem::path hf_fixtures_dir();

double max_abs_diff(const at::Tensor& a, const at::Tensor& b);

void write_bytes(const std::filesystem::path& path, const std::string& bytes);

}  // namespace symtune::test
