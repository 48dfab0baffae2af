#include "common/config/reader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace paynotify::config {
namespace {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string JoinPath(const std::string& parent, std::string_view child) {
  return parent.empty() ? std::string(child) : parent + "." + std::string(child);
}

std::string LastSegment(std::string_view path) {
  const size_t dot = path.rfind('.');
  return std::string(dot == std::string_view::npos ? path : path.substr(dot + 1));
}

std::string ParentPath(std::string_view path) {
  const size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string() : std::string(path.substr(0, dot));
}

size_t Depth(std::string_view path) { return std::count(path.begin(), path.end(), '.') + 1; }

std::string PrefixOfDepth(std::string_view path, size_t depth) {
  size_t pos = 0;
  for (size_t i = 0; i < depth; ++i) {
    pos = path.find('.', pos);
    if (pos == std::string_view::npos) return std::string(path);
    if (i + 1 < depth) ++pos;
  }
  return std::string(path.substr(0, pos));
}

std::string Trim(std::string_view s) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Optimal string alignment distance: Levenshtein plus adjacent transposition ("prot"/"port"
// is one edit), which is the typo people actually make.
size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

// Close enough to be worth suggesting: a couple of typos, more for long names.
bool IsClose(size_t distance, std::string_view word) {
  return distance <= std::max<size_t>(2, word.size() / 3);
}

std::string Quote(std::string_view text) {
  constexpr size_t kMax = 60;
  if (text.size() > kMax) return fmt::format("'{}...'", text.substr(0, kMax));
  return fmt::format("'{}'", text);
}

std::string Describe(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (node.IsScalar()) return Quote(node.Scalar());
  return "nothing";
}

std::pair<int, int> Position(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return {0, 0};
  return {mark.line + 1, mark.column + 1};
}

std::optional<int64_t> ParseInt(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> ParseDouble(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (auto as_int = ParseInt(text)) {
    if (*as_int < 0) return std::nullopt;
    return std::chrono::milliseconds{*as_int};
  }
  size_t digits = 0;
  while (digits < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[digits])) != 0 || text[digits] == '.')) {
    ++digits;
  }
  const std::string_view number = text.substr(0, digits);
  const std::string_view unit = text.substr(digits);
  double unit_ms = 0;
  if (unit == "ms") {
    unit_ms = 1;
  } else if (unit == "s") {
    unit_ms = 1000;
  } else if (unit == "m") {
    unit_ms = 60'000;
  } else if (unit == "h") {
    unit_ms = 3'600'000;
  } else {
    return std::nullopt;
  }
  const auto value = ParseDouble(number);
  if (!value || *value < 0) return std::nullopt;
  const double ms = *value * unit_ms;
  if (ms > 1e15) return std::nullopt;  // ~31 000 years: certainly a mistake
  return std::chrono::milliseconds{static_cast<int64_t>(std::llround(ms))};
}

