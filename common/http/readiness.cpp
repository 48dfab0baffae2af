#include "common/http/readiness.hpp"

namespace paynotify::http {

std::string ReadinessBody(std::string_view status, const ReadinessChecks& checks,
                          const ReadinessDetails& details) {
  // ordered_json: probes and people read "status" first, as the body always began.
  nlohmann::ordered_json body;
  body[std::string(kReadinessStatusKey)] = std::string(status);
  nlohmann::ordered_json& checks_json = body[std::string(kReadinessChecksKey)] = nlohmann::ordered_json::object();
  for (const auto& [name, ok] : checks) checks_json[name] = ok;
  for (const auto& [name, value] : details) {
    if (name == kReadinessStatusKey || name == kReadinessChecksKey) continue;
    body[name] = value;
  }
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace paynotify::http
