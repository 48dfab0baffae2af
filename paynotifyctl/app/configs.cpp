#include "paynotifyctl/app/configs.hpp"

namespace paynotify::ctl {

namespace {

template <class Read>
auto ReadChecked(const std::string& path, std::initializer_list<std::string_view> sections, Read read,
                 std::initializer_list<std::string_view> optional_sections = {},
                 std::vector<config::ConfigError>* optional_errors = nullptr) {
  config::Reader reader(path);
  auto config = read(reader);
  try {
    reader.Finish();  // adds the unknown keys, so a typo under a used section is caught
  } catch (const config::ConfigErrors& e) {
    std::vector<config::ConfigError> relevant = ErrorsIn(e.errors(), sections);
    if (!relevant.empty()) throw config::ConfigErrors(std::move(relevant));
    if (optional_errors != nullptr) {
      // File-level errors were fatal above; what is left here is only the optional sections'.
      *optional_errors = ErrorsIn(e.errors(), optional_sections);
    }
  }
  return config;
}

}  // namespace

std::vector<config::ConfigError> ErrorsIn(const std::vector<config::ConfigError>& errors,
                                          std::initializer_list<std::string_view> sections) {
  std::vector<config::ConfigError> kept;
  for (const config::ConfigError& error : errors) {
    const std::string_view key = error.key_path;
    bool relevant = key.empty();
    for (const std::string_view section : sections) {
      if (key == section || (key.size() > section.size() && key.starts_with(section) && key[section.size()] == '.')) {
        relevant = true;
      }
    }
    if (relevant) kept.push_back(error);
  }
  return kept;
}

order::OrderServiceConfig ReadOrdersConfig(const std::string& path, std::initializer_list<std::string_view> sections) {
  return ReadChecked(path, sections, order::ReadOrderConfig);
}

learning::LearningSettings ReadLearningConfig(const std::string& path,
                                              std::initializer_list<std::string_view> sections) {
  return ReadChecked(path, sections, learning::ReadLearningSettings);
}

}  // namespace paynotify::ctl

namespace paynotify::ctl {

learning::LearningSettings ReadLearningConfig(const std::string& path, std::initializer_list<std::string_view> sections,
                                              std::initializer_list<std::string_view> optional_sections,
                                              std::vector<config::ConfigError>* optional_errors) {
  return ReadChecked(path, sections, learning::ReadLearningSettings, optional_sections, optional_errors);
}

}  // namespace paynotify::ctl