std::optional<bool> ParseBool(std::string_view text) {
  const std::string lower = Lower(text);
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    std::string item =
        Trim(text.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string RenderList(const std::vector<std::string>& items) {
  return fmt::format("[{}]", fmt::join(items, ", "));
}

std::string IntRange(int64_t min, int64_t max) {
  constexpr auto kMin = std::numeric_limits<int64_t>::min();
  constexpr auto kMax = std::numeric_limits<int64_t>::max();
  if (min == kMin && max == kMax) return "an integer";
  if (max == kMax) return fmt::format("an integer >= {}", min);
  if (min == kMin) return fmt::format("an integer <= {}", max);
  return fmt::format("an integer between {} and {}", min, max);
}

std::string DoubleRange(double min, double max) {
  constexpr auto kMin = std::numeric_limits<double>::lowest();
  constexpr auto kMax = std::numeric_limits<double>::max();
  if (min == kMin && max == kMax) return "a number";
  if (max == kMax) return fmt::format("a number >= {}", min);
  if (min == kMin) return fmt::format("a number <= {}", max);
  return fmt::format("a number between {} and {}", min, max);
}

bool LooksSecret(std::string_view path) {
  const std::string last = Lower(LastSegment(path));
  if (last.size() >= 5 && last.compare(last.size() - 5, 5, "-file") == 0) return false;
  return last.find("password") != std::string::npos || last.find("secret") != std::string::npos ||
         last.find("token") != std::string::npos;
}

// Reads at most `limit` bytes of `f` into `out`. Why bounded: the path comes from the config
// (or the command line) and may name /dev/zero, a pipe or a huge file by mistake.
enum class ReadOutcome { kOk, kTooLarge, kError };
ReadOutcome ReadBounded(std::FILE* f, size_t limit, std::string& out) {
  char buffer[8192];
  while (true) {
    const size_t n = std::fread(buffer, 1, sizeof buffer, f);
    if (n == 0) break;
    if (out.size() + n > limit) return ReadOutcome::kTooLarge;
    out.append(buffer, n);
  }
  return std::ferror(f) != 0 ? ReadOutcome::kError : ReadOutcome::kOk;
}

constexpr std::string_view kDurationExpected =
    "expected a duration such as 250ms, 2s, 1.5s, 1m or an integer number of milliseconds";

}  // namespace

std::string ConfigError::ToString() const {
  std::string out = file;
  if (line > 0) out += fmt::format(":{}:{}", line, column);
  out += ": ";
  if (!key_path.empty()) out += key_path + ": ";
  out += message;
  return out;
}

namespace {
std::string JoinErrors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.ToString();
  }
  return out;
}
}  // namespace

ConfigErrors::ConfigErrors(std::vector<ConfigError> errors)
    : std::runtime_error(JoinErrors(errors)), errors_(std::move(errors)) {}

Reader::Reader(std::string file_label, std::string env_prefix, EnvLookup env, bool)
    : file_(std::move(file_label)), env_prefix_(std::move(env_prefix)), env_(std::move(env)) {
  if (!env_) {
    env_ = [](const std::string& name) -> std::optional<std::string> {
      if (const char* value = std::getenv(name.c_str())) return std::string(value);
      return std::nullopt;
    };
  }
}

Reader::Reader(std::string file_path, std::string env_prefix, EnvLookup env)
    : Reader(std::move(file_path), std::move(env_prefix), std::move(env), true) {
  std::FILE* f = std::fopen(file_.c_str(), "rb");
  if (f == nullptr) {
    AddErrorAt("", 0, 0, fmt::format("cannot read config file: {}", std::strerror(errno)));
    return;
  }
  std::string text;
  const ReadOutcome outcome = ReadBounded(f, kMaxConfigFileBytes, text);
  const int read_errno = errno;
  std::fclose(f);
  if (outcome == ReadOutcome::kTooLarge) {
    AddErrorAt("", 0, 0,
               fmt::format("config file is larger than {} bytes; is it the right file?",
                           kMaxConfigFileBytes));
    return;
  }
  if (outcome == ReadOutcome::kError) {
    AddErrorAt("", 0, 0, fmt::format("cannot read config file: {}", std::strerror(read_errno)));
    return;
  }
  LoadText(text);
}

Reader Reader::FromString(std::string_view yaml_text, std::string file_label,
                          std::string env_prefix, EnvLookup env) {
  Reader reader(std::move(file_label), std::move(env_prefix), std::move(env), true);
  reader.LoadText(yaml_text);
  return reader;
}

void Reader::LoadText(std::string_view text) {
  try {
    YAML::Node loaded = YAML::Load(std::string(text));
    if (loaded.IsMap()) {
      root_.reset(loaded);
    } else if (loaded.IsDefined() && !loaded.IsNull()) {
      const auto [line, column] = Position(loaded);
      AddErrorAt("", line == 0 ? 1 : line, column == 0 ? 1 : column,
                 fmt::format("expected a map of settings at the top level, got {}",
                             Describe(loaded)));
    }
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line < 0 ? 0 : e.mark.line + 1;
    const int column = e.mark.column < 0 ? 0 : e.mark.column + 1;
    AddErrorAt("", line, column, fmt::format("invalid YAML: {}", e.msg));
  }
}

