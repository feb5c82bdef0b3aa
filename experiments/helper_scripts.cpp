#include "experiments/helper_scripts.h"

#include <cstdlib>

namespace symtune {
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> script_folders() {
  std::vector<fs::path> folders;
  if (const char* dir = std::getenv("SYMTUNE_SCRIPTS_DIR"); dir != nullptr && *dir != '\0') folders.emplace_back(dir);
  std::error_code ec;
  const fs::path binary = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path prefix = binary.parent_path().parent_path();
    folders.push_back(prefix / "scripts");
    folders.push_back(prefix / "share" / "symtune" / "scripts");
  }
  return folders;
}

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::string python_for(const fs::path& script) {
  if (const char* py = std::getenv("SYMTUNE_PYTHON"); py != nullptr && *py != '\0') return py;
  const fs::path venv = script.parent_path().parent_path() / ".venv" / "bin" / "python";
  std::error_code ec;
  return fs::exists(venv, ec) ? venv.string() : "python3";
}

}  // namespace

std::optional<fs::path> find_helper_script(const std::string& name) {
  for (const fs::path& folder : script_folders()) {
    std::error_code ec;
    if (fs::is_regular_file(folder / name, ec)) return folder / name;
  }
  return std::nullopt;
}

std::string run_helper_script(const std::string& name, const std::vector<std::string>& args) {
  const auto script = find_helper_script(name);
  if (!script)
    return name +
           " not found (looked in $SYMTUNE_SCRIPTS_DIR, <binary>/../scripts and "
           "<binary>/../share/symtune/scripts)";
  std::string command = shell_quoted(python_for(*script)) + " " + shell_quoted(script->string());
  for (const auto& a : args) command += " " + shell_quoted(a);
  if (std::system(command.c_str()) != 0) return name + " failed; run: " + command;
  return "";
}

}  // namespace symtune
