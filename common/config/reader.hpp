#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace paynotify::config {

/// One problem found in a config file. `line` and `column` are 1-based; 0 means "no
/// position" (the file is missing, or the value came from the environment).
struct ConfigError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key_path;  // "rabbitmq.port"; empty for file-level errors
  std::string message;   // "expected an integer between 1 and 65535, got 'abc'"

  /// "config/order-service.yaml:12:3: rabbitmq.prot: unknown key; did you mean 'rabbitmq.port'?"
  /// (position omitted when line is 0, key path omitted when empty).
  std::string ToString() const;
};

/// Every config error at once. what() lists them one per line (ConfigError::ToString()),
/// ready to print before exiting with status 2.
class ConfigErrors : public std::runtime_error {
 public:
  explicit ConfigErrors(std::vector<ConfigError> errors);
  const std::vector<ConfigError>& errors() const { return errors_; }

 private:
  std::vector<ConfigError> errors_;
};

/// Largest config file read (1 MiB); a longer one is an error, not read whole (a mistyped
/// --config /dev/zero must end in exit 2, not in the OOM killer).
inline constexpr size_t kMaxConfigFileBytes = 1024 * 1024;
/// Largest secret file read (64 KiB); a longer one is an error, for the same reason.
inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

/// Reads one YAML config file. The set of keys the program READS is the schema: after
/// reading everything, Finish() reports each key present in the file but never read as
/// "unknown key" with a nearest-key hint, and throws ConfigErrors listing every error found
/// (bad values, unknown keys, missing file, YAML syntax) — never only the first.
///
/// Key paths are dot-separated map keys: "rabbitmq.listener.prefetch". Each accessor returns
/// the environment override if set, else the file's value, else `fallback`; a value that is
/// present but invalid records an error and returns the fallback, so reading continues.
/// A YAML null (`key:` with nothing, or `~`) counts as absent. Reading the same key twice,
/// even with different types, is fine.
///
/// Environment override: key path "rabbitmq.virtual-host" <- PAYNOTIFY_RABBITMQ_VIRTUAL_HOST
/// ('.' and '-' become '_', upper-cased, prefixed by `env_prefix` + '_'); an empty prefix
/// disables overrides. Errors in such values say "(from environment PAYNOTIFY_X)".
/// Environment variables with the prefix that match no key read are ignored (the infra
/// script exports unrelated PAYNOTIFY_* variables).
///
/// The constructor never throws: a missing file or a YAML syntax error is recorded and
/// reported by Finish() together with everything else (reads then see only defaults and
/// environment overrides). Not thread-safe: use from one thread during start-up.
class Reader {
 public:
  /// Looks up an environment variable; the default uses getenv.
  using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

  explicit Reader(std::string file_path, std::string env_prefix = "PAYNOTIFY",
                  EnvLookup env = {});

  /// A reader over YAML text instead of a file (tests, embedded defaults). `file_label`
  /// is the name used in error messages.
  static Reader FromString(std::string_view yaml_text, std::string file_label = "<string>",
                           std::string env_prefix = "PAYNOTIFY", EnvLookup env = {});

