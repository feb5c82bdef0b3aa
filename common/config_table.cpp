#include "common/config_table.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace symtune {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

}  // namespace

std::string range_text(IntRange r) { return "[" + std::to_string(r.min) + ", " + std::to_string(r.max) + "]"; }

std::string range_text(NumberRange r) {
  return (r.min_exclusive ? "(" : "[") + number_text(r.min) + ", " + number_text(r.max) + (r.max_exclusive ? ")" : "]");
}

std::string choices_text(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += std::string(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + "\"" + names[i] + "\"";
  return out;
}

void read_in_range(const json& object, const char* key, int64_t& out, IntRange range, const std::string& where) {
  int64_t v = out;
  if (!read_value(object, key, v, where)) return;
  if (v < range.min || v > range.max)
    throw Error(where + ": '" + key + "' must be in " + range_text(range) + ", found " + std::to_string(v));
  out = v;
}

namespace {
bool in_range(double v, NumberRange r) {
  return std::isfinite(v) && (r.min_exclusive ? v > r.min : v >= r.min) && (r.max_exclusive ? v < r.max : v <= r.max);
}
}  // namespace

void read_in_range(const json& object, const char* key, double& out, NumberRange range, const std::string& where) {
  double v = out;
  if (!read_value(object, key, v, where)) return;
  // JSON numbers past a double's range parse as inf; they are out of every range.
  if (!in_range(v, range))
    throw Error(where + ": '" + key + "' must be in " + range_text(range) + ", found " + object[key].dump());
  out = v;
}

void read_in_range(const json& object, const char* key, std::optional<double>& out, NumberRange range,
                   const std::string& where) {
  std::optional<double> v = out;
  if (!read_value(object, key, v, where)) return;
  if (v && !in_range(*v, range))
    throw Error(where + ": '" + key + "' must be null or in " + range_text(range) + ", found " + object[key].dump());
  out = v;
}

std::string resolve_path(const std::string& path, const fs::path& base_dir, const std::string& where) {
  if (path.empty()) return path;
  std::string out;
  for (size_t i = 0; i < path.size();) {
    if (path.compare(i, 2, "${") != 0) {
      out += path[i++];
      continue;
    }
    const size_t close = path.find('}', i);
    if (close == std::string::npos) throw Error(where + ": unterminated ${ in path '" + path + "'");
    std::string inner = path.substr(i + 2, close - i - 2), fallback;
    bool has_fallback = false;
    if (const size_t sep = inner.find(":-"); sep != std::string::npos) {
      fallback = inner.substr(sep + 2);
      inner = inner.substr(0, sep);
      has_fallback = true;
    }
    const char* value = std::getenv(inner.c_str());
    if (value != nullptr && *value != '\0') out += value;
    else if (has_fallback) out += fallback;
    else throw Error(where + ": path '" + path + "' uses $" + inner + ", which is not set");
    i = close + 1;
  }
  fs::path p(out);
  return (p.is_absolute() ? p : base_dir / p).lexically_normal().string();
}

void read_path(const json& object, const char* key, std::string& out, const FieldContext& ctx) {
  std::string value;
  if (read_value(object, key, value, ctx.where)) out = resolve_path(value, ctx.base_dir, ctx.where + "." + key);
}

std::string default_text(int64_t v) { return std::to_string(v); }
std::string default_text(uint64_t v) { return std::to_string(v); }
std::string default_text(double v) { return number_text(v); }
std::string default_text(bool v) { return v ? "true" : "false"; }
std::string default_text(const std::string& v) { return json(v).dump(); }
std::string default_text(const std::optional<double>& v) { return v ? number_text(*v) : "null"; }
std::string default_text(const std::vector<std::string>& v) { return json(v).dump(); }
std::string default_text(const std::vector<int64_t>& v) { return json(v).dump(); }

std::string reference_markdown(const std::vector<FieldDoc>& fields) {
  std::string md = "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n";
  auto cell = [](const std::string& s) {
    std::string out;
    for (char ch : s) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
    return out.empty() ? std::string(" ") : out;
  };
  for (const FieldDoc& f : fields)
    md += "| `" + f.key + "` | " + cell(f.type) + " | " +
          cell(f.default_value.empty() ? "" : "`" + f.default_value + "`") + " | " + cell(f.allowed) + " | " +
          cell(f.doc) + " |\n";
  return md;
}

}  // namespace symtune
