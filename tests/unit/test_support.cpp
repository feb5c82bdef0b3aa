#include "test_support.h"

#include <execinfo.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <limits>

#include "common/file_io.h"

namespace symtune::test {
namespace fs = std::filesystem;

namespace {
// A crash in a test prints its stack, so a failure on a machine we cannot log into (a lent
// GPU machine) still says where it happened.
void print_stack_and_die(int sig) {
  void* frames[64];
  const int n = backtrace(frames, 64);
  const char msg[] = "\n*** fatal signal in test; stack:\n";
  (void)!write(2, msg, sizeof(msg) - 1);
  backtrace_symbols_fd(frames, n, 2);
  signal(sig, SIG_DFL);
  raise(sig);
}
[[maybe_unused]] const bool crash_handler_installed = [] {
  signal(SIGSEGV, print_stack_and_die);
  signal(SIGABRT, print_stack_and_die);
  signal(SIGBUS, print_stack_and_die);
  return true;
}();
}  // namespace

ScratchDir::ScratchDir() {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() / ("symtune-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  remove_tree(path_);
  fs::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  try {
    remove_tree(path_);
  } catch (...) {
  }  // a leftover temp dir is not worth failing a test over
}

fs::path shared_data_dir() {
  if (const char* env = std::getenv("SYMTUNE_SHARED_DATA")) return env;
  fs::path guess = fs::path(SYMTUNE_SOURCE_DIR) / ".." / "shared" / "data";
  return fs::exists(guess) ? fs::canonical(guess) : fs::path();
}

fs::path hf_fixtures_dir() {
  const char* env = std::getenv("SYMTUNE_HF_FIXTURES");
  return env ? fs::path(env) : fs::path();
}

bool running_under_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && (std::string(ci) == "true" || std::string(ci) == "1");
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes()) {
    ADD_FAILURE() << "max_abs_diff: shapes differ, " << a.sizes() << " against " << b.sizes();
    return std::numeric_limits<double>::infinity();
  }
  if (a.numel() == 0) return 0.0;
  return (a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace symtune::test