  /// A scalar as text (numbers and booleans are returned as written).
  std::string String(std::string_view key_path, std::string fallback);
  /// An integer in [min, max]; otherwise an error "expected an integer between 1 and 65535,
  /// got 'abc'".
  int64_t Int(std::string_view key_path, int64_t fallback,
              int64_t min = std::numeric_limits<int64_t>::min(),
              int64_t max = std::numeric_limits<int64_t>::max());
  /// A number (integer or decimal) in [min, max].
  double Double(std::string_view key_path, double fallback,
                double min = std::numeric_limits<double>::lowest(),
                double max = std::numeric_limits<double>::max());
  /// true/false (also yes/no, on/off; case-insensitive).
  bool Bool(std::string_view key_path, bool fallback);
  /// "250ms", "2s", "1.5s", "1m", "1h", "14d" (days of 24h), or a plain non-negative integer meaning milliseconds.
  std::chrono::milliseconds Duration(std::string_view key_path,
                                     std::chrono::milliseconds fallback);
  /// A YAML sequence of scalars, or one comma-separated string (Spring style, and the form
  /// used by the environment override): "a:5672, b:5672" -> {"a:5672", "b:5672"}.
  std::vector<std::string> StringList(std::string_view key_path,
                                      std::vector<std::string> fallback);
  /// A required secret: the environment override, else the file's value, else the trimmed
  /// contents of the file named by the sibling key "<last>-file" (e.g.
  /// "rabbitmq.password-file", itself overridable by PAYNOTIFY_RABBITMQ_PASSWORD_FILE).
  /// Missing everywhere, both value and -file in the YAML, or an unreadable file or one over
  /// kMaxSecretFileBytes -> error, returns "". Never appears in Redacted() or in an error
  /// message.
  std::string Secret(std::string_view key_path);
  /// As Secret(key_path) but optional: returns `fallback` when the secret is set nowhere.
  std::string Secret(std::string_view key_path, std::string fallback);
  /// A string that must be one of `allowed` (exact match); otherwise an error listing them,
  /// with a "did you mean" hint when one is close.
  std::string OneOf(std::string_view key_path, std::string fallback,
                    std::vector<std::string> allowed);

  /// True if the key has a non-null value in the file or an environment override. Does not
  /// count as reading the key.
  bool Has(std::string_view key_path) const;

  /// Records a caller-side validation error against a key (cross-field checks, e.g.
  /// "must be less than listener.retry.max-interval"); it carries the key's position.
  void AddError(std::string_view key_path, std::string message);

  /// Reports every key present in the file but never read as "unknown key; did you mean
  /// '...'?" and throws ConfigErrors if any error was recorded. Returns normally otherwise.
  void Finish();

  /// Errors recorded so far (Finish() adds unknown keys).
  const std::vector<ConfigError>& Errors() const { return errors_; }
  const std::string& FilePath() const { return file_; }

  /// The effective configuration, one "key: value" line per key read, sorted by key, with
  /// the source noted ("(env PAYNOTIFY_X)" or "(default)"). Secrets, and any key whose last
  /// segment contains "password", "secret" or "token", show as ***. Meant to be logged once
  /// at start-up.
  std::string Redacted() const;

 private:
  struct Located {  // a node found in the file, with the position to blame
    YAML::Node node;
    int line = 0;
    int column = 0;
  };
  struct RawValue {  // the text of a scalar and where it came from
    std::string text;
    std::optional<std::string> env_var;  // set when it came from the environment
    int line = 0;
    int column = 0;
  };
  struct ReadEntry {
    std::string value;
    std::string source;  // "", "default", or "env NAME"
    bool secret = false;
  };

  Reader(std::string file_label, std::string env_prefix, EnvLookup env, bool);
  void LoadText(std::string_view text);

  std::optional<Located> Find(std::string_view key_path) const;
  std::string EnvName(std::string_view key_path) const;
  std::optional<std::string> EnvValue(std::string_view key_path) const;
  // Marks the key read and returns its scalar text (env override first). Records an error
  // and returns nullopt when the file holds a map or a list there.
  // `fallback_text` is what Redacted() shows when the key is absent.
  std::optional<RawValue> Scalar(std::string_view key_path, std::string_view expected,
                                 std::string fallback_text);
  void MarkRead(std::string_view key_path, std::string value, std::string source,
                bool secret = false);
  void AddValueError(std::string_view key_path, const RawValue& raw, std::string message);
  void AddErrorAt(std::string_view key_path, int line, int column, std::string message);
  void CheckUnknown(const YAML::Node& node, const std::string& path);

  std::string file_;
  std::string env_prefix_;
  EnvLookup env_;
  YAML::Node root_;
  std::vector<ConfigError> errors_;
  std::set<std::string> error_texts_;          // de-duplicates repeated reads of a bad value
  std::set<std::string> invalid_paths_;        // scalars found where a map was needed
  std::map<std::string, ReadEntry> read_;      // every key read, with its effective value
};

}  // namespace paynotify::config
