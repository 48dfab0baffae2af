#pragma once
/// Byte budgets for text built from untrusted values (issue 10): replies and log lines made
/// of several escaped parts still need an overall bound.
#include <cstddef>
#include <string>

#include "common/text/utf8.hpp"

namespace paynotify::order {

/// `text` cut to at most `max_bytes` (plus a "..." marker) at a character boundary, so
/// well-formed UTF-8 stays well-formed. Ill-formed bytes count as one-byte characters.
inline std::string CutToBytes(std::string text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t keep = 0;
  while (keep < text.size()) {
    const size_t length = text::WellFormedLength(text, keep);
    const size_t step = length == 0 ? 1 : length;
    if (keep + step > max_bytes) break;
    keep += step;
  }
  text.resize(keep);
  text += "...";
  return text;
}

}  // namespace paynotify::order
