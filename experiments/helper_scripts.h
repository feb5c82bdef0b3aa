// The Python helpers symtune runs for figures (scripts/plot_ablation.py, scripts/plot_metrics.py),
// found by one documented rule rather than a path compiled into the binary:
//   1. $SYMTUNE_SCRIPTS_DIR, when set;
//   2. <folder of the binary>/../scripts: the source tree, for build/symtune;
//   3. <folder of the binary>/../share/symtune/scripts: an installed binary in <prefix>/bin.
// The Python that runs them: $SYMTUNE_PYTHON, else the .venv beside the scripts folder (the
// one scripts/setup.sh makes), else python3 on the PATH.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace symtune {

// The script `name` by the rule above, or nullopt when none of the places has it.
std::optional<std::filesystem::path> find_helper_script(const std::string& name);

// Runs `python script args...`; returns "" on success, else a line saying what failed and the
// command to run by hand. A figure is never worth failing a finished run for.
std::string run_helper_script(const std::string& name, const std::vector<std::string>& args);

}  // namespace symtune
