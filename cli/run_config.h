// Reading a run config file (JSON) for the subcommands: the sections it may hold and the
// pieces the data commands need. The trainer reads the same file.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "data/data_config.h"
#include "data/tokenizer.h"

namespace symtune::cli {

// Parses the file and its "extends" chain; an unknown top-level section is an error naming the
// nearest valid one.
nlohmann::json load_run_config(const std::string& path);

DataConfig data_config_from(const nlohmann::json& config, const std::string& path);

// data.tokenizer when set, else the tokenizer of model.path.
std::shared_ptr<Tokenizer> tokenizer_from(const nlohmann::json& config, const DataConfig& data,
                                          const std::string& path);

}  // namespace symtune::cli
