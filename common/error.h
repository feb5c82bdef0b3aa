// symtune::Error: the one exception type thrown at boundaries (files, headers, JSON,
// environment). Its message names the file, the field or tensor, what was expected and what
// was found, so the CLI can print it as is and exit non-zero.
// Must not include torch: used by every folder.
#pragma once

#include <stdexcept>
#include <string>

namespace symtune {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace symtune
