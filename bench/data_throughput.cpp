// Data pipeline throughput on one core: build, tokenize and pack rows of the paper's shapes
// (2048 input + 512 target tokens) from a run config, and print examples/s and tokens/s next to
// the tokens/s a GPU training step consumes (from an HF reference measurement, given on the
// command line), as the number of cores the pipeline needs to keep up.
//
//   bench_data_throughput --config configs/data_shared.json [--rows N] [--gpu-tokens-per-s X]...
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/run_config.h"
#include "data/batches.h"

using namespace symtune;

int main(int argc, char** argv) {
  std::string config_path;
  int64_t rows = 200;
  std::vector<std::pair<std::string, double>> gpu;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--config") config_path = next();
    else if (a == "--rows") rows = std::stoll(next());
    else if (a == "--gpu-tokens-per-s") {
      const std::string spec = next();  // name=value
      const size_t eq = spec.find('=');
      gpu.emplace_back(spec.substr(0, eq), std::stod(spec.substr(eq + 1)));
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  try {
    const auto config = cli::load_run_config(config_path);
    const DataConfig data = cli::data_config_from(config, config_path);
    auto tokenizer = cli::tokenizer_from(config, data, config_path);
    auto t_load = std::chrono::steady_clock::now();
    auto source = std::make_shared<ExampleSource>(data);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
    BatchStream stream(source, tokenizer);
    StreamCounters counters;
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t r = 0; r < rows; ++r) stream.row(static_cast<uint64_t>(r), &counters);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double row_tokens_per_s = rows * data.row_tokens() / s;
    std::printf(
        "{\"bench\":\"data_throughput\",\"rows\":%lld,\"row_tokens\":%lld,\"load_s\":%.2f,\"examples_per_s\":%.0f,"
        "\"tokens_per_s\":%.0f,\"symbol_fraction\":%.2f}\n",
        (long long)rows, (long long)data.row_tokens(), load_s, counters.examples / s, row_tokens_per_s,
        data.symbol_fraction);
    for (const auto& [name, tps] : gpu)
      std::printf("one core makes %.0f tokens/s; %s consumes %.0f tokens/s -> %.2f cores to keep up\n",
                  row_tokens_per_s, name.c_str(), tps, tps / row_tokens_per_s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
