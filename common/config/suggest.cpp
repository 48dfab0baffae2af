// "Did you mean": the nearest known key for an unknown one, the nearest allowed word for a
// misspelt value. Optimal string alignment distance (Levenshtein plus adjacent
// transposition), because a swapped pair of letters is the typo people actually make.
#include "common/config/suggest.hpp"

#include <algorithm>
#include <set>

#include "common/config/scalars.hpp"

namespace paynotify::config::detail {
namespace {

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

}  // namespace

std::string LastSegment(std::string_view path) {
  const size_t dot = path.rfind('.');
  return std::string(dot == std::string_view::npos ? path : path.substr(dot + 1));
}

std::string ParentPath(std::string_view path) {
  const size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string() : std::string(path.substr(0, dot));
}

std::string SuggestKey(const std::string& unknown_path, const std::vector<std::string>& known) {
  const size_t depth = Depth(unknown_path);
  const std::string last = LastSegment(unknown_path);
  const std::string parent = ParentPath(unknown_path);
  // 1. A known key at the same depth within a few typos ("rabbitmq.prot" -> "rabbitmq.port").
  std::set<std::string> candidates;
  for (const auto& key : known) {
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
  for (const auto& key : known) {
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

std::optional<std::string> SuggestWord(std::string_view word, const std::vector<std::string>& allowed) {
  const std::string* best = nullptr;
  size_t best_distance = 0;
  for (const auto& a : allowed) {
    const size_t d = EditDistance(Lower(word), Lower(a));
    if (best == nullptr || d < best_distance) {
      best = &a;
      best_distance = d;
    }
  }
  if (best != nullptr && IsClose(best_distance, word)) return *best;
  return std::nullopt;
}

}  // namespace paynotify::config::detail