std::string Reader::EnvName(std::string_view key_path) const {
  std::string name = env_prefix_ + "_";
  for (const char c : key_path) {
    name += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

std::optional<std::string> Reader::EnvValue(std::string_view key_path) const {
  if (env_prefix_.empty()) return std::nullopt;
  return env_(EnvName(key_path));
}

std::optional<Reader::Located> Reader::Find(std::string_view key_path) const {
  if (!root_.IsMap()) return std::nullopt;
  const std::vector<std::string> parts = SplitPath(key_path);
  YAML::Node current(root_);  // copy-constructing shares the node; never assign (that writes)
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!current.IsMap()) return std::nullopt;
    std::optional<YAML::Node> child;
    for (auto it = current.begin(); it != current.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == parts[i]) {
        child.emplace(it->second);
        break;
      }
    }
    if (!child) return std::nullopt;
    if (i + 1 == parts.size()) {
      if (!child->IsDefined() || child->IsNull()) return std::nullopt;
      const auto [line, column] = Position(*child);
      return Located{*child, line, column};
    }
    current.reset(*child);
  }
  return std::nullopt;
}

std::optional<Reader::RawValue> Reader::Scalar(std::string_view key_path,
                                               std::string_view expected,
                                               std::string fallback_text) {
  if (!read_.contains(std::string(key_path))) {
    MarkRead(key_path, std::move(fallback_text), "default");
  }
  if (auto env = EnvValue(key_path)) {
    return RawValue{Trim(*env), EnvName(key_path), 0, 0};
  }
  // Walk the path; a scalar where a map is needed ("rabbitmq: localhost") is reported once.
  if (root_.IsMap()) {
    const std::vector<std::string> parts = SplitPath(key_path);
    std::string walked;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      walked = JoinPath(walked, parts[i]);
      auto parent = Find(walked);
      if (!parent) break;
      if (!parent->node.IsMap()) {
        invalid_paths_.insert(walked);
        AddErrorAt(walked, parent->line, parent->column,
                   fmt::format("expected a map of settings, got {}", Describe(parent->node)));
        return std::nullopt;
      }
    }
  }
  auto found = Find(key_path);
  if (!found) return std::nullopt;
  if (!found->node.IsScalar()) {
    AddErrorAt(key_path, found->line, found->column,
               fmt::format("expected {}, got {}", expected, Describe(found->node)));
    return std::nullopt;
  }
  return RawValue{found->node.Scalar(), std::nullopt, found->line, found->column};
}

void Reader::MarkRead(std::string_view key_path, std::string value, std::string source,
                      bool secret) {
  ReadEntry& entry = read_[std::string(key_path)];
  entry.value = std::move(value);
  entry.source = std::move(source);
  entry.secret = entry.secret || secret;
}

void Reader::AddValueError(std::string_view key_path, const RawValue& raw, std::string message) {
  if (raw.env_var) {
    AddErrorAt(key_path, 0, 0, fmt::format("{} (from environment {})", message, *raw.env_var));
  } else {
    AddErrorAt(key_path, raw.line, raw.column, std::move(message));
  }
}

void Reader::AddErrorAt(std::string_view key_path, int line, int column, std::string message) {
  ConfigError error{file_, line, column, std::string(key_path), std::move(message)};
  if (error_texts_.insert(error.ToString()).second) errors_.push_back(std::move(error));
}

void Reader::AddError(std::string_view key_path, std::string message) {
  if (auto env = EnvValue(key_path)) {
    AddErrorAt(key_path, 0, 0,
               fmt::format("{} (from environment {})", message, EnvName(key_path)));
    return;
  }
  const auto found = Find(key_path);
  AddErrorAt(key_path, found ? found->line : 0, found ? found->column : 0, std::move(message));
}

