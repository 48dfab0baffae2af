#pragma once
// Helpers for tests of order-service's config schema: an environment with what every
// order-service config needs besides the keys under test, and Finish()'s error text.
#include <map>
#include <optional>
#include <string>

#include "common/config/reader.hpp"

namespace paynotify::order::testing {

/// `values` plus the required secrets and settings (token, broker password, app id, ...).
inline config::Reader::EnvLookup OrderConfigEnv(std::map<std::string, std::string> values) {
  values.emplace("PAYNOTIFY_ORDER_API_TOKEN", "t0ken");
  values.emplace("PAYNOTIFY_RABBITMQ_PASSWORD", "secret");
  values.emplace("PAYNOTIFY_ALIPAY_APP_ID", "2021");
  values.emplace("PAYNOTIFY_ALIPAY_VERIFY_SIGNATURE", "false");
  values.emplace("PAYNOTIFY_DATABASE_DBNAME", "orders");
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    if (auto it = values.find(name); it != values.end()) return it->second;
    return std::nullopt;
  };
}

/// What reader.Finish() reports; empty when the config is valid.
inline std::string FinishError(config::Reader& reader) {
  try {
    reader.Finish();
  } catch (const config::ConfigErrors& e) {
    return e.what();
  }
  return {};
}

}  // namespace paynotify::order::testing
