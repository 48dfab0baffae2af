#pragma once
/// The daemons' config files as paynotifyctl reads them: with the daemons' own readers
/// (order::ReadOrderConfig, learning::ReadLearningSettings), so environment overrides
/// (PAYNOTIFY_<KEY_PATH>), secrets (value, environment or *-file) and the errors (file:line,
/// key path, "did you mean") are exactly the daemon's.
///
/// A command checks only what it uses: errors about the file itself (missing, unreadable,
/// invalid YAML) and about keys under the named top-level `sections` (e.g. {"database"}:
/// bad values, unknown keys such as database.hots) are fatal (config::ConfigErrors, exit 2);
/// the daemon's other requirements (order-api.token, alipay.public-key-file, ...) are not an
/// operator's business here and are ignored, so the tool needs no secret it does not use.
#include <initializer_list>
#include <string>
#include <string_view>

#include "learning-service/app/settings.hpp"
#include "order-service/app/order_config.hpp"

namespace paynotify::ctl {

/// order-service's config from `path`; throws config::ConfigErrors as described above.
order::OrderServiceConfig ReadOrdersConfig(const std::string& path, std::initializer_list<std::string_view> sections);

/// learning-service's config from `path`; throws config::ConfigErrors as described above.
learning::LearningSettings ReadLearningConfig(const std::string& path, std::initializer_list<std::string_view> sections);

/// As above, for a command that can do without a part: errors under `optional_sections` are
/// not thrown but returned in *optional_errors (e.g. trace without rabbitmq.* still answers
/// from the databases and says why it did not look into the dead-letter queue).
learning::LearningSettings ReadLearningConfig(const std::string& path, std::initializer_list<std::string_view> sections,
                                              std::initializer_list<std::string_view> optional_sections,
                                              std::vector<config::ConfigError>* optional_errors);

/// Keeps the errors that concern the file itself (empty key path) or a key at or below one of
/// `sections`. Pure; exposed for tests.
std::vector<config::ConfigError> ErrorsIn(const std::vector<config::ConfigError>& errors,
                                          std::initializer_list<std::string_view> sections);

}  // namespace paynotify::ctl