namespace {
std::string Source(const std::optional<std::string>& env_var) {
  return env_var ? "env " + *env_var : std::string();
}
}  // namespace

std::string Reader::String(std::string_view key_path, std::string fallback) {
  const auto raw = Scalar(key_path, "a string", fallback);
  if (!raw) return fallback;
  MarkRead(key_path, raw->text, Source(raw->env_var));
  return raw->text;
}

int64_t Reader::Int(std::string_view key_path, int64_t fallback, int64_t min, int64_t max) {
  const auto raw = Scalar(key_path, IntRange(min, max), std::to_string(fallback));
  if (!raw) return fallback;
  const auto value = ParseInt(raw->text);
  if (!value || *value < min || *value > max) {
    AddValueError(key_path, *raw,
                  fmt::format("expected {}, got {}", IntRange(min, max), Quote(raw->text)));
    return fallback;
  }
  MarkRead(key_path, std::to_string(*value), Source(raw->env_var));
  return *value;
}

double Reader::Double(std::string_view key_path, double fallback, double min, double max) {
  const auto raw = Scalar(key_path, DoubleRange(min, max), fmt::format("{}", fallback));
  if (!raw) return fallback;
  const auto value = ParseDouble(raw->text);
  if (!value || *value < min || *value > max) {
    AddValueError(key_path, *raw,
                  fmt::format("expected {}, got {}", DoubleRange(min, max), Quote(raw->text)));
    return fallback;
  }
  MarkRead(key_path, fmt::format("{}", *value), Source(raw->env_var));
  return *value;
}

bool Reader::Bool(std::string_view key_path, bool fallback) {
  const auto raw = Scalar(key_path, "true or false", fallback ? "true" : "false");
  if (!raw) return fallback;
  const auto value = ParseBool(raw->text);
  if (!value) {
    AddValueError(key_path, *raw, fmt::format("expected true or false, got {}", Quote(raw->text)));
    return fallback;
  }
  MarkRead(key_path, *value ? "true" : "false", Source(raw->env_var));
  return *value;
}

std::chrono::milliseconds Reader::Duration(std::string_view key_path,
                                           std::chrono::milliseconds fallback) {
  const auto raw = Scalar(key_path, "a duration", fmt::format("{}ms", fallback.count()));
  if (!raw) return fallback;
  const auto value = ParseDuration(raw->text);
  if (!value) {
    AddValueError(key_path, *raw, fmt::format("{}, got {}", kDurationExpected, Quote(raw->text)));
    return fallback;
  }
  MarkRead(key_path, fmt::format("{}ms", value->count()), Source(raw->env_var));
  return *value;
}

std::vector<std::string> Reader::StringList(std::string_view key_path,
                                            std::vector<std::string> fallback) {
  if (!read_.contains(std::string(key_path))) MarkRead(key_path, RenderList(fallback), "default");
  if (EnvValue(key_path)) {
    const auto raw = Scalar(key_path, "a list of strings", RenderList(fallback));
    auto items = SplitList(raw->text);
    MarkRead(key_path, RenderList(items), Source(raw->env_var));
    return items;
  }
  const auto found = Find(key_path);
  if (found && found->node.IsSequence()) {
    std::vector<std::string> items;
    bool ok = true;
    size_t index = 0;
    for (auto it = found->node.begin(); it != found->node.end(); ++it, ++index) {
      const YAML::Node& item = *it;
      if (!item.IsScalar()) {
        const auto [line, column] = Position(item);
        AddErrorAt(fmt::format("{}[{}]", key_path, index), line, column,
                   fmt::format("expected a string, got {}", Describe(item)));
        ok = false;
        continue;
      }
      items.push_back(item.Scalar());
    }
    if (!ok) return fallback;
    MarkRead(key_path, RenderList(items), "");
    return items;
  }
  // A scalar (comma-separated) or absent; Scalar() also reports a map here.
  const auto raw = Scalar(key_path, "a list of strings", RenderList(fallback));
  if (!raw) return fallback;
  auto items = SplitList(raw->text);
  MarkRead(key_path, RenderList(items), Source(raw->env_var));
  return items;
}

