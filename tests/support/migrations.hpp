#pragma once
// The migrations of one sql/<db> folder of this source tree, in file-name order (as
// `scripts/infra migrate` applies them), for tests and the bench that build a schema or a
// database of their own from them. Header-only, standard library only.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace paynotify::testing {

/// The text of every *.sql file in `dir`, sorted by file name. Throws std::runtime_error when
/// there is none or one cannot be read.
inline std::vector<std::string> ReadMigrations(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".sql") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no migrations in " + dir);
  std::vector<std::string> sql;
  for (const auto& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) throw std::runtime_error("cannot read " + file.string());
    sql.push_back(text.str());
  }
  return sql;
}

}  // namespace paynotify::testing
