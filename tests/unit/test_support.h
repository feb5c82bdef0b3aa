// Helpers shared by the unit tests: scratch directories, data locations, tensor comparison.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

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

// True under CI (the environment variable CI is "true" or "1"). There, what a test needs from
// outside the repository (../shared/data, fixtures, reference files) must be present: a test
// that would skip for want of it fails instead, naming what is missing.
bool running_under_ci();

// Max |a - b| over all elements; a test failure (and +inf) when the shapes differ, so a
// comparison never passes by broadcasting.
double max_abs_diff(const at::Tensor& a, const at::Tensor& b);

void write_bytes(const std::filesystem::path& path, const std::string& bytes);

}  // namespace symtune::test

// Skips the test when `condition` is false, saying that `what` is missing; under CI
// (test::running_under_ci()) fails it instead. For prerequisites from outside the repository,
// not for hardware (a test that needs CUDA skips everywhere without a GPU).
#define SYMTUNE_REQUIRE(condition, what)                                                    \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      if (::symtune::test::running_under_ci()) FAIL() << "missing under CI=true: " << what; \
      GTEST_SKIP() << "missing: " << what << " (under CI=true this fails)";                 \
    }                                                                                       \
  } while (0)