std::string Reader::Secret(std::string_view key_path) {
  const std::string file_key = std::string(key_path) + "-file";
  MarkRead(key_path, "", "default", true);
  const auto file_raw = Scalar(file_key, "a file path", "");
  if (file_raw) MarkRead(file_key, file_raw->text, Source(file_raw->env_var));
  if (auto env = EnvValue(key_path)) {
    MarkRead(key_path, "set", "env " + EnvName(key_path), true);
    return *env;
  }
  // The secret's own value is never quoted in an error, so it is not read via Scalar().
  if (const auto found = Find(key_path)) {
    if (!found->node.IsScalar()) {
      AddErrorAt(key_path, found->line, found->column,
                 fmt::format("expected a string, got {}", found->node.IsMap() ? "a map" : "a list"));
      return "";
    }
    if (file_raw && !file_raw->env_var) {
      AddErrorAt(key_path, found->line, found->column,
                 fmt::format("set either {} or {}, not both", key_path, file_key));
      return "";
    }
    MarkRead(key_path, "set", "", true);
    return found->node.Scalar();
  }
  if (file_raw) {
    std::FILE* f = std::fopen(file_raw->text.c_str(), "rb");
    if (f == nullptr) {
      AddValueError(file_key, *file_raw,
                    fmt::format("cannot read secret file '{}': {}", file_raw->text,
                                std::strerror(errno)));
      return "";
    }
    std::string content;
    const ReadOutcome outcome = ReadBounded(f, kMaxSecretFileBytes, content);
    const int read_errno = errno;
    std::fclose(f);
    if (outcome == ReadOutcome::kTooLarge) {
      AddValueError(file_key, *file_raw,
                    fmt::format("secret file '{}' is larger than {} bytes", file_raw->text,
                                kMaxSecretFileBytes));
      return "";
    }
    if (outcome == ReadOutcome::kError) {
      AddValueError(file_key, *file_raw,
                    fmt::format("cannot read secret file '{}': {}", file_raw->text,
                                std::strerror(read_errno)));
      return "";
    }
    content = Trim(content);
    if (content.empty()) {
      AddValueError(file_key, *file_raw, fmt::format("secret file '{}' is empty", file_raw->text));
      return "";
    }
    MarkRead(key_path, "set", "file " + file_raw->text, true);
    return content;
  }
  AddErrorAt(key_path, 0, 0,
             fmt::format("missing secret; set {} or {} in the file, or the environment "
                         "variable {}",
                         key_path, file_key, EnvName(key_path)));
  return "";
}

std::string Reader::Secret(std::string_view key_path, std::string fallback) {
  if (!EnvValue(key_path) && !Find(key_path) && !Has(std::string(key_path) + "-file")) {
    MarkRead(key_path, "", "default", true);
    MarkRead(std::string(key_path) + "-file", "", "default");
    return fallback;
  }
  return Secret(key_path);
}

std::string Reader::OneOf(std::string_view key_path, std::string fallback,
                          std::vector<std::string> allowed) {
  std::vector<std::string> quoted;
  for (const auto& a : allowed) quoted.push_back(Quote(a));
  const std::string expected = fmt::format("one of {}", fmt::join(quoted, ", "));
  const auto raw = Scalar(key_path, expected, fallback);
  if (!raw) return fallback;
  if (std::find(allowed.begin(), allowed.end(), raw->text) != allowed.end()) {
    MarkRead(key_path, raw->text, Source(raw->env_var));
    return raw->text;
  }
  std::string message = fmt::format("expected {}, got {}", expected, Quote(raw->text));
  const std::string* best = nullptr;
  size_t best_distance = 0;
  for (const auto& a : allowed) {
    const size_t d = EditDistance(Lower(raw->text), Lower(a));
    if (best == nullptr || d < best_distance) {
      best = &a;
      best_distance = d;
    }
  }
  if (best != nullptr && IsClose(best_distance, raw->text)) {
    message += fmt::format("; did you mean '{}'?", *best);
  }
  AddValueError(key_path, *raw, std::move(message));
  return fallback;
}

