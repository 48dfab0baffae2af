#pragma once
// Internal to common/config (not part of its interface): "did you mean" for config errors,
// and the key-path helpers it needs. Pure functions; thread-safe.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace paynotify::config::detail {

/// "rabbitmq.listener.prefetch" -> "prefetch".
std::string LastSegment(std::string_view path);
/// "rabbitmq.listener.prefetch" -> "rabbitmq.listener"; "" for a top-level key.
std::string ParentPath(std::string_view path);

/// The key to suggest for an unknown key path, chosen among `known` key paths (those read,
/// in order), or "" when none is close enough. In order of preference:
///   1. a known key (or key prefix) of the same depth within a few typos
///      ("rabbitmq.prot" -> "rabbitmq.port");
///   2. the same last name under another parent ("rabbitmq.prefetch" ->
///      "rabbitmq.listener.prefetch");
///   3. an abbreviation of a sibling ("rabbitmq.user" -> "rabbitmq.username").
std::string SuggestKey(const std::string& unknown_path, const std::vector<std::string>& known);

/// The allowed value nearest to `word` (case-insensitive edit distance), if close enough to
/// be a typo of it ("quorun" -> "quorum").
std::optional<std::string> SuggestWord(std::string_view word, const std::vector<std::string>& allowed);

}  // namespace paynotify::config::detail
