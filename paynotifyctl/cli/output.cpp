#include "paynotifyctl/cli/output.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "common/text/escape.hpp"
#include "common/text/utf8.hpp"

namespace paynotify::ctl {

namespace {

char32_t DecodeAt(std::string_view s, size_t i, size_t length) {
  const auto b = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k])); };
  switch (length) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

// The wide ranges of Unicode's East Asian Width (W and F) that course names use, coarsely:
// Hangul Jamo, CJK radicals to Yi, Hangul syllables, CJK compatibility, vertical and small
// forms, full-width forms, and the supplementary ideographic planes.
bool IsWide(char32_t c) {
  return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF && c != 0x303F) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
         (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
         (c >= 0x20000 && c <= 0x3FFFD);
}

// Combining diacritics and variation selectors. The zero-width format characters
// (U+200B..U+200F and the like) are not here: text::Printable escapes them, see DisplayWidth.
bool IsCombining(char32_t c) { return (c >= 0x0300 && c <= 0x036F) || (c >= 0xFE00 && c <= 0xFE0F); }

std::string Pad(const std::string& cell, size_t width, bool right) {
  const size_t w = DisplayWidth(cell);
  const std::string padding(width > w ? width - w : 0, ' ');
  return right ? padding + cell : cell + padding;
}

}  // namespace

size_t DisplayWidth(std::string_view utf8) {
  size_t width = 0;
  size_t i = 0;
  while (i < utf8.size()) {
    const size_t length = text::WellFormedLength(utf8, i);
    if (length == 0) {
      width += 1;
      i += 1;
      continue;
    }
    const char32_t c = DecodeAt(utf8, i, length);
    if (text::IsEscapedAsCodePoint(c)) {
      width += c > 0xFFFF ? 10 : 6;  // the columns of its "\uXXXX" / "\UXXXXXXXX" escape
    } else {
      width += IsCombining(c) ? 0 : IsWide(c) ? 2 : 1;
    }
    i += length;
  }
  return width;
}

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), right_(headers_.size(), false), limit_(headers_.size(), kCellLimit) {}

Table& Table::AlignRight(size_t index) {
  right_.at(index) = true;
  return *this;
}

Table& Table::Limit(size_t index, size_t max_bytes) {
  limit_.at(index) = max_bytes;
  return *this;
}

void Table::AddRow(const std::vector<std::optional<std::string>>& cells) {
  if (cells.size() > headers_.size()) throw std::invalid_argument("Table::AddRow: more cells than columns");
  std::vector<std::string> row;
  row.reserve(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) {
    if (i >= cells.size()) {
      row.emplace_back();
    } else if (!cells[i]) {
      row.emplace_back(kNone);
    } else {
      row.push_back(text::Printable(*cells[i], limit_[i]));
    }
  }
  rows_.push_back(std::move(row));
}

std::string Table::Render() const {
  std::vector<size_t> width(headers_.size(), 0);
  for (size_t i = 0; i < headers_.size(); ++i) width[i] = DisplayWidth(headers_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], DisplayWidth(row[i]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      const bool last = i + 1 == cells.size();
      // The last column is not padded on the left-aligned side: no trailing blanks.
      out += last && !right_[i] ? cells[i] : Pad(cells[i], width[i], right_[i]);
      if (!last) out += "  ";
    }
    out += "\n";
    return out;
  };
  std::string out = line(headers_);
  for (const auto& row : rows_) out += line(row);
  if (rows_.empty()) out += "(none)\n";
  return out;
}

std::string KeyValues(const std::vector<std::pair<std::string, std::optional<std::string>>>& rows,
                      size_t max_bytes) {
  size_t width = 0;
  for (const auto& [key, value] : rows) width = std::max(width, DisplayWidth(key));
  std::string out;
  for (const auto& [key, value] : rows) {
    out += key + ":" + std::string(width - DisplayWidth(key) + 2, ' ');
    out += value ? text::Printable(*value, max_bytes) : std::string(kNone);
    out += "\n";
  }
  return out;
}

std::string DumpJson(const nlohmann::json& document) {
  return document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json OrNull(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::string FormatSeconds(double seconds) {
  if (!std::isfinite(seconds)) return "?";
  if (seconds < 0) return "-" + FormatSeconds(-seconds);
  const auto s = static_cast<int64_t>(std::floor(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

}  // namespace paynotify::ctl
