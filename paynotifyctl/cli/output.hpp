#pragma once
/// Output for humans and scripts. Pure; unit-tested.
///
/// Text: every cell and value goes through text::Printable, so bytes from a database or a
/// queue can never move the cursor, start a line or carry invalid UTF-8 to the terminal;
/// cells are also cut to a column budget (the --json document has the full values).
/// JSON: nlohmann escapes by construction; invalid UTF-8 in a string becomes U+FFFD
/// (error_handler_t::replace, as the daemons' HTTP replies do) instead of throwing.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace paynotify::ctl {

/// Shown for an absent (NULL) value in text output.
inline constexpr std::string_view kNone = "-";
/// Default bound for one table cell in bytes of its source text.
inline constexpr size_t kCellLimit = 64;

/// Columns on a terminal that `utf8` takes: one per code point, two for East Asian wide and
/// full-width ones (CJK course names), none for combining marks. Ill-formed bytes count one.
/// A code point that text::Printable prints as a code point escape (C1 controls, U+2028/9,
/// format characters such as bidi controls and zero-width spaces) counts the columns of that
/// escape, so a width measured on raw or escaped text never hides one as zero columns.
size_t DisplayWidth(std::string_view utf8);

/// An aligned text table: a header line, then one line per row, columns separated by two
/// spaces, left-aligned unless marked right-aligned (numbers).
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  /// Right-aligns column `index` (counts, ids, ages).
  Table& AlignRight(size_t index);
  /// Bounds column `index` to `max_bytes` of its source text (default kCellLimit).
  Table& Limit(size_t index, size_t max_bytes);
  /// Adds a row of untrusted text; nullopt shows as kNone. Missing trailing cells are empty,
  /// extra ones are an error (std::invalid_argument).
  void AddRow(const std::vector<std::optional<std::string>>& cells);
  size_t Rows() const { return rows_.size(); }
  /// The table; "(none)" under the header when it has no rows.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<size_t> limit_;
  std::vector<std::vector<std::string>> rows_;  // escaped
};

/// "key:  value" lines with the values aligned; values are untrusted text (escaped, bounded
/// to `max_bytes`), keys are the program's own; nullopt shows as kNone.
std::string KeyValues(const std::vector<std::pair<std::string, std::optional<std::string>>>& rows,
                      size_t max_bytes = 256);

/// The document as printed for --json: indented, a trailing newline, never throws on invalid
/// UTF-8 (replaced by U+FFFD).
std::string DumpJson(const nlohmann::json& document);

/// A JSON value for an optional string (null when absent).
nlohmann::json OrNull(const std::optional<std::string>& value);

/// "3s", "4m12s", "2h05m", "3d04h": an age or a delay for a table (negative: "-" + it).
std::string FormatSeconds(double seconds);

}  // namespace paynotify::ctl