bool Reader::Has(std::string_view key_path) const {
  return EnvValue(key_path).has_value() || Find(key_path).has_value();
}

std::vector<std::string> Reader::ChildKeys(std::string_view key_path) const {
  std::vector<std::string> keys;
  std::optional<YAML::Node> node;
  if (key_path.empty()) {
    node.emplace(root_);
  } else if (auto found = Find(key_path)) {
    node.emplace(found->node);
  }
  if (!node || !node->IsMap()) return keys;
  for (auto it = node->begin(); it != node->end(); ++it) {
    if (it->first.IsScalar()) keys.push_back(it->first.Scalar());
  }
  return keys;
}

void Reader::Finish() {
  if (root_.IsMap()) CheckUnknown(root_, "");
  if (!errors_.empty()) throw ConfigErrors(errors_);
}

void Reader::CheckUnknown(const YAML::Node& node, const std::string& path) {
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const auto [line, column] = Position(it->first);
    if (!it->first.IsScalar()) {
      AddErrorAt(path, line, column, "expected a plain key name, got a map or list as a key");
      continue;
    }
    const std::string child = JoinPath(path, it->first.Scalar());
    if (!seen.insert(it->first.Scalar()).second) {
      AddErrorAt(child, line, column, "duplicate key; only the first value is used");
      continue;
    }
    if (read_.contains(child) || invalid_paths_.contains(child)) continue;
    const std::string prefix = child + ".";
    const auto next = read_.lower_bound(prefix);
    const bool is_parent = next != read_.end() && next->first.starts_with(prefix);
    if (is_parent && it->second.IsMap()) {
      CheckUnknown(it->second, child);
      continue;
    }
    const std::string hint = Suggest(child);
    AddErrorAt(child, line, column,
               hint.empty() ? std::string("unknown key")
                            : fmt::format("unknown key; did you mean '{}'?", hint));
  }
}

std::string Reader::Suggest(const std::string& unknown_path) const {
  const size_t depth = Depth(unknown_path);
  const std::string last = LastSegment(unknown_path);
  const std::string parent = ParentPath(unknown_path);
  // 1. A known key at the same depth within a few typos ("rabbitmq.prot" -> "rabbitmq.port").
  std::set<std::string> candidates;
  for (const auto& [key, entry] : read_) {
    if (Depth(key) >= depth) candidates.insert(PrefixOfDepth(key, depth));
  }
  std::string best;
  size_t best_distance = 0;
  for (const auto& candidate : candidates) {
    const size_t d = EditDistance(unknown_path, candidate);
    if (best.empty() || d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  if (!best.empty() && IsClose(best_distance, last)) return best;
  // 2. The same name under another parent ("rabbitmq.prefetch" -> "rabbitmq.listener.prefetch").
  for (const auto& [key, entry] : read_) {
    if (LastSegment(key) == last) return key;
  }
  // 3. An abbreviation of a sibling ("rabbitmq.user" -> "rabbitmq.username").
  for (const auto& candidate : candidates) {
    if (ParentPath(candidate) != parent) continue;
    const std::string other = LastSegment(candidate);
    if (other.starts_with(last) || last.starts_with(other)) return candidate;
  }
  return "";
}

std::string Reader::Redacted() const {
  std::string out;
  for (const auto& [key, entry] : read_) {
    std::string value = entry.value;
    if (entry.secret || LooksSecret(key)) {
      value = entry.source == "default" ? "(not set)" : "***";
    }
    if (value.empty()) value = "\"\"";
    out += fmt::format("{}: {}", key, value);
    if (!entry.source.empty()) out += fmt::format(" ({})", entry.source);
    out += '\n';
  }
  return out;
}

}  // namespace paynotify::config
