#pragma once
/// The /readyz body, composed apart from the server so its shape is unit-tested on its own.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace paynotify::http {

/// Named check results, in the order they were added.
using ReadinessChecks = std::vector<std::pair<std::string, bool>>;
/// Named details (any JSON value; null for "not known yet"), in the order they were added.
using ReadinessDetails = std::vector<std::pair<std::string, nlohmann::ordered_json>>;

/// Keys of the body that a detail may not take.
inline constexpr std::string_view kReadinessStatusKey = "status";
inline constexpr std::string_view kReadinessChecksKey = "checks";

/// {"status":<status>,"checks":{<name>:<bool>,...},<detail name>:<value>,...} in that order,
/// compact. Text that is not valid UTF-8 is replaced (U+FFFD), never sent raw. A detail named
/// like one of the fixed keys is left out (Server::AddReadinessDetail refuses such names).
std::string ReadinessBody(std::string_view status, const ReadinessChecks& checks,
                          const ReadinessDetails& details);

}  // namespace paynotify::http
